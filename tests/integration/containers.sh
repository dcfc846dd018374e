#!/bin/sh
# Containers end to end, checked from outside (issue 4; THREATS 28, 36,
# 37, 40): run and exit codes, signals, -d/ps/logs/stop/rm, exec, -it
# under a pty, --rm, --read-only, binds and named volumes, memory (OOM
# 137) and pids limits, capabilities, no_new_privs, the supervisor killed
# with containers running, a shim killed, a reboot, --restart.
#
# Containers use --network none: the bridge is netd's suite's subject.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/images.sh"
cnr_need_root
cnr_need_busybox

C=$CONTAINR
N="--network none"

cleanup() {
	if [ -n "$CNR_MONITOR_PID" ]; then
		for _c in $("$C" ps -aq 2>/dev/null); do "$C" rm -f "$_c" >/dev/null 2>&1; done
	fi
	# a shim left by a failed check must not outlive the test
	for _d in "$CNR_RUN"/shims/*/; do
		[ -d "$_d" ] || continue
		_id=$(basename "$_d")
		for _p in $(pgrep -f "containr-shim --id $_id" 2>/dev/null); do kill -9 "$_p" 2>/dev/null; done
	done
	cnr_stop
}

cnr_start
trap cleanup EXIT
cnr_busybox_image demo >/dev/null || fail "import the busybox image"

# ---- run, exit codes, stdout/stderr ----
out=$("$C" run --rm $N demo echo hello) || fail "run --rm demo echo hello"
[ "$out" = hello ] || fail "run printed '$out'"
pass "run --rm demo echo hello"

"$C" run --rm $N demo sh -c 'exit 42'
[ $? -eq 42 ] || fail "exit code 42 not propagated"
err=$("$C" run --rm $N demo sh -c 'echo to-err >&2' 2>&1 >/dev/null)
[ "$err" = to-err ] || fail "stderr not relayed: '$err'"
"$C" run --rm $N demo no-such-command 2>/dev/null
[ $? -eq 127 ] || fail "a command that does not exist: want exit 127 (Docker's)"
"$C" run --rm $N demo /etc/passwd 2>/dev/null
[ $? -eq 126 ] || fail "a command that cannot be executed: want exit 126 (Docker's)"
"$C" run --rm $N --restart on-failurex demo true 2>/dev/null && fail "--restart on-failurex was accepted"
out=$("$C" run --rm $N --restart always demo true 2>&1) && fail "--rm with --restart always was accepted"
echo "$out" | grep -q "conflicting options" || fail "--rm --restart always: unclear error: $out"
pass "exit codes and stderr propagate"

[ -z "$("$C" ps -aq)" ] || fail "--rm left a container: $("$C" ps -a)"
pass "--rm removes the container"

# --rm: the rootfs overlay never syncs its upper (overlayfs volatile; the
# upper is removed at exit); a container that is kept syncs as usual
"$C" run --rm $N demo cat /proc/self/mountinfo | head -1 | grep -q volatile ||
	fail "run --rm: the rootfs overlay is not volatile"
"$C" run --name keepsync $N demo cat /proc/self/mountinfo | head -1 | grep -q volatile &&
	fail "a kept container's rootfs overlay is volatile"
"$C" rm keepsync >/dev/null || fail "rm keepsync"
pass "run --rm mounts its rootfs without syncs (volatile), a kept container with"

out=$(echo piped | "$C" run --rm -i $N demo cat) || fail "run -i"
[ "$out" = piped ] || fail "stdin not relayed: '$out'"
pass "run -i relays stdin"

# a signal to the CLI reaches the container (SIGTERM forwarded; the shell
# traps it and exits 7)
"$C" run --rm $N demo sh -c 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done' >"$CNR_TMP/sig.out" &
cli=$!
cnr_wait_for 10 grep -q ready "$CNR_TMP/sig.out" || fail "signal test container did not start"
kill -TERM $cli
wait $cli
rc=$?
[ $rc -eq 7 ] || fail "SIGTERM to the CLI: exit $rc, want 7"
pass "SIGTERM to containr run is forwarded"

# ---- -d, ps, logs, exec, top, stop, rm ----
id=$("$C" run -d $N --name ticker demo sh -c 'echo started; i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done') ||
	fail "run -d"
[ ${#id} -eq 64 ] || fail "run -d printed '$id'"
"$C" ps | grep -q ticker || fail "ps does not show ticker"
"$C" ps --format json | grep -q "\"Id\": \"$id\"" || fail "ps --format json"
[ "$("$C" ps -q)" = "$(echo "$id" | cut -c1-12)" ] || fail "ps -q"
cnr_wait_for 10 sh -c "'$C' logs ticker | grep -q 'tick 3'" || fail "logs has no ticks"
"$C" logs ticker | head -1 | grep -q started || fail "logs does not start with 'started'"
[ "$("$C" logs --tail 1 ticker | wc -l)" -eq 1 ] || fail "logs --tail 1"
"$C" logs -t --tail 1 ticker | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' || fail "logs -t has no timestamp"
timeout 3 "$C" logs -f ticker >"$CNR_TMP/follow.out" 2>&1
n1=$(grep -c tick "$CNR_TMP/follow.out")
[ "$n1" -gt 5 ] || fail "logs -f followed nothing ($n1 lines)"
pass "run -d, ps (-q, --format json), logs (--tail, -t, -f)"

pid=$("$C" inspect ticker | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p' | head -1)
[ -n "$pid" ] && [ "$pid" -gt 0 ] || fail "inspect has no pid"
for ns in mnt pid uts ipc net; do
	[ "$(readlink /proc/$pid/ns/$ns)" != "$(readlink /proc/1/ns/$ns)" ] || fail "container shares the host's $ns namespace"
done
[ "$(cnr_status "$pid" Seccomp)" = 2 ] || fail "init has no seccomp filter"
[ "$(cnr_status "$pid" CapEff)" = 00000000a80425fb ] || fail "CapEff $(cnr_status "$pid" CapEff), want Docker's default set"
pass "namespaces differ from the host's, seccomp 2, Docker's default CapEff"

# THREATS 9 through the monitor: the shim runs from the monitor's one
# sealed copy of containr-shim (same inode), not from a copy of its own.
shim=$(sed 's/.*) //' /proc/$pid/stat | awk '{print $2}')
case $(readlink /proc/$shim/exe) in /memfd:containr-shim*) ;; *) fail "the shim runs from $(readlink /proc/$shim/exe)" ;; esac
mfd=$(for f in /proc/$CNR_MONITOR_PID/fd/*; do case $(readlink "$f") in /memfd:containr-shim*) echo "$f" ;; esac; done)
[ "$(echo "$mfd" | grep -c .)" = 1 ] || fail "the monitor holds $(echo "$mfd" | grep -c .) copies of the shim, want 1"
[ "$(stat -L -c %i "$mfd")" = "$(stat -L -c %i /proc/$shim/exe)" ] || fail "the shim does not run from the monitor's copy"
pass "THREATS 9: the shim runs from the monitor's sealed copy of containr-shim"

# The monitor's shim is detached: not its child, a session of its own.
# Where the monitor's parent is the pid namespace's init
# (--detach, systemd), the shim is started as the monitor's sibling (one
# process creation, no intermediate): its parent is that init, as an
# orphan of a double fork's intermediate would be.
sstat=$(sed 's/.*) //' /proc/$shim/stat)
sppid=$(echo "$sstat" | awk '{print $2}')
[ "$sppid" != "$CNR_MONITOR_PID" ] || fail "the shim is the monitor's child"
[ "$(echo "$sstat" | awk '{print $4}')" = "$shim" ] || fail "the shim leads no session of its own"
mppid=$(sed 's/.*) //' /proc/$CNR_MONITOR_PID/stat | awk '{print $2}')
if [ "$mppid" = 1 ]; then
	[ "$sppid" = 1 ] || fail "the shim's parent is $sppid, want 1 (the monitor's parent)"
fi
pass "the shim is detached from the monitor (parent $sppid, own session)"

[ "$("$C" exec ticker echo in-exec)" = in-exec ] || fail "exec"
[ "$("$C" exec -u 1000:1000 -w /tmp -e FOO=bar ticker sh -c 'echo $(id -u):$(id -g):$PWD:$FOO')" = "1000:1000:/tmp:bar" ] ||
	fail "exec -u -w -e"
"$C" exec ticker sh -c 'exit 5'
[ $? -eq 5 ] || fail "exec exit code"
"$C" top ticker | grep -q 'sh -c echo started' || fail "top does not show the init"
pass "exec (-u, -w, -e, exit code), top"

# stats: Docker's columns; CPU % from two samples a second apart (a busy
# loop shows more than 0), the memory limit, --network none's 0B / 0B
out=$("$C" stats --no-stream ticker) || fail "stats --no-stream"
echo "$out" | head -1 | grep -Eq '^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$' ||
	fail "stats header: $out"
echo "$out" | tail -1 | grep -Eq "^${id%"${id#????????????}"} +ticker +[0-9]+\.[0-9][0-9]% +[0-9.]+[KMG]?i?B / [0-9.]+[KMGT]iB +[0-9]+\.[0-9][0-9]% +0B / 0B +[0-9.]+[kMG]?B / [0-9.]+[kMG]?B +[1-9][0-9]*$" ||
	fail "stats line: $out"
"$C" run -d $N --name busy -m 64m demo sh -c 'while :; do :; done' >/dev/null || fail "run busy"
js=$("$C" stats --no-stream --format json busy ticker) || fail "stats --format json"
[ "$(echo "$js" | wc -l)" = 2 ] || fail "stats --format json printed: $js"
echo "$js" | head -1 | grep -q '"Container":"busy"' || fail "stats json Container: $js"
echo "$js" | head -1 | grep -q '"MemUsage":"[0-9.]*[KM]*i*B / 64MiB"' || fail "stats json MemUsage with -m 64m: $js"
echo "$js" | head -1 | grep -q '"NetIO":"0B / 0B"' || fail "stats json NetIO: $js"
cpu=$(echo "$js" | head -1 | sed 's/.*"CPUPerc":"\([0-9]*\)\.[0-9]*%".*/\1/')
[ "$cpu" -gt 0 ] 2>/dev/null || fail "a busy loop shows CPU % $cpu: $js"
"$C" rm -f busy >/dev/null || fail "rm busy"
pass "stats: CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O, PIDS; --format json"

# an exec'd process is in the container's cgroup in every hierarchy: each
# line of its /proc/self/cgroup is the cgroup namespace's root
cg=$("$C" exec ticker cat /proc/self/cgroup) || fail "exec cat /proc/self/cgroup"
[ -n "$cg" ] && [ -z "$(echo "$cg" | grep -v ':/$')" ] || fail "exec'd process outside the container's cgroups: $cg"
pass "exec joins the container's cgroup in every hierarchy"

# -it under a pseudo-terminal (util-linux script)
if command -v script >/dev/null 2>&1; then
	out=$(script -qec "'$C' run --rm -it $N demo sh -c 'test -t 0 && test -t 1 && echo tty-ok'" /dev/null </dev/null) ||
		fail "run -it under script"
	echo "$out" | grep -q tty-ok || fail "run -it: no terminal inside ($out)"
	out=$(script -qec "'$C' exec -it ticker sh -c 'test -t 1 && echo exec-tty-ok'" /dev/null </dev/null)
	echo "$out" | grep -q exec-tty-ok || fail "exec -it: no terminal inside ($out)"
	pass "-it: the container gets a terminal of its own (run and exec)"
fi

"$C" stop -t 1 ticker >/dev/null || fail "stop"
"$C" ps -a | grep ticker | grep -q Exited || fail "ticker not exited after stop"
"$C" rm ticker >/dev/null || fail "rm"
"$C" ps -a | grep -q ticker && fail "ticker still listed after rm"
pass "stop, rm"

# ---- flags ----
"$C" run --rm $N --read-only demo sh -c 'touch /x' 2>/dev/null && fail "--read-only: /x was created"
"$C" run --rm $N --read-only demo sh -c 'touch /tmp/x' 2>/dev/null && fail "--read-only: /tmp is writable without a tmpfs"
"$C" run --rm $N --read-only --tmpfs /tmp demo sh -c 'touch /tmp/x' || fail "--read-only --tmpfs /tmp"
pass "--read-only (and --tmpfs)"

mkdir -p "$CNR_TMP/bind"
echo from-host >"$CNR_TMP/bind/in"
out=$("$C" run --rm $N -v "$CNR_TMP/bind:/data" demo sh -c 'cat /data/in; echo from-container >/data/out') ||
	fail "-v bind"
[ "$out" = from-host ] || fail "bind: read '$out'"
[ "$(cat "$CNR_TMP/bind/out")" = from-container ] || fail "bind: the host does not see the container's write"
"$C" run --rm $N -v "$CNR_TMP/bind:/data:ro" demo sh -c 'echo x >/data/ro' 2>/dev/null && fail "-v ...:ro is writable"
"$C" run --rm $N -v "$CNR_TMP/made/here:/m" demo sh -c 'echo in >/m/f' || fail "-v of a missing host directory"
[ "$(cat "$CNR_TMP/made/here/f")" = in ] || fail "-v did not make the missing host directory (Docker does)"
"$C" run --rm $N --mount type=bind,source="$CNR_TMP/absent",target=/m demo true 2>/dev/null
[ $? -eq 125 ] || fail "--mount of a missing bind source: want exit 125"
[ -e "$CNR_TMP/absent" ] && fail "--mount made its missing source (Docker refuses)"
"$C" run --rm $N -w relative demo true 2>/dev/null && fail "-w relative was accepted"
"$C" run --rm $N --pids-limit -1 demo true || fail "--pids-limit -1 (unlimited) refused"
pass "-v bind (read-write and :ro; a missing -v source is made, --mount refuses), -w absolute, --pids-limit -1"

"$C" volume create vol1 >/dev/null || fail "volume create"
"$C" run --rm $N -v vol1:/v demo sh -c 'echo persisted >/v/f' || fail "write to a named volume"
[ "$("$C" run --rm $N -v vol1:/v demo cat /v/f)" = persisted ] || fail "named volume data did not persist"
"$C" volume ls | grep -q vol1 || fail "volume ls"
"$C" volume inspect vol1 | grep -q Mountpoint || fail "volume inspect"
"$C" volume inspect vol1 | grep -Eq '"CreatedAt": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"' ||
	fail "volume inspect: CreatedAt is not RFC 3339: $("$C" volume inspect vol1)"
"$C" volume inspect vol1 | grep -q '"Scope": "local"' || fail "volume inspect: no Scope"
"$C" volume rm vol1 >/dev/null || fail "volume rm"
"$C" volume ls | grep -q vol1 && fail "vol1 still listed"
pass "named volumes persist across containers; volume create/ls/inspect/rm"

# ---- image VOLUMEs: anonymous volumes, filled from the image (THREATS 28) ----
mkdir -p "$CNR_TMP/volx/data"
echo from-image >"$CNR_TMP/volx/data/seed"
cnr_archive_image "$CNR_TMP/vols.tar" vols:1 '{"Volumes": {"../../etc": {}, "/data": {}}, "Cmd": ["sh"]}' \
	"$CNR_TMP/volx" || fail "make the VOLUME image"
"$C" load -q -i "$CNR_TMP/vols.tar" >/dev/null || fail "load the VOLUME image"
rm -f /etc/cnr-threat28-volume
out=$("$C" run $N --name vols vols:1 sh -c 'cat /data/seed; echo kept >/data/x; echo evil >/etc/cnr-threat28-volume;
	head -1 /etc/passwd; grep -c " /etc " /proc/self/mountinfo') || fail "run an image with VOLUMEs: $out"
[ "$out" = "$(printf 'from-image\nroot:x:0:0:root:/root:/bin/sh\n1')" ] || fail "image VOLUMEs: got '$out'"
[ -e /etc/cnr-threat28-volume ] && fail "VOLUME ../../etc wrote to the host's /etc"
vid=$("$C" inspect vols | sed -n 's/.*"Id": "\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-32)
[ "$("$C" volume ls -q | grep -c "^$vid-")" -eq 2 ] || fail "want 2 anonymous volumes of vols: $("$C" volume ls -q)"
"$C" start vols >/dev/null || fail "start vols again"
"$C" wait vols >/dev/null
[ "$("$C" volume ls -q | grep -c "^$vid-")" -eq 2 ] || fail "a restart made new anonymous volumes: $("$C" volume ls -q)"
out=$("$C" run --rm $N vols:1 sh -c 'cat /data/x 2>/dev/null || echo fresh')
[ "$out" = fresh ] || fail "a second container shares the first one's anonymous volume ($out)"
"$C" volume prune >/dev/null || fail "volume prune with vols present"
[ "$("$C" volume ls -q | grep -c "^$vid-")" -eq 2 ] || fail "volume prune took the anonymous volumes of an existing container"
[ -z "$("$C" volume ls -q -f dangling=true | grep "^$vid-")" ] || fail "volumes of an existing container listed as dangling"
"$C" rm vols >/dev/null || fail "rm vols"
[ "$("$C" volume ls -q -f dangling=true | grep -c "^$vid-")" -eq 2 ] ||
	fail "rm (without -v) did not leave 2 dangling anonymous volumes: $("$C" volume ls -q -f dangling=true)"
"$C" volume prune >/dev/null || fail "volume prune"
[ "$("$C" volume ls -q | grep -c "^$vid-")" -eq 0 ] || fail "volume prune left dangling volumes: $("$C" volume ls -q)"
pass "image VOLUMEs are anonymous volumes filled from the image; rm leaves them dangling, prune takes them; ../../etc stays inside (THREATS 28)"

# ---- anonymous volumes: rm keeps them, rm -v and --rm remove them, named ones stay ----
"$C" volume create keepme >/dev/null || fail "volume create keepme"
"$C" run $N --name av1 -v /anon -v keepme:/named demo sh -c 'echo a >/anon/f; echo n >/named/f' || fail "run av1"
"$C" run $N --name av2 -v /anon -v keepme:/named demo true || fail "run av2"
a1=$("$C" inspect av1 | sed -n 's/.*"Id": "\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-32)
a2=$("$C" inspect av2 | sed -n 's/.*"Id": "\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-32)
"$C" volume ls -q -f dangling=false | grep -q "^$a1-" || fail "av1's anonymous volume not listed as in use"
"$C" volume ls -q -f dangling=true | grep -qx keepme && fail "keepme listed as dangling while av1 and av2 name it"
"$C" rm av1 >/dev/null || fail "rm av1"
"$C" volume ls -q -f dangling=true | grep -q "^$a1-" || fail "rm: av1's anonymous volume is not dangling: $("$C" volume ls -q)"
"$C" rm -v av2 >/dev/null || fail "rm -v av2"
"$C" volume ls -q | grep -q "^$a2-" && fail "rm -v left av2's anonymous volume"
"$C" volume ls -q | grep -qx keepme || fail "rm -v removed the named volume keepme"
"$C" volume ls -q -f dangling=true | grep -qx keepme || fail "keepme is not dangling once its users are gone"
[ "$("$C" volume ls -q -f name=keep)" = keepme ] || fail "volume ls -f name=keep"
"$C" volume ls -f bogus=1 >/dev/null 2>&1 && fail "volume ls -f bogus=1 accepted"
out=$("$C" run --rm $N -v /anon2 demo sh -c 'cat /proc/self/mountinfo | grep -c " /anon2 "')
[ "$out" = 1 ] || fail "run --rm -v /anon2: not mounted ($out)"
[ "$("$C" volume ls -q -f dangling=true | grep -vx keepme | grep -cv "^$a1-")" -eq 0 ] ||
	fail "run --rm left an anonymous volume: $("$C" volume ls -q)"
"$C" volume prune >/dev/null || fail "volume prune"
[ -z "$("$C" volume ls -q)" ] || fail "volume prune left: $("$C" volume ls -q)"
pass "anonymous volumes: rm leaves them dangling (ls -f dangling=true), rm -v and run --rm remove them; named volumes stay until prune"

# ---- THREATS 28: reserved labels dropped; a 100 MB /etc/group stays bounded ----
mkdir -p "$CNR_TMP/grp/etc"
printf 'root:x:0:0:root:/root:/bin/sh\nsomeuser:x:1234:1234::/tmp:/bin/sh\n' >"$CNR_TMP/grp/etc/passwd"
# 100 MB of groups that list someuser, then its own group far past the bound
awk 'BEGIN { for (i = 0; i < 2100000; i++) printf "g%07d:x:%d:someuser,other,more,names,here\n", i, 100000 + i;
	print "late:x:4321:someuser" }' >"$CNR_TMP/grp/etc/group"
[ "$(stat -c %s "$CNR_TMP/grp/etc/group")" -ge 100000000 ] || fail "the /etc/group is smaller than 100 MB"
cnr_archive_image "$CNR_TMP/grp.tar" grp:1 \
	'{"Labels": {"io.containr.snapshot": "forged", "io.containr.x": "y", "keep": "yes"}, "Cmd": ["sh"]}' \
	"$CNR_TMP/grp" || fail "make the hostile-config image"
rm -rf "$CNR_TMP/grp"
"$C" load -q -i "$CNR_TMP/grp.tar" >/dev/null 2>&1 || fail "load the hostile-config image"
rm -f "$CNR_TMP/grp.tar"
labels=$("$C" image inspect grp:1 | tr -d ' \n' | sed -n 's/.*"Labels":{\([^}]*\)}.*/\1/p')
[ "$labels" = '"keep":"yes"' ] || fail "image labels after load: '$labels', want only keep (io.containr.* dropped)"
start=$(date +%s)
out=$(timeout 60 "$C" run --rm $N -u someuser grp:1 sh -c 'id -u; id -G' 2>&1)
rc=$?
took=$(($(date +%s) - start))
[ $rc -ne 124 ] || fail "run -u someuser with a 100 MB /etc/group hung"
[ $took -le 30 ] || fail "run -u someuser with a 100 MB /etc/group took ${took}s"
if [ $rc -eq 0 ]; then
	[ "$(echo "$out" | head -1)" = 1234 ] || fail "-u someuser: uid '$out'"
	echo "$out" | grep -qw 4321 && fail "a group past the read bound was used: $out"
else
	echo "$out" | grep -qi group || fail "run -u someuser failed without naming /etc/group: $out"
fi
pass "THREATS 28: io.containr.* labels dropped at load; a 100 MB /etc/group is read within its bound (${took}s)"

# ---- --sysctl: namespaced keys only, written through the shim's own procfs (THREATS 10) ----
mkdir -p "$CNR_TMP/sx/proc/sys" "$CNR_TMP/sx/redir"
ln -s /redir "$CNR_TMP/sx/proc/sys/net" # the image's /proc/sys/net leads elsewhere
cnr_archive_image "$CNR_TMP/sx.tar" sx:1 '{"Cmd": ["sh"]}' "$CNR_TMP/sx" || fail "make the sysctl image"
"$C" load -q -i "$CNR_TMP/sx.tar" >/dev/null || fail "load the sysctl image"
host_port=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
host_shm=$(cat /proc/sys/kernel/shmmni)
out=$("$C" run --rm $N --sysctl net.ipv4.ip_unprivileged_port_start=555 --sysctl kernel.shmmni=1111 sx:1 \
	sh -c 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni; ls /redir | wc -l') ||
	fail "run --sysctl: $out"
[ "$out" = "$(printf '555\n1111\n0')" ] || fail "--sysctl inside: '$out' (want 555, 1111, nothing under /redir)"
[ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" = "$host_port" ] || fail "--sysctl net.* changed the host's value"
[ "$(cat /proc/sys/kernel/shmmni)" = "$host_shm" ] || fail "--sysctl kernel.shmmni changed the host's value"
host_sysrq=$(cat /proc/sys/kernel/sysrq)
for bad in kernel.sysrq=1 kernel.core_pattern=x vm.overcommit_memory=1 net..x=1 ../../sysrq-trigger=b; do
	out=$("$C" run --rm $N --sysctl "$bad" demo true 2>&1) && fail "--sysctl $bad was accepted"
	echo "$out" | grep -q "namespaced sysctl" || fail "--sysctl $bad: unclear error: $out"
done
[ "$(cat /proc/sys/kernel/sysrq)" = "$host_sysrq" ] || fail "kernel.sysrq changed"
out=$("$C" run --rm --network host --sysctl net.ipv4.ip_forward=1 demo true 2>&1) && fail "--network host with a net.* sysctl"
pass "--sysctl: namespaced keys land in the container only, through its procfs (not the image's /proc/sys/net link); others refused (THREATS 10)"

"$C" run --rm $N --memory 16m demo sh -c 'x=a; while :; do x="$x$x$x$x"; done' 2>/dev/null
[ $? -eq 137 ] || fail "--memory: want exit 137"
"$C" run $N --name oom --memory 16m demo sh -c 'x=a; while :; do x="$x$x$x$x"; done' 2>/dev/null
"$C" inspect oom | grep -q '"OOMKilled": true' || fail "inspect: OOMKilled not set"
"$C" rm oom >/dev/null
pass "--memory: OOM kill is exit 137 with OOMKilled"

out=$("$C" run --rm $N --pids-limit 8 demo sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 3 & done; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n' 2>&1)
# busybox sh stops at the first refused fork; otherwise count what runs
echo "$out" | grep -q "can't fork" || { [ -n "$out" ] && [ "$out" -le 8 ]; } ||
	fail "--pids-limit 8: 12 background processes went through ($out)"
pass "--pids-limit is enforced"

capeff=$("$C" run --rm $N --cap-drop NET_RAW --cap-drop CHOWN demo sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')
[ "$capeff" = 00000000a80425fa ] && fail "CapEff unchanged"
[ $((0x$capeff & (1 << 13))) -eq 0 ] || fail "--cap-drop NET_RAW: bit 13 still in $capeff"
[ $((0x$capeff & 1)) -eq 0 ] || fail "--cap-drop CHOWN: bit 0 still in $capeff"
capeff=$("$C" run --rm $N --cap-add SYS_ADMIN demo sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')
[ $((0x$capeff & (1 << 21))) -ne 0 ] || fail "--cap-add SYS_ADMIN: bit 21 missing in $capeff"
pass "--cap-drop and --cap-add are visible in CapEff"

# --privileged: every capability the host's root has (these machines'
# root lacks CAP_SYS_RESOURCE: it is left out, not a failure), no seccomp,
# and every device (mknod + open of a loop node the default list refuses).
hostbnd=$(cnr_status $$ CapBnd)
out=$("$C" run --rm $N --privileged demo sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status | awk "{print \$2}" | tr "\n" " "
	mknod /tmp/loopx b 7 0 && head -c 0 /tmp/loopx && echo dev-ok' 2>&1)
[ "$out" = "$hostbnd 0 dev-ok" ] || fail "--privileged: want CapEff=$hostbnd, Seccomp 0 and loop 7:0 open, got: $out"
"$C" run --rm $N demo sh -c 'mknod /tmp/loopx b 7 0 && head -c 0 /tmp/loopx' 2>/dev/null &&
	fail "without --privileged a loop device opened"
if [ $((0x$hostbnd & (1 << 24))) -eq 0 ]; then
	err=$("$C" run --rm $N --cap-add SYS_RESOURCE demo true 2>&1) && fail "--cap-add SYS_RESOURCE ran without it in the host's set"
	echo "$err" | grep -q "CAP_SYS_RESOURCE is not in the host's bounding set" ||
		fail "--cap-add of a capability the host lacks: unclear error: $err"
fi
pass "--privileged: the host's capabilities, no seccomp, every device; a capability the host lacks is named"

nnp=$("$C" run --rm $N --security-opt no-new-privileges demo sh -c 'grep NoNewPrivs /proc/self/status' | awk '{print $2}')
[ "$nnp" = 1 ] || fail "no-new-privileges: NoNewPrivs=$nnp"
nnp=$("$C" run --rm $N demo sh -c 'grep NoNewPrivs /proc/self/status' | awk '{print $2}')
[ "$nnp" = 0 ] || fail "NoNewPrivs set without the option"
sc=$("$C" run --rm $N --security-opt seccomp=unconfined demo sh -c 'grep ^Seccomp: /proc/self/status' | awk '{print $2}')
[ "$sc" = 0 ] || fail "seccomp=unconfined: Seccomp=$sc"
pass "--security-opt no-new-privileges and seccomp=unconfined"

[ "$("$C" run --rm $N -u 1000 -w /tmp -e A=1 --hostname box demo sh -c 'echo $(id -u):$PWD:$A:$(hostname)')" = "1000:/tmp:1:box" ] ||
	fail "-u -w -e --hostname"
printf 'B=2\n# comment\n' >"$CNR_TMP/envfile"
[ "$("$C" run --rm $N --env-file "$CNR_TMP/envfile" demo sh -c 'echo $B')" = 2 ] || fail "--env-file"
[ "$("$C" run --rm $N --entrypoint /bin/echo demo ep)" = ep ] || fail "--entrypoint"
[ "$("$C" run --rm $N --ulimit nofile=123:456 demo sh -c 'ulimit -n')" = 123 ] || fail "--ulimit nofile"
pass "-u -w -e --hostname --env-file --entrypoint --ulimit"

# ---- the rest of issue 4's flags, each checked from outside ----
[ "$("$C" run --rm $N -h hbox demo sh -c 'echo $(hostname)')" = hbox ] || fail "-h"
# --privileged: every capability the host's bounding set holds (this
# machine's root lacks CAP_SYS_RESOURCE), no seccomp filter, no masks
hostbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
out=$("$C" run --rm $N --privileged demo sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status | awk "{print \$2}" | tr "\n" " "; grep -c " /proc/kcore " /proc/self/mountinfo || true') ||
	fail "--privileged: $out"
[ "$out" = "$hostbnd 0 0" ] || fail "--privileged: CapEff, Seccomp, kcore masks '$out', want '$hostbnd 0 0'"
if [ $((0x$hostbnd & (1 << 24))) -eq 0 ]; then
	out=$("$C" run --rm $N --cap-add SYS_RESOURCE demo true 2>&1) && fail "--cap-add of a capability the host lacks was accepted"
	echo "$out" | grep -qi cap_sys_resource || fail "--cap-add SYS_RESOURCE on this host: unclear error: $out"
fi
# --cpus: the CFS quota in the container's cgroup (v1 cpu or v2 cpu.max)
"$C" run -d $N --name cpus --cpus 0.5 --label role=test --label bare demo \
	sh -c 'trap "exit 7" USR1; echo up; while :; do sleep 0.1; done' >/dev/null || fail "run --cpus"
pid=$("$C" inspect cpus | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p' | head -1)
cg=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' /proc/$pid/cgroup)
if [ -n "$cg" ] && [ -f "/sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us" ]; then
	[ "$(cat "/sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us")" = 50000 ] || fail "--cpus 0.5: quota $(cat "/sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us")"
else
	cg=$(awk -F: '$1 == 0 {print $3}' /proc/$pid/cgroup)
	[ "$(cut -d' ' -f1 "/sys/fs/cgroup$cg/cpu.max")" = 50000 ] || fail "--cpus 0.5: cpu.max $(cat "/sys/fs/cgroup$cg/cpu.max")"
fi
"$C" inspect cpus | tr -d ' \n' | grep -q '"Labels":{"bare":"","role":"test"}' ||
	"$C" inspect cpus | tr -d ' \n' | grep -q '"Labels":{"role":"test","bare":""}' || fail "--label: $("$C" inspect cpus | grep -A3 Labels)"
# kill -s: the signal reaches the init; restart: a new init, running
cnr_wait_for 10 sh -c "'$C' logs cpus | grep -q up" || fail "the --cpus container did not start"
"$C" kill -s USR1 cpus >/dev/null || fail "kill -s USR1"
[ "$("$C" wait cpus)" = 7 ] || fail "kill -s USR1: the trap's exit 7 did not come"
"$C" restart -t 1 cpus >/dev/null || fail "restart"
pid2=$("$C" inspect cpus | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p' | head -1)
[ "$pid2" != "$pid" ] && [ "$(cat /proc/$pid2/comm 2>/dev/null)" = sh ] || fail "restart: no new init ($pid -> $pid2)"
"$C" rm -f cpus >/dev/null
# --mount bind (readonly), volume and tmpfs; a tmpfs belongs to the container's root
out=$("$C" run --rm $N --mount type=bind,source="$CNR_TMP/bind",target=/mb,readonly \
	--mount type=volume,source=mvol,target=/mv --mount type=tmpfs,target=/mt,tmpfs-size=1048576 --tmpfs /t2 demo \
	sh -c 'cat /mb/in; touch /mb/no 2>/dev/null || echo ro; echo v >/mv/f && cat /mv/f;
		grep " /mt " /proc/self/mountinfo | grep -c "size=1024k"; stat -c "%u:%g %a" /mt /t2') || fail "--mount: $out"
[ "$out" = "$(printf 'from-host\nro\nv\n1\n0:0 1777\n0:0 1777')" ] || fail "--mount bind,volume,tmpfs: '$out'"
"$C" volume rm mvol >/dev/null || fail "--mount type=volume did not make the named volume"
# --security-opt seccomp=FILE (a profile in Docker's format, read by the CLI)
printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}\n' >"$CNR_TMP/prof.json"
out=$("$C" run --rm $N --security-opt seccomp="$CNR_TMP/prof.json" demo sh -c 'mkdir /x 2>/dev/null || echo refused; grep ^Seccomp: /proc/self/status')
[ "$(echo $out)" = "refused Seccomp: 2" ] || fail "seccomp=FILE: '$out'"
# an exec loads the same profile: with the init's capabilities the shim's
# compiled program, with others (--privileged) one compiled for it
"$C" run -d --name prof $N --security-opt seccomp="$CNR_TMP/prof.json" demo sleep 600 >/dev/null || fail "seccomp=FILE -d"
for x in "" --privileged; do
	out=$("$C" exec $x prof sh -c 'mkdir /x 2>/dev/null || echo refused; grep ^Seccomp: /proc/self/status')
	[ "$(echo $out)" = "refused Seccomp: 2" ] || fail "seccomp=FILE, exec $x: '$out'"
done
"$C" rm -f prof >/dev/null
# --init: Debian's tini-static is pid 1, the command its child
if [ -x /usr/bin/tini-static ]; then
	out=$("$C" run --rm $N --init demo sh -c 'tr "\0" " " </proc/1/cmdline')
	echo "$out" | grep -q '^/sbin/docker-init -- sh -c' || fail "--init: pid 1 is '$out'"
fi
# --network host, a named network, -p to 127.0.0.1
[ "$("$C" run --rm --network host demo sh -c "readlink /proc/self/ns/net")" = "$(readlink /proc/self/ns/net)" ] ||
	fail "--network host: another network namespace"
"$C" network create flagnet >/dev/null || fail "network create flagnet"
"$C" run --rm --network flagnet demo sh -c 'ip -4 addr show eth0' | grep -q 'inet ' || fail "--network flagnet: no address"
port=$((20000 + $$ % 20000))
"$C" run -d --name web -p 127.0.0.1:$port:80 demo sh -c 'mkdir -p /w && echo port-ok >/w/i && exec httpd -f -p 80 -h /w' >/dev/null ||
	fail "run -p"
cnr_wait_for 10 sh -c "wget -q -O - http://127.0.0.1:$port/i | grep -q port-ok" || fail "-p 127.0.0.1:$port:80: no answer"
"$C" ps | grep web | grep -q "127.0.0.1:$port->80/tcp" || fail "ps does not show the published port: $("$C" ps)"
"$C" rm -f web >/dev/null
"$C" network rm flagnet >/dev/null || fail "network rm flagnet"
# run forwards more than INT/TERM/HUP (Docker's sig-proxy)
for sig in QUIT USR1; do
	"$C" run --rm $N demo sh -c "trap 'exit 9' $sig; echo ready; while :; do sleep 0.1; done" >"$CNR_TMP/sig-$sig.out" &
	cli=$!
	cnr_wait_for 10 grep -q ready "$CNR_TMP/sig-$sig.out" || fail "the $sig container did not start"
	kill -$sig $cli
	wait $cli
	rc=$?
	[ $rc -eq 9 ] || fail "SIG$sig to containr run: exit $rc, want 9 (the container's trap)"
done
# attach: stdin in, output out, the container's exit code
"$C" run -d -i $N --name att demo sh -c 'read x; echo "got $x"; exit 4' >/dev/null || fail "run -d -i"
out=$(echo hello | "$C" attach att)
rc=$?
[ "$out" = "got hello" ] && [ $rc -eq 4 ] || fail "attach: '$out', exit $rc (want 'got hello', 4)"
"$C" rm att >/dev/null
# start -a: attached before the init runs (a container that exits at
# once loses nothing), the exit code is the CLI's, and again right away
"$C" create $N --name sa demo sh -c 'echo run-once; exit 3' >/dev/null || fail "create sa"
for i in 1 2 3; do
	out=$("$C" start -a sa)
	rc=$?
	[ "$out" = run-once ] && [ $rc -eq 3 ] || fail "start -a (round $i): '$out', exit $rc (want run-once, 3)"
done
[ "$("$C" logs sa | grep -c run-once)" -eq 3 ] || fail "start -a: want 3 runs in the log"
"$C" rm sa >/dev/null
"$C" run $N --name ts demo echo stamped >/dev/null || fail "run ts"
"$C" logs --timestamps ts | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z stamped$' || fail "logs --timestamps: $("$C" logs --timestamps ts)"
"$C" rm ts >/dev/null
pass "-h, --privileged, --cpus, --label, kill -s, restart, --mount, tmpfs owner, seccomp=FILE (run, exec), --init, --network host|NAME, -p, signals, attach, start -a"

# ---- --restart on-failure:2 ----
"$C" run -d $N --name rf --restart on-failure:2 demo sh -c 'echo run; exit 3' >/dev/null || fail "run --restart"
cnr_wait_for 20 sh -c "'$C' inspect rf | grep -q '\"RestartCount\": 2'" || fail "restart count did not reach 2"
sleep 1
"$C" inspect rf | grep -q '"RestartCount": 2' || fail "on-failure:2 restarted more than twice"
[ "$("$C" logs rf | grep -c run)" -eq 3 ] || fail "on-failure:2: want 3 runs in the log"
"$C" rm -f rf >/dev/null
pass "--restart on-failure:2 runs 3 times and stops"

# ---- THREATS 28: a destination with .. stays under the container's root ----
rm -rf /cnr-threat28
"$C" run --rm $N --tmpfs /../../cnr-threat28 demo sh -c 'test -d /cnr-threat28 && touch /cnr-threat28/x' ||
	fail "a tmpfs at /../../cnr-threat28 is not at /cnr-threat28 inside"
[ -e /cnr-threat28 ] && fail "a mount destination with .. reached the host's /"
pass "mount destinations with .. are resolved under the container's root (THREATS 28)"

# ---- THREATS 36: SIGKILL the supervisor with containers running ----
for i in 1 2 3; do
	"$C" run -d $N --name keep$i demo sh -c 'while :; do echo alive; sleep 0.2; done' >/dev/null || fail "run keep$i"
done
sup=$(cnr_pid_of supervisor) || fail "no supervisor"
shims_before=$(ls "$CNR_RUN/shims" | sort)
kill -9 "$sup"
supervisor_back() { # OLD_PID
	_n=0
	while [ $_n -lt 200 ]; do
		_p=$(cnr_pid_of supervisor 2>/dev/null)
		if [ -n "$_p" ] && [ "$_p" != "$1" ] && "$C" ps >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		_n=$((_n + 1))
	done
	return 1
}
supervisor_back "$sup" || fail "containrd did not come back after its supervisor was killed"
[ "$("$C" ps -q | wc -l)" -eq 3 ] || fail "after the restart ps shows $("$C" ps -q | wc -l) containers, want 3"
[ "$("$C" ps -aq | wc -l)" -eq 3 ] || fail "duplicate containers after the restart"
[ "$(ls "$CNR_RUN/shims" | sort)" = "$shims_before" ] || fail "shims changed across the restart"
"$C" logs --tail 1 keep1 | grep -q alive || fail "logs after the restart"
[ "$("$C" exec keep2 echo exec-after)" = exec-after ] || fail "exec after the restart"
"$C" stop -t 1 keep1 >/dev/null || fail "stop after the restart"
[ "$("$C" wait keep1)" = 137 ] || fail "wait after the restart"
pass "kill -9 of the supervisor: containers keep running, reconnected; ps/logs/exec/stop/wait work (THREATS 36)"

# ---- user namespaces: tests/integration/userns.sh ----

# ---- THREATS 36, the whole daemon: kill -9 the monitor with 10 containers, start it again ----
for i in 0 1 2 3 4 5 6 7 8 9; do
	"$C" run -d $N --name ten$i demo sh -c "echo before-$i; trap 'exit 0' TERM; while :; do sleep 0.2; done" >/dev/null ||
		fail "run ten$i"
done
cnr_wait_for 10 sh -c "'$C' logs ten9 | grep -q before-9" || fail "ten9 did not start"
mon=$CNR_MONITOR_PID
kill -9 "$mon"
cnr_wait_for 10 sh -c "! kill -0 $mon 2>/dev/null" || fail "the monitor survived kill -9"
cnr_restart
cnr_wait_for 20 sh -c "[ \$('$C' ps -q | grep -c .) -ge 10 ]" || fail "after a restart ps shows $("$C" ps -q | wc -l) running"
for i in 0 1 2 3 4 5 6 7 8 9; do
	"$C" ps | grep -q "ten$i" || fail "ten$i not running after containrd restarted"
	"$C" logs "ten$i" | grep -q "before-$i" || fail "the log of ten$i did not survive the restart"
	[ "$("$C" exec "ten$i" echo "x$i")" = "x$i" ] || fail "exec in ten$i after the restart"
done
"$C" stop -t 5 ten0 ten1 ten2 ten3 ten4 ten5 ten6 ten7 ten8 ten9 >/dev/null || fail "stop after the restart"
for i in 0 1 2 3 4 5 6 7 8 9; do
	[ "$("$C" wait "ten$i")" = 0 ] || fail "ten$i: SIGTERM after the restart did not end it with 0"
done
"$C" rm ten0 ten1 ten2 ten3 ten4 ten5 ten6 ten7 ten8 ten9 >/dev/null || fail "rm after the restart"
pass "kill -9 of containrd (the monitor) with 10 containers: after a restart all run; ps, logs, exec, stop, wait, rm work (THREATS 36)"

# ---- THREATS 37: SIGKILL a shim ----
shim=$("$C" inspect keep2 | sed -n 's/.*"ShimPid": \([0-9]*\).*/\1/p' | head -1)
cpid=$("$C" inspect keep2 | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p' | head -1)
[ -n "$shim" ] && [ "$shim" -gt 0 ] || fail "inspect has no ShimPid"
kill -9 "$shim"
cnr_wait_for 10 sh -c "'$C' ps -a | grep keep2 | grep -q 'Exited (137)'" || fail "keep2 not exited 137 after its shim died"
cnr_wait_for 5 sh -c "! kill -0 $cpid 2>/dev/null" || fail "the container outlived its shim"
[ "$("$C" inspect keep2 | grep -c '"ExitCode": 137')" -eq 1 ] || fail "exit code"
"$C" start keep2 >/dev/null || fail "start after a dead shim (its socket dir was left behind)"
"$C" ps | grep -q keep2 || fail "keep2 not running after start"
"$C" rm -f keep2 >/dev/null || fail "rm after a dead shim"
pass "kill -9 of a shim: its container dies, exited 137 once, can start again, removable (THREATS 37)"

# ---- bind sources survive a restart of containrd (kept by the container's shim) ----
mkdir -p "$CNR_TMP/keepbind"
echo kept-1 >"$CNR_TMP/keepbind/f"
"$C" run -d $N --name bind-run -v "$CNR_TMP/keepbind:/data" demo sh -c 'cat /data/f; exec sleep 1000' >/dev/null ||
	fail "run bind-run"
"$C" run $N --name bind-done -v "$CNR_TMP/keepbind:/data:ro" demo sh -c 'cat /data/f' >/dev/null || fail "run bind-done"
bd=$("$C" inspect bind-done | sed -n 's/.*"Id": "\([0-9a-f]*\)".*/\1/p' | head -1)
[ -S "$CNR_RUN/shims/$bd/sock" ] || fail "the exited bind-done has no shim keeping its bind source"
bdshim=$(pgrep -f "containr-shim --id $bd")
[ -n "$bdshim" ] || fail "no shim process for the exited bind-done"
[ -z "$(cat /proc/"$bdshim"/task/*/children)" ] || fail "the kept shim of bind-done still has processes"
mon=$CNR_MONITOR_PID
kill -9 "$mon" $(cnr_pid_of supervisor)
cnr_wait_for 10 sh -c "! kill -0 $mon 2>/dev/null" || fail "the monitor survived kill -9"
cnr_restart
echo kept-2 >"$CNR_TMP/keepbind/f"
"$C" start bind-done >/dev/null || fail "start of an exited container with a bind after containrd restarted"
[ "$("$C" wait bind-done)" = 0 ] || fail "bind-done: the restarted container failed"
[ "$("$C" logs bind-done | tr '\n' ' ')" = "kept-1 kept-2 " ] || fail "bind-done after the restart: $("$C" logs bind-done)"
"$C" stop -t 1 bind-run >/dev/null || fail "stop bind-run after the restart"
"$C" start bind-run >/dev/null || fail "start of a stopped container with a bind after containrd restarted"
cnr_wait_for 10 sh -c "'$C' logs bind-run | grep -q kept-2" || fail "bind-run does not see the bind after the restart"
"$C" exec bind-run sh -c 'echo from-ctr >/data/w' || fail "bind-run: write to the bind"
[ "$(cat "$CNR_TMP/keepbind/w")" = from-ctr ] || fail "bind-run: the host does not see the write through the bind"
"$C" rm -f bind-run bind-done >/dev/null || fail "rm the bind containers"
cnr_wait_for 10 sh -c "[ ! -e '$CNR_RUN/shims/$bd' ]" || fail "rm left bind-done's shim"
pass "kill -9 of containrd: exited and running containers with binds start again (the shim kept the CLI's source fds)"

# ---- restart policies when containrd starts after a reboot (Docker's rules) ----
shim_of() { "$C" inspect "$1" | sed -n 's/.*"ShimPid": \([0-9]*\).*/\1/p' | head -1; }
state_of() { "$C" inspect "$1" | sed -n 's/.*"Status": "\([a-z]*\)".*/\1/p' | head -1; }
wait_state() { # NAME STATE SECONDS
	_n=0
	while [ "$(state_of "$1")" != "$2" ]; do
		_n=$((_n + 1))
		[ $_n -ge $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}
"$C" run -d $N --name rp-always --restart always demo sleep 1000 >/dev/null || fail "run rp-always"
"$C" run -d $N --name rp-always-stopped --restart always demo sleep 1000 >/dev/null || fail "run rp-always-stopped"
"$C" run -d $N --name rp-unless --restart unless-stopped demo sleep 1000 >/dev/null || fail "run rp-unless"
"$C" run -d $N --name rp-unless-stopped --restart unless-stopped demo sleep 1000 >/dev/null || fail "run rp-unless-stopped"
"$C" run -d $N --name rp-fail --restart on-failure demo sleep 1000 >/dev/null || fail "run rp-fail"
"$C" run -d $N --name rp-fail-stopped --restart on-failure demo sleep 1000 >/dev/null || fail "run rp-fail-stopped"
"$C" run -d $N --name rp-fail-killed --restart on-failure demo sleep 1000 >/dev/null || fail "run rp-fail-killed"
"$C" run -d $N --name rp-no --restart no demo sleep 1000 >/dev/null || fail "run rp-no"
"$C" stop -t 1 rp-always-stopped rp-unless-stopped rp-fail-stopped >/dev/null || fail "stop the user-stopped ones"
"$C" kill rp-fail-killed >/dev/null || fail "kill rp-fail-killed"
"$C" wait rp-fail-killed >/dev/null
sleep 0.5 # a kill is a stop by the operator: on-failure must not bring it back
[ "$(state_of rp-fail-killed)" = exited ] || fail "on-failure restarted a container the operator killed"
shims=""
for c in rp-always rp-unless rp-fail rp-no; do shims="$shims $(shim_of $c)"; done
mon=$CNR_MONITOR_PID
kill -9 "$mon" $(cnr_pid_of supervisor) # the "reboot" takes containrd...
kill -9 $shims 2>/dev/null              # ...every shim and container...
rm -f "$CNR_RUN/containers/boot-id"     # ...and the tmpfs run root
cnr_wait_for 10 sh -c "! kill -0 $mon 2>/dev/null" || fail "the monitor survived kill -9"
cnr_restart
for c in rp-always rp-always-stopped rp-unless rp-fail; do
	wait_state $c running 20 ||
		fail "$c is not running again after the reboot: $("$C" ps -a)"
	pid=$("$C" inspect $c | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p' | head -1)
	[ "$(cat /proc/$pid/comm 2>/dev/null)" = sleep ] || fail "$c: its pid $pid is not the container's sleep"
done
for c in rp-unless-stopped rp-fail-stopped rp-fail-killed rp-no; do
	[ "$(state_of $c)" = exited ] || fail "$c was started again after the reboot: $("$C" ps -a)"
done
"$C" ps -a | grep rp-no | grep -q 'Exited (255)' || fail "rp-no: not exited 255 after the reboot"
# a restart of the supervisor alone is not a start of containrd: a
# stopped `always` stays down
"$C" stop -t 1 rp-always-stopped >/dev/null || fail "stop rp-always-stopped again"
sup=$(cnr_pid_of supervisor)
kill -9 "$sup"
supervisor_back "$sup" || fail "containrd did not come back"
sleep 1
[ "$(state_of rp-always-stopped)" = exited ] || fail "a supervisor restart started a stopped \`always\` container"
[ "$(state_of rp-always)" = running ] || fail "rp-always is not running after a supervisor restart"
"$C" rm -f rp-always rp-always-stopped rp-unless rp-unless-stopped rp-fail rp-fail-stopped rp-fail-killed rp-no >/dev/null ||
	fail "rm the restart-policy containers"
pass "after a reboot: --restart always (even stopped), unless-stopped and on-failure come back; stopped or killed ones and --restart no stay exited"

# ---- THREATS 40: a reboot resets container states ----
"$C" run -d $N --name survivor demo sleep 1000 >/dev/null || fail "run survivor"
spid=$("$C" inspect survivor | sed -n 's/.*"ShimPid": \([0-9]*\).*/\1/p' | head -1)
sup=$(cnr_pid_of supervisor)
kill -9 "$sup"
kill -9 "$spid" 2>/dev/null # the "reboot" takes every process...
rm -f "$CNR_RUN/containers/boot-id" # ...and the tmpfs run root
supervisor_back "$sup" || fail "containrd did not come back"
[ -f "$CNR_RUN/containers/boot-id" ] || fail "no boot id after the restart"
"$C" ps -a | grep survivor | grep -q 'Exited (255)' || fail "survivor not reset after the reboot: $("$C" ps -a)"
pass "a reboot (no boot id in the run root) resets container states (THREATS 40)"

exit 0
