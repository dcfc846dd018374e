#!/bin/sh
# containr against a real containrd (tests/lib.sh starts it on temporary
# dirs): every command's output is checked against what the daemon and
# /proc say.
. "$top_srcdir/tests/lib.sh"
cnr_need_root
[ -x "$CONTAINRD" ] || { echo "SKIP: $CONTAINRD not built"; exit 77; }
cnr_start
out=$CNR_TMP/out

# version: client and server, same protocol.
"$CONTAINR" version >"$out" || fail "containr version"
grep -q '^Server:' "$out" || fail "version: no server part"
[ "$(grep -c '^ Protocol: *1$' "$out")" = 2 ] || fail "version: protocols"
grep -q '^ Kernel: *'"$(uname -r)"'$' "$out" || fail "version: kernel is not $(uname -r)"
pass "version"
"$CONTAINR" version --format json | grep -q '"libraries"' || fail "version --format json"
pass "version --format json"

# info: the table's pids are the real processes, helpers run as their uid.
"$CONTAINR" info >"$out" || fail "containr info"
grep -q "^Run root: *$CNR_RUN\$" "$out" || fail "info: run root"
mon=$(awk '$1 == "monitor" {print $2}' "$out")
[ "$mon" = "$CNR_MONITOR_PID" ] || fail "info: monitor pid $mon, pid file says $CNR_MONITOR_PID"
for h in $CNR_HELPERS; do
	line=$(awk -v h="$h" '$1 == h' "$out")
	[ -n "$line" ] || fail "info: no line for $h"
	pid=$(echo "$line" | awk '{print $2}')
	uid=$(echo "$line" | awk '{print $3}')
	[ "$uid" = "$(cnr_helper_uid "$h")" ] || fail "info: $h uid $uid"
	real=$(awk '/^Uid:/ {print $3}' "/proc/$pid/status")
	[ "$real" = "$uid" ] || fail "info: $h pid $pid runs as $real, info says $uid"
	echo "$line" | grep -q ' filter  *yes ' || fail "info: $h seccomp/nnp: $line"
done
awk '$1 == "buildd"' "$out" | grep -q ' none ' || fail "info: buildd should hold no capability"
pass "info"
"$CONTAINR" info --format json >"$out" || fail "info --format json"
grep -q '"name": "mountd"' "$out" || fail "info json: no mountd"
grep -q '"cap_sys_admin"' "$out" || fail "info json: no capability names"
pass "info --format json"

# system check: every helper, all ok.
"$CONTAINR" system check >"$out" || { cat "$out"; fail "system check"; }
for h in $CNR_HELPERS; do
	grep -q "^$h .* ok " "$out" || fail "system check: $h"
done
grep -q ', 0 failed$' "$out" || fail "system check summary"
pass "system check"

# system audit: the supervisor's log records the requests above; --tail.
"$CONTAINR" system audit >"$out" || fail "system audit"
grep -q '"op":"system_check"' "$out" || fail "audit: no system_check record"
n=$("$CONTAINR" system audit --tail 2 | wc -l)
[ "$n" = 2 ] || fail "audit --tail 2 printed $n lines"
"$CONTAINR" system audit --helper mountd | grep -q '"op":"mount_tmpfs"' || fail "audit --helper mountd"
pass "system audit"

# --follow prints lines written after it started, and stops on SIGINT.
"$CONTAINR" system audit --follow --tail 0 >"$out" &
fpid=$!
sleep 0.5
"$CONTAINR" version >/dev/null
sleep 0.7
kill -INT $fpid
wait $fpid || fail "audit --follow exited $?"
grep -q '"op":"version"' "$out" || fail "audit --follow did not print the new record"
pass "system audit --follow"

# An operator outside the socket group is refused by the filesystem.
if command -v setpriv >/dev/null 2>&1; then
	msg=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$CONTAINR" info 2>&1) && fail "nobody ran info"
	case $msg in
	"containr: permission denied on $CNR_RUN/containr.sock: you need root or membership in the containr group") ;;
	*) fail "nobody: $msg" ;;
	esac
	pass "permission denied for a non-member"
fi
