#!/bin/sh
# containrd's process model, checked from the outside: who runs as whom
# with which capabilities and filters, which fds each holds, restarts of
# dead helpers and of a dead supervisor, bad clients, refused users.
set -u
. "$top_srcdir/tests/lib.sh"
cnr_need_root
cnr_start

# ---- the monitor ------------------------------------------------------------
mon=$CNR_MONITOR_PID
[ "$(cnr_status "$mon" Uid)" = 0 ] || fail "monitor is not root"
# Only its stdio, one channel to the supervisor and one pidfd per child
# (and, once a container ran, one sealed copy of containr-shim).
nsock=0 npidfd=0 nshim=0
for fd in /proc/"$mon"/fd/*; do
	n=${fd##*/}
	t=$(readlink "$fd")
	case $n:$t in
	[012]:*) ;;
	*:socket:*) nsock=$((nsock + 1)) ;;
	*:anon_inode:\[pidfd\]) npidfd=$((npidfd + 1)) ;;
	*:/memfd:containr-shim*) nshim=$((nshim + 1)) ;;
	*) fail "monitor holds fd $n -> $t" ;;
	esac
done
[ $nshim -le 1 ] || fail "monitor holds $nshim copies of the shim"
[ $nsock = 1 ] || fail "monitor holds $nsock sockets, expected 1"
[ $npidfd = 6 ] || fail "monitor holds $npidfd pidfds, expected 6 (supervisor + 5 helpers)"
pass "monitor: root, fds = stdio + 1 channel + 6 pidfds"

# ---- the supervisor ---------------------------------------------------------
sup=$(cnr_pid_of supervisor) || fail "no supervisor"
[ "$(cnr_status "$sup" Uid)" = "$CNR_SUP_UID" ] || fail "supervisor uid $(cnr_status "$sup" Uid)"
[ "$(cnr_status "$sup" CapEff)" = 0000000000000000 ] || fail "supervisor CapEff $(cnr_status "$sup" CapEff)"
[ "$(cnr_status "$sup" CapPrm)" = 0000000000000000 ] || fail "supervisor CapPrm $(cnr_status "$sup" CapPrm)"
[ "$(cnr_status "$sup" CapBnd)" = 0000000000000000 ] || fail "supervisor CapBnd $(cnr_status "$sup" CapBnd)"
[ "$(cnr_status "$sup" Seccomp)" = 2 ] || fail "supervisor Seccomp $(cnr_status "$sup" Seccomp)"
[ "$(cnr_status "$sup" NoNewPrivs)" = 1 ] || fail "supervisor NoNewPrivs"
pass "supervisor: uid $CNR_SUP_UID, no capabilities, seccomp filter, no_new_privs"

# ---- the helpers ------------------------------------------------------------
uids=" $CNR_SUP_UID "
for h in $CNR_HELPERS; do
	pid=$(cnr_pid_of "$h") || fail "helper $h is not running"
	uid=$(cnr_status "$pid" Uid)
	[ "$uid" = "$(cnr_helper_uid "$h")" ] || fail "$h runs as uid $uid"
	[ "$uid" != 0 ] || fail "$h runs as root"
	case $uids in *" $uid "*) fail "$h shares uid $uid" ;; esac
	uids="$uids$uid "
	want=$(cnr_documented_caps "$h") || fail "no documented caps for $h"
	[ "$(cnr_status "$pid" CapEff)" = "$want" ] || fail "$h CapEff $(cnr_status "$pid" CapEff), documented $want"
	[ "$(cnr_status "$pid" CapBnd)" = "$want" ] || fail "$h CapBnd $(cnr_status "$pid" CapBnd), documented $want"
	[ "$(cnr_status "$pid" CapInh)" = 0000000000000000 ] || fail "$h CapInh"
	[ "$(cnr_status "$pid" Seccomp)" = 2 ] || fail "$h Seccomp"
	[ "$(cnr_status "$pid" NoNewPrivs)" = 1 ] || fail "$h NoNewPrivs"
	# fds: /dev/null on 0-2, channel (3), log (4), audit log (5), its event
	# loop's own fds, and what the man page documents: snapd its snapshot
	# root, mountd the snapshot root, netd its own netns.
	for fd in /proc/"$pid"/fd/*; do
		n=${fd##*/}
		t=$(readlink "$fd")
		case $h:$n:$t in
		*:[012]:/dev/null) ;;
		*:[34]:socket:*) ;;
		*:5:"$CNR_LOG/$h.audit.jsonl") ;;
		*:anon_inode:\[eventpoll\] | *:anon_inode:\[eventfd\] | *:pipe:*) ;; # its event loop (epoll + self-pipe)
		snapd:*:"$CNR_ROOT/snapshots") ;;
		mountd:*:"$CNR_ROOT/snapshots") ;;
		netd:*:net:*) ;;
		*) fail "$h holds fd $n -> $t" ;;
		esac
	done
	pass "$h: own uid $uid, CapEff $want as documented, seccomp, no_new_privs, fds checked"
done

# ---- the CLI works, and every helper serves a real operation ----------------
"$CONTAINR" info >"$CNR_TMP/info" 2>&1 || { cat "$CNR_TMP/info"; fail "containr info"; }
for h in monitor supervisor $CNR_HELPERS; do
	grep -q "^$h " "$CNR_TMP/info" || { cat "$CNR_TMP/info"; fail "info lists no $h"; }
done
"$CONTAINR" version >/dev/null || fail "containr version"
"$CONTAINR" system check >"$CNR_TMP/check" 2>&1 || { cat "$CNR_TMP/check"; fail "containr system check"; }
pass "containr info, version and system check"
ls "$CNR_ROOT/snapshots" | grep -v '^overlay2$' | grep -q . && fail "system check left a directory in the snapshot root"
"$CONTAINR" system audit --helper snapd | grep -q '"op":"snap_mkdir"' || fail "snapd audit has no snap_mkdir"
"$CONTAINR" system audit --helper mountd | grep -q '"op":"mount_tmpfs"' || fail "mountd audit has no mount_tmpfs"
reconciled() { grep -q '"op":"snapshot_reconcile".*"result":"ok"' "$CNR_LOG/containrd.audit.jsonl"; }
cnr_wait_for 15 reconciled || fail "no snapshot reconciliation at start-up"
"$CONTAINR" system audit --helper snapd | grep -q '"op":"snap_list"' || fail "snapd audit has no snap_list"
"$CONTAINR" system audit | grep -q '"op":"system_check"' || fail "containrd audit has no system_check"
pass "audit logs record the operations"

# ---- a helper killed with SIGKILL is restarted, and that is audited ---------
old=$(cnr_pid_of snapd)
kill -KILL "$old"
restarted() { p=$(cnr_pid_of snapd) && [ "$p" != "$old" ] && "$CONTAINR" system check; }
cnr_wait_for 15 restarted || fail "snapd was not restarted after SIGKILL"
grep '"op":"helper_exit"' "$CNR_LOG/containrd.audit.jsonl" | grep -q "\"pid\":$old" ||
	fail "no helper_exit audit line for pid $old"
grep '"op":"helper_restart"' "$CNR_LOG/containrd.audit.jsonl" | grep -q '"name":"snapd"' ||
	fail "no helper_restart audit line"
grep '"op":"helper_exit"' "$CNR_LOG/monitor.audit.jsonl" | grep -q '"signal":9' ||
	fail "monitor did not audit the death"
[ "$(cnr_info_field snapd RESTARTS)" = 1 ] || fail "info does not count the restart"
pass "helper SIGKILL -> restart, audited, counted"

# ---- a request in flight when its helper dies fails with the cause -----------
victim=$(cnr_pid_of snapd)
kill -STOP "$victim"
"$CONTAINR" system check >"$CNR_TMP/inflight" 2>&1 &
checker=$!
cnr_wait_for 10 grep -q '"op":"system_check"\|snap' "$CNR_LOG/containrd.log" || true
sleep 1
kill -KILL "$victim"
wait $checker && fail "system check passed although snapd died under it"
grep -q "snapd.*killed by signal 9" "$CNR_TMP/inflight" ||
	{ cat "$CNR_TMP/inflight"; fail "the in-flight request did not fail with the cause"; }
cnr_wait_for 15 "$CONTAINR" system check || fail "snapd did not come back"
pass "a request in flight fails with the helper's death as its error; the helper comes back"

# ---- bad clients are dropped, alone ------------------------------------------
sock=$CNR_RUN/containr.sock
mkfifo "$CNR_TMP/hold"
"$top_builddir/tests/rawclient" "$sock" hold <"$CNR_TMP/hold" >"$CNR_TMP/hold.out" &
holder=$!
exec 7>"$CNR_TMP/hold"
for mode in garbage badtype oversized nohello; do
	out=$("$top_builddir/tests/rawclient" "$sock" $mode)
	case $out in
	*closed*) ;;
	*) fail "client sending $mode was not dropped: $out" ;;
	esac
done
[ "$(cnr_pid_of supervisor)" = "$sup" ] || fail "the supervisor died on bad input"
"$CONTAINR" info >/dev/null || fail "containr info after bad clients"
exec 7>&-
wait $holder || fail "a well-behaved client lost its connection: $(cat "$CNR_TMP/hold.out")"
grep -q '"op":"client_protocol_violation"' "$CNR_LOG/containrd.audit.jsonl" || fail "violation not audited"
pass "garbage, unknown type, oversized, no-hello clients dropped; others keep working"

# ---- a user outside the socket group is refused -----------------------------
if command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=54321 --regid=54321 --clear-groups -- "$CONTAINR" info 2>&1) &&
		fail "uid 54321 was let in"
	case $out in *"permission denied"*) ;; *) fail "refusal says: $out" ;; esac
	# Past the file mode (CAP_DAC_OVERRIDE), the supervisor's own check refuses.
	out=$(setpriv --reuid=54321 --regid=54321 --clear-groups --inh-caps=+dac_override \
		--ambient-caps=+dac_override -- "$CONTAINR" info 2>&1) && fail "uid 54321 with DAC_OVERRIDE was let in"
	case $out in *"permission denied"*) ;; *) fail "supervisor refusal says: $out" ;; esac
	grep '"op":"api_refused"' "$CNR_LOG/containrd.audit.jsonl" | grep -q '"client_uid":54321' ||
		fail "refusal not audited"
	# A member of the group is let in.
	setpriv --reuid=54321 --regid=54321 --groups="$CNR_GID" -- "$CONTAINR" info >/dev/null ||
		fail "a member of the socket group was refused"
	pass "non-member refused (file mode and SO_PEERCRED), member admitted"
else
	echo "setpriv missing: non-member check skipped"
fi

# ---- the supervisor killed with SIGKILL is restarted --------------------------
kill -KILL "$sup"
sup_back() { p=$(cnr_pid_of supervisor) && [ "$p" != "$sup" ] && "$CONTAINR" system check; }
cnr_wait_for 20 sup_back || fail "the supervisor was not restarted"
grep -q '"op":"supervisor_exit"' "$CNR_LOG/monitor.audit.jsonl" || fail "supervisor death not audited"
[ "$(cnr_info_field supervisor RESTARTS)" = 1 ] || fail "info does not count the supervisor restart"
pass "supervisor SIGKILL -> restarted with fresh helpers, CLI works again"

# ---- SIGTERM stops everything -----------------------------------------------
pids="$mon $(cnr_pid_of supervisor)"
for h in $CNR_HELPERS; do pids="$pids $(cnr_pid_of "$h")"; done
kill -TERM "$mon"
gone() { for p in $pids; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
cnr_wait_for 15 gone || fail "processes left after SIGTERM: $pids"
[ -e "$sock" ] && fail "socket left behind"
CNR_MONITOR_PID=
pass "SIGTERM to containrd stops every process and removes the socket"

# ---- what the monitor runs as root is nobody else's to write ------------------
# A copy of the helper dir (the build tree's is shared with suites running
# beside us): a containr-shim the supervisor's user owns, or anyone may
# write, is refused at SpawnShim, naming why; the sealed copy of the
# previous binary is not used either (its owner and mode changed).
. "$top_srcdir/tests/images.sh"
if (cnr_need_busybox) >/dev/null 2>&1; then
	H=$CNR_TMP/helpers
	mkdir "$H" && cp -p "$CNR_HELPER_DIR"/containr-* "$H/" || fail "copy the helpers"
	CNR_HELPER_DIR=$H
	cnr_restart
	cnr_busybox_image demo >/dev/null || fail "import the busybox image"
	"$CONTAINR" run --rm --network none demo true || fail "run with the copied helpers"
	chown "$CNR_SUP_UID" "$H/containr-shim"
	out=$("$CONTAINR" run --rm --network none demo true 2>&1) && fail "ran a shim the supervisor's user owns"
	case $out in *"writable by the supervisor's user"*) ;; *) fail "refusal says: $out" ;; esac
	chown 0 "$H/containr-shim"
	chmod o+w "$H/containr-shim"
	out=$("$CONTAINR" run --rm --network none demo true 2>&1) && fail "ran a shim anyone may write"
	case $out in *"writable by anyone"*) ;; *) fail "refusal says: $out" ;; esac
	grep '"op":"spawn_shim"' "$CNR_LOG/monitor.audit.jsonl" | grep -q 'writable by anyone' ||
		fail "the refusal is not in the monitor's audit"
	chmod o-w "$H/containr-shim"
	"$CONTAINR" run --rm --network none demo true || fail "run once the shim is root's again"
	pass "a containr-shim the supervisor's user owns or anyone may write is refused (audited)"
else
	echo "busybox-static missing: the shim binary's owner check skipped"
fi
exit 0
