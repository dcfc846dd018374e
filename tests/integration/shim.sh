#!/bin/sh
# The runtime core: containers made by containr-shim, started exactly as
# the monitor starts it (tests/shim-drive), checked from the outside
# (/proc/<pid>/..., cgroup files, the log) and against THREATS.md 1-15,
# 36 and 37.  Each check prints "ok: ..." and the first failure ends the
# suite.
. "$top_srcdir/tests/lib.sh"
cnr_need_root

SHIM=$top_builddir/helpers/containr-shim
DRIVE=$top_builddir/tests/shim-drive
PROBE=$top_builddir/tests/probe
T=$(mktemp -d /tmp/cnr-shim.XXXXXX)
chmod 0755 "$T"
ROOTFS=$T/rootfs
RUN=$T/run
N=0
CG=cnr-test-$$

cleanup() {
	for d in "$RUN"/*; do
		[ -S "$d/sock" ] && "$DRIVE" shutdown "$d" >/dev/null 2>&1
	done
	sleep 0.2
	for h in /sys/fs/cgroup/*/; do
		find "$h" -depth -type d -name "$CG*" -exec rmdir {} \; 2>/dev/null
	done
	[ -n "${NETNS:-}" ] && ip netns del "$NETNS" 2>/dev/null
	[ -z "${CNR_KEEP:-}" ] && rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp" "$RUN"
cp /bin/busybox "$PROBE" "$ROOTFS/bin/" || fail "copy busybox"
chroot "$ROOTFS" /bin/busybox --install -s /bin || fail "busybox --install"
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOTFS/etc/passwd"
chmod 1777 "$ROOTFS/tmp"

# new_id: a fresh container id (12 hex digits) in $ID and its dir in $D.
new_id() {
	N=$((N + 1))
	ID=$(printf 'c0ffee%06x' "$N")
	D=$RUN/$ID
}

# create [shim-drive options] -- ARGS: a container in $ID/$D, init pid in $PID.
create() {
	new_id
	out=$("$DRIVE" create --shim "$SHIM" --id "$ID" --dir "$D" --rootfs "${RFS:-$ROOTFS}" --log "$T/$ID.log" "$@")
	st=$?
	echo "$out" | grep -q '^created ' || return 1
	PID=$(echo "$out" | awk '{print $2}')
	SHIMPID=$(echo "$out" | awk '{print $3}')
	return $st
}

# create_fail PATTERN [options] -- ARGS: creation must fail with PATTERN.
create_fail() {
	pat=$1
	shift
	new_id
	out=$("$DRIVE" create --shim "$SHIM" --id "$ID" --dir "$D" --rootfs "${RFS:-$ROOTFS}" "$@" 2>&1)
	echo "$out" | grep -q '^error: ' || fail "expected a refusal ($pat), got: $out"
	echo "$out" | grep -q -- "$pat" || fail "refused for another reason than '$pat': $out"
	[ -e "$D" ] && fail "the refused shim left $D behind"
	return 0
}

run() { # run [options] -- ARGS: create, start, wait; $CODE and the log in $LOG
	create "$@" || fail "create: $out"
	"$DRIVE" start "$D" >/dev/null || true
	w=$("$DRIVE" wait "$D") || fail "wait: $w"
	CODE=$(echo "$w" | awk '{print $2}')
	OOM=$(echo "$w" | awk '{print $3}')
	LOG=$(sed -n 's/.*"log":"\(.*\)"}$/\1/p' "$T/$ID.log" | sed 's/\\n$//; s/\\t/ /g')
	"$DRIVE" shutdown "$D" >/dev/null || fail "shutdown"
}

gone() { # the shim and its dir are gone
	for _i in $(seq 50); do
		[ ! -e "$D" ] && ! kill -0 "$SHIMPID" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "shim $SHIMPID or $D still there"
}

# ---- a container ---------------------------------------------------------

run --hostname box -- sh -c 'echo hello; hostname; cat /etc/hostname; exit 3'
[ "$CODE" = 3 ] || fail "exit code 3 expected, got $CODE"
[ "$(echo "$LOG" | head -1)" = hello ] || fail "log: $LOG"
[ "$(echo "$LOG" | sed -n 2p)" = box ] || fail "hostname: $LOG"
[ "$(echo "$LOG" | sed -n 3p)" = box ] || fail "/etc/hostname: $LOG"
grep -q '"stream":"stdout"' "$T/$ID.log" && grep -q '"time":"20' "$T/$ID.log" || fail "log format"
gone
pass "exit code, stdout in the JSON log, hostname and /etc/hostname; the shim cleans up"

run -- sh -c 'echo oops >&2; exit 5'
[ "$CODE" = 5 ] || fail "want 5, got $CODE"
grep -q '"stream":"stderr","log":"oops\\n"' "$T/$ID.log" || fail "stderr line: $(cat "$T/$ID.log")"
pass "stderr lines in the log"

# Created and waiting: namespaces, credentials, fds (THREATS 8).
create -- sleep 100 || fail "create: $out"
[ "$("$DRIVE" state "$D" | awk '{print $1}')" = created ] || fail "state created"
for ns in mnt pid uts ipc net; do
	[ "$(readlink /proc/$PID/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ] || fail "$ns namespace shared"
done
"$DRIVE" start "$D" >/dev/null || fail start
sleep 0.2
[ "$("$DRIVE" state "$D" | awk '{print $1}')" = running ] || fail "state running"
[ "$(cnr_status "$PID" CapEff)" = 00000000a80425fb ] || fail "CapEff $(cnr_status "$PID" CapEff)"
[ "$(cnr_status "$PID" CapInh)" = 0000000000000000 ] || fail "CapInh"
[ "$(cnr_status "$PID" CapAmb)" = 0000000000000000 ] || fail "CapAmb"
[ "$(cnr_status "$PID" Seccomp)" = 2 ] || fail "Seccomp"
[ "$(cnr_status "$PID" NoNewPrivs)" = 0 ] || fail "NoNewPrivs"
fds=$(ls /proc/$PID/fd | sort | tr '\n' ' ')
[ "$fds" = "0 1 2 " ] || fail "THREATS 8: init holds fds $fds"
for f in 0 1 2; do
	readlink /proc/$PID/fd/$f | grep -q '^pipe:' || fail "fd $f is $(readlink /proc/$PID/fd/$f)"
done
pass "new mnt/pid/uts/ipc/net namespaces, Docker's default caps, Seccomp 2 (THREATS 8: init holds only 0-2, pipes)"

# exec: fds, caps, cwd, uid (THREATS 8, 11, 12)
x=$("$DRIVE" exec "$D" -- /bin/probe fds) || fail "exec: $x"
[ "$(echo "$x" | grep -cv '^\(pid\|exited\)')" = 3 ] || fail "THREATS 8: exec'd process fds: $x"
pass "THREATS 8: an exec'd process holds only 0-2"
before=$(stat -c '%u:%g %a' /dev/null)
x=$("$DRIVE" exec "$D" --user 1000:1000 --stdio-null -- sh -c 'id -u > /tmp/id; cat /proc/self/status > /tmp/st') ||
	fail "exec as 1000: $x"
[ "$(stat -c '%u:%g %a' /dev/null)" = "$before" ] || fail "THREATS 11: host /dev/null now $(stat -c '%u:%g %a' /dev/null)"
[ "$(cat "$ROOTFS/tmp/id")" = 1000 ] || fail "exec uid: $(cat "$ROOTFS/tmp/id")"
pass "THREATS 11: exec as uid 1000 with stdio /dev/null leaves the host's /dev/null root:root 0666"
x=$("$DRIVE" exec "$D" --ambient 12 --stdio-null -- sh -c 'cat /proc/self/status > /tmp/st')
grep -q 'CapInh:.0000000000001000' "$ROOTFS/tmp/st" && grep -q 'CapAmb:.0000000000001000' "$ROOTFS/tmp/st" ||
	fail "asked-for ambient NET_ADMIN: $(grep Cap "$ROOTFS/tmp/st")"
x=$("$DRIVE" exec "$D" --stdio-null -- sh -c 'cat /proc/self/status > /tmp/st')
grep -q 'CapInh:.0000000000000000' "$ROOTFS/tmp/st" && grep -q 'CapAmb:.0000000000000000' "$ROOTFS/tmp/st" ||
	fail "THREATS 12: exec caps: $(grep Cap "$ROOTFS/tmp/st")"
pass "THREATS 12: exec'd processes get an empty inheritable and ambient set unless asked"
for n in 3 4 5 10 20; do
	x=$("$DRIVE" exec "$D" --cwd /proc/self/fd/$n -- true)
	echo "$x" | grep -q 'error: .*\(breakout\|fd\)' || fail "THREATS 7: exec cwd /proc/self/fd/$n: $x"
done
pass "THREATS 7: exec with cwd /proc/self/fd/N refused"

# THREATS 9: the shim runs from a sealed copy; nothing can write it.
exe=$(readlink /proc/$SHIMPID/exe)
case $exe in /memfd:containr-shim*) ;; *) fail "THREATS 9: the shim runs from $exe" ;; esac
sum=$(md5sum <"$SHIM")
w=$("$PROBE" writeexe /proc/$SHIMPID/exe)
[ "$w" != written ] || fail "THREATS 9: the shim's exe is writable"
x=$("$DRIVE" exec "$D" -- sh -c 'for p in /proc/[0-9]*; do probe writeexe $p/exe; done')
echo "$x" | grep -q written && fail "THREATS 9: a container process wrote an exe: $x"
[ "$(md5sum <"$SHIM")" = "$sum" ] || fail "THREATS 9: the shim binary changed"
pass "THREATS 9: /proc/<shim>/exe is a sealed memfd ($w), container processes cannot write any exe"

# kill and wait; a second waiter (reconnected) gets the same status
"$DRIVE" kill "$D" 9 >/dev/null || fail kill
w=$("$DRIVE" wait "$D")
[ "$w" = "exited 137 oom=0" ] || fail "wait after kill: $w"
[ "$("$DRIVE" wait "$D")" = "exited 137 oom=0" ] || fail "second wait"
[ "$("$DRIVE" state "$D" | awk '{print $1, $3}')" = "stopped 137" ] || fail "state stopped"
"$DRIVE" shutdown "$D" >/dev/null
gone
pass "kill: SIGKILL -> 137, wait twice, state stopped"

# THREATS 8 during an exec: its process is in the container's pid
# namespace from clone3 until execve, and a container process with
# CAP_SYS_PTRACE (no user namespace) may open /proc/<pid>/fd/N of it,
# non-dumpable or not.  A racer in the container (probe fdrace) opens
# every fd of each new process and walks `..` from the directories: none
# may lead out of the rootfs (the shim's socket and private dirs, a bind
# source it keeps, were reachable in that window).
mkdir -p "$T/racevol"
rm -f "$ROOTFS/tmp/stop-race"
create --caps 0xa80c25fb --mount "/data=$T/racevol" -- probe fdrace /tmp/stop-race || fail "create: $out"
RD=$D
"$DRIVE" start "$RD" >/dev/null || fail start
for _i in $(seq 100); do
	"$DRIVE" exec "$RD" --stdio-null -- true >/dev/null || fail "exec during the race"
done
"$DRIVE" exec "$RD" --stdio-null -- touch /tmp/stop-race >/dev/null
w=$("$DRIVE" wait "$RD") || fail "wait: $w"
race=$(sed -n 's/.*"log":"\(.*\)"}$/\1/p' "$T/$ID.log" | sed 's/\\n$//')
"$DRIVE" shutdown "$RD" >/dev/null
echo "$race" | grep -q '^dirs=0 seen=' || fail "THREATS 8: a container process reached the host through an exec's fds: $race"
pass "THREATS 8: an exec's process holds none of the shim's fds while in the container's pid namespace ($race)"

# ---- security options -----------------------------------------------------

run --nnp -- sh -c 'grep NoNewPrivs /proc/self/status'
echo "$LOG" | grep -q 'NoNewPrivs: 1' || fail "no_new_privs: $LOG"
pass "no_new_privs when asked"

run -- probe clone3
[ "$LOG" = ENOSYS ] || fail "THREATS 13: clone3 under the default profile: $LOG"
run -- probe unshare
[ "$LOG" = EPERM ] || fail "unshare under the default profile: $LOG"
run --seccomp unconfined -- sh -c 'grep ^Seccomp: /proc/self/status; probe clone3'
echo "$LOG" | grep -q 'Seccomp: 0' && echo "$LOG" | grep -q EINVAL || fail "unconfined: $LOG"
cat >"$T/profile.json" <<'EOF'
{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}
EOF
run --seccomp "$T/profile.json" -- sh -c 'mkdir /tmp/x 2>&1; echo rc=$?'
echo "$LOG" | grep -q 'Permission denied' || fail "custom profile: $LOG"
cat >"$T/old.json" <<'EOF'
{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write","close","exit","exit_group","execve","brk","mmap","munmap","mprotect","arch_prctl","set_tid_address","rt_sigaction","rt_sigprocmask","getpid","uname","readlink","prlimit64","fcntl","capget","capset","setgroups","setresuid","setresgid","prctl","openat","fchdir","newfstatat","getuid","set_robust_list","rseq","futex","getrandom","ioctl","fstat","rt_sigreturn","getppid","getcwd","geteuid","stat","lseek"],"action":"SCMP_ACT_ALLOW"}]}
EOF
run --seccomp "$T/old.json" -- probe clone3
[ "$LOG" = ENOSYS ] || fail "THREATS 13: clone3 under a profile that predates it: $LOG"
pass "THREATS 13: seccomp default (clone3 ENOSYS, unshare EPERM), unconfined, Docker-format profiles (newer syscalls ENOSYS)"

run --caps 0x1 -- sh -c 'grep ^Cap /proc/self/status'
echo "$LOG" | grep -q 'CapBnd: 0000000000000001' && echo "$LOG" | grep -q 'CapEff: 0000000000000001' ||
	fail "capability set: $LOG"
run --user 1000:1000:10,20 -- sh -c 'id'
[ "$LOG" = "uid=1000 gid=1000 groups=10,20" ] || fail "user: $LOG"
pass "capability sets and user/groups as the spec says"

run --readonly -- sh -c 'touch /x 2>&1; echo rc=$?; touch /dev/shm/x && echo shm-ok'
echo "$LOG" | grep -q 'Read-only' && echo "$LOG" | grep -q shm-ok || fail "readonly rootfs: $LOG"
mkdir -p "$T/vol"
echo data >"$T/vol/f"
run --mount /data/in=$T/vol --hosts '10.0.0.1 db' -- sh -c 'cat /data/in/f; cat /etc/hosts'
echo "$LOG" | grep -q '^data$' && echo "$LOG" | grep -q '10.0.0.1 db' || fail "bind mount / hosts: $LOG"
pass "read-only rootfs, a bind mount from a detached mount fd, /etc/hosts"

# A network namespace handed over as an fd (netd's) is never the host's:
# the shim, host root, writes the spec's net.* sysctls in it (and, under
# --userns, its defaults, ip_unprivileged_port_start 0 among them) and
# mounts its sysfs.  A namespace of our own takes them.
NETNS=cnr-shimt-$$
ip netns add "$NETNS" || fail "ip netns add $NETNS"
port0=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
create_fail "host's network namespace" --netns /proc/self/ns/net \
	--sysctl net.ipv4.ip_unprivileged_port_start="$port0" -- true
create_fail "host's network namespace" --userns --netns /proc/self/ns/net -- true
now=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
if [ "$now" != "$port0" ]; then
	echo "$port0" >/proc/sys/net/ipv4/ip_unprivileged_port_start
	fail "the host's ip_unprivileged_port_start went from $port0 to $now"
fi
run --netns "/run/netns/$NETNS" --sysctl net.ipv4.ip_unprivileged_port_start=1000 -- true
[ "$(ip netns exec "$NETNS" cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" = 1000 ] ||
	fail "a sysctl in the container's network namespace"
run --userns --snapshot-root "$T" --netns "/run/netns/$NETNS" -- true
[ "$CODE" = 0 ] || fail "a --userns container in a network namespace of its own: exit $CODE: $LOG"
[ "$(ip netns exec "$NETNS" cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" = 0 ] ||
	fail "the shim's default sysctls in the container's network namespace"
chown 0:0 "$ROOTFS" # the shim gave the rootfs's root to the container's root
pass "a network namespace fd: the host's refused (sysctls untouched), one of its own takes them"

# Under --userns the shim, host root, gives the rootfs's root and each
# volume's root to the host ids their owner maps to.  Those fds are the
# supervisor's: only an overlay or a directory below the snapshot root
# (the monitor's --snapshot-root) is changed, never another of the host's.
OUT=$(mktemp -d /tmp/cnr-shim-out.XXXXXX)
mkdir -p "$T/snaps" "$T/vol-in"
create_fail "no snapshot root was given" --userns -- true
create_fail "not below the snapshot root" --userns --snapshot-root "$T/snaps" -- true
[ "$(stat -c %u:%g "$ROOTFS")" = 0:0 ] || fail "a rootfs outside the snapshot root was given away"
create_fail "not below the snapshot root" --userns --snapshot-root "$T" --volume "/data=$OUT" -- true
own=$(stat -c %u:%g "$OUT")
rmdir "$OUT"
[ "$own" = 0:0 ] || fail "a volume outside the snapshot root was given to $own"
run --userns --snapshot-root "$T" --volume "/vtest=$T/vol-in" -- sh -c 'touch /vtest/x && echo wrote'
[ "$LOG" = wrote ] || fail "a volume below the snapshot root: $LOG"
[ "$(stat -c %u:%g "$T/vol-in")" = 100000:100000 ] || fail "the volume's root is $(stat -c %u:%g "$T/vol-in")"
chown 0:0 "$ROOTFS"
pass "--userns: the roots given to the container's ids only below the snapshot root (or an overlay's)"

run --terminal -- sh -c 'tty; stty size'
echo "$LOG" | grep -q '^/dev/pts/0' || fail "terminal: $LOG"
pass "terminal: the init's tty is /dev/pts/0 of the container's own devpts"

run -- sh -c 'cat /proc/kcore 2>&1 | wc -c; echo 1 > /proc/sys/kernel/domainname 2>&1 || echo ro-ok; ls /sys/firmware | wc -l'
[ "$(echo "$LOG" | sed -n 1p)" = 0 ] || [ ! -e /proc/kcore ] || fail "masked /proc/kcore: $LOG"
echo "$LOG" | grep -q ro-ok || fail "/proc/sys writable: $LOG"
pass "masked and read-only paths"

# ---- cgroups ---------------------------------------------------------------

create --cgroup "$CG-a" --memory 67108864 --pids 20 --cpu-quota 50000 --cpu-shares 512 -- sleep 100 ||
	fail "create with limits: $out"
"$DRIVE" start "$D" >/dev/null
for c in memory pids cpu; do
	p=$(awk -F: -v c="$c" '$2 ~ "(^|,)"c"(,|$)" {print $3}' /proc/$PID/cgroup)
	case $p in */"$CG-a") ;; *) fail "init not in its $c cgroup: $p" ;; esac
done
mem=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/$PID/cgroup)
pids=$(awk -F: '$2 ~ /(^|,)pids(,|$)/ {print $3}' /proc/$PID/cgroup)
cpu=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' /proc/$PID/cgroup)
if [ -f /sys/fs/cgroup/memory$mem/memory.limit_in_bytes ]; then
	[ "$(cat /sys/fs/cgroup/memory$mem/memory.limit_in_bytes)" = 67108864 ] || fail "memory limit"
	[ "$(cat /sys/fs/cgroup/pids$pids/pids.max)" = 20 ] || fail "pids.max"
	[ "$(cat /sys/fs/cgroup/cpu$cpu/cpu.cfs_quota_us)" = 50000 ] || fail "cfs quota"
	[ "$(cat /sys/fs/cgroup/cpu$cpu/cpu.shares)" = 512 ] || fail "shares"
	pass "cgroup v1 limits in the files: memory, pids, cpu quota and shares"
else
	m2=$(awk -F: '$1 == 0 {print $3}' /proc/$PID/cgroup)
	[ "$(cat /sys/fs/cgroup$m2/memory.max)" = 67108864 ] || fail "memory.max"
	[ "$(cat /sys/fs/cgroup$m2/pids.max)" = 20 ] || fail "pids.max"
	[ "$(cat /sys/fs/cgroup$m2/cpu.max)" = "50000 100000" ] || fail "cpu.max"
	pass "cgroup v2 limits in the files"
fi
x=$("$DRIVE" exec "$D" -- sh -c 'cat /proc/self/cgroup')
echo "$x" | grep -q ':/$' || fail "cgroup namespace: $x"
pass "the container sees its cgroup as / (cgroup namespace)"
"$DRIVE" shutdown "$D" >/dev/null
gone
for h in /sys/fs/cgroup/*/; do
	[ -z "$(find "$h" -maxdepth 3 -type d -name "$CG-a" 2>/dev/null)" ] || fail "cgroup left in $h"
done
pass "shutdown removes the cgroups"

run --cgroup "$CG-b" --pids 10 -- sh -c 'for i in $(seq 30); do sleep 5 & done; echo all-forked'
echo "$LOG" | grep -q "can't fork" && ! echo "$LOG" | grep -q all-forked || fail "pids limit not enforced: $LOG"
pass "pids limit enforced: fork fails"

run --cgroup "$CG-c" --memory 33554432 -- sh -c 'a=x; while :; do a="$a$a"; done'
[ "$CODE" = 137 ] && [ "$OOM" = oom=1 ] || fail "memory limit: exit $CODE $OOM"
pass "memory limit: OOM kill -> exit 137 with OOMKilled"

create_fail "cgroup path" --cgroup ../../evil -- true
create_fail "cgroup path" --cgroup /abs -- true
pass "THREATS 14: cgroup path ../../evil (and absolute) refused"

# ---- THREATS 1-7, 15 -------------------------------------------------------

bad() { # bad NAME: a copy of the rootfs to break
	RFS=$T/bad-$1
	rm -rf "$RFS"
	cp -a "$ROOTFS" "$RFS"
}
mkdir -p "$T/bad-proc-target"
bad proc
rm -rf "$RFS/proc"
ln -s /bad-proc "$RFS/proc"
create_fail "must be mounted on ordinary directory" -- true
pass "THREATS 1: rootfs /proc a symlink refused"
bad sys
rm -rf "$RFS/sys"
ln -s /bad-sys "$RFS/sys"
create_fail "must be mounted on ordinary directory" -- true
pass "THREATS 2: rootfs /sys a symlink refused"
core=$(cat /proc/sys/kernel/core_pattern)
bad devnull
mkdir -p "$RFS/dev"
ln -s /proc/sys/kernel/core_pattern "$RFS/dev/null"
create_fail "/dev/null" -- true
: >"$RFS/dev/null.f"
rm "$RFS/dev/null"
mv "$RFS/dev/null.f" "$RFS/dev/null"
create_fail "/dev/null" -- true
[ "$(cat /proc/sys/kernel/core_pattern)" = "$core" ] || fail "THREATS 3: core_pattern changed"
pass "THREATS 3: rootfs /dev/null a symlink or a file refused; core_pattern unchanged"
bad dev
rm -rf "$RFS/dev"
mkdir -p "$T/hostdev"
ln -s "$T/hostdev" "$RFS/dev"
create_fail "must be mounted on ordinary directory" -- true
[ -z "$(ls -A "$T/hostdev")" ] || fail "THREATS 4: files created in $T/hostdev"
pass "THREATS 4: rootfs /dev a symlink refused; nothing created on the host"
RFS=
create_fail "under /proc" --mount /proc/sys/kernel=$T/vol -- true
create_fail "under /proc" --mount /proc=$T/vol -- true
pass "THREATS 6: mounts under /proc (and over /proc) refused"
for n in 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	# refused when the spec is read; were it not, start would refuse it
	create_fail "breakout" --cwd /proc/self/fd/$n -- true
done
create --cwd /proc/1/cwd -- true || fail "create: $out"
x=$("$DRIVE" start "$D")
echo "$x" | grep -q 'magic link' || fail "THREATS 7: cwd /proc/1/cwd: $x"
"$DRIVE" shutdown "$D" >/dev/null
pass "THREATS 7: cwd /proc/self/fd/3..20 refused"
for u in 2147483648 4294967295 -1; do
	create_fail "out of range" --user "$u:0" -- true
	create_fail "out of range" --user "0:$u" -- true
done
pass "THREATS 15: users and groups 2147483648, 4294967295, -1 refused"

# THREATS 5: a racer swaps a component of the destination between a
# directory and a symlink to a host-looking path; the mount must always
# land inside the rootfs.  A creation costs ~40 ms here: make check runs
# 200 (about 8 s) with the racer throughout; CNR_RACE_ITER=1000 runs the
# count THREATS.md names (about 40 s).
mkdir -p "$ROOTFS/vol" "$T/escape"
race() {
	while [ -e "$T/racing" ]; do
		rm -rf "$ROOTFS/vol/a" 2>/dev/null
		mkdir -p "$ROOTFS/vol/a/b" 2>/dev/null
		rm -rf "$ROOTFS/vol/a" 2>/dev/null
		ln -s "$T/escape" "$ROOTFS/vol/a" 2>/dev/null
	done
}
touch "$T/racing"
race &
RACER=$!
i=0
while [ $i -lt "${CNR_RACE_ITER:-200}" ]; do
	new_id
	"$DRIVE" create --shim "$SHIM" --id "$ID" --dir "$D" --rootfs "$ROOTFS" --mount /vol/a/b=$T/vol -- true \
		>/dev/null 2>&1 && "$DRIVE" shutdown "$D" >/dev/null 2>&1
	[ -z "$(ls -A "$T/escape")" ] || break
	i=$((i + 1))
done
rm -f "$T/racing"
wait $RACER
[ -z "$(ls -A "$T/escape")" ] || fail "THREATS 5: something landed in $T/escape"
grep -q "$T/escape" /proc/self/mountinfo && fail "THREATS 5: a mount on the host"
rm -rf "$ROOTFS/vol"
pass "THREATS 5: $i creations against a symlink-swapping racer: no mount outside the rootfs"

# ---- THREATS 36 and 37 ------------------------------------------------------

create -- sleep 100 || fail "create: $out"
"$DRIVE" start "$D" >/dev/null
mntns=$(readlink /proc/$PID/ns/mnt)
# Every process in the container's mount namespace, as pid:starttime (a
# namespace's inode number can be reused by a new namespace of a test
# running in parallel once this one is gone, so judge by the processes).
members() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mntns" ] &&
			echo "${p#/proc/}:$(awk '{print $22}' "$p/stat" 2>/dev/null)"
	done
}
before=$(members)
[ -n "$before" ] || fail "THREATS 37: no process found in the container's mount ns"
kill -9 "$SHIMPID"
for _i in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "THREATS 37: the init outlived its shim"
# The kernel kills the rest of the pid namespace asynchronously once its
# init is gone: give the stragglers a moment before judging.
survivors() {
	for m in $before; do
		p=${m%%:*}
		[ "$p:$(awk '{print $22}' /proc/"$p"/stat 2>/dev/null)" = "$m" ] && echo "$p"
	done
}
for _i in $(seq 50); do [ -z "$(survivors)" ] && break; sleep 0.1; done
left=$(survivors)
[ -z "$left" ] || fail "THREATS 37: $left still alive in the container's mount ns"
rm -rf "$D"
pass "THREATS 37: kill -9 the shim -> the container dies and its mount namespace (rootfs) goes"

# The shim is not the child of whoever started it: it survives it.
create -- sleep 100 || fail "create: $out"
[ "$(awk '{print $4}' /proc/$SHIMPID/stat)" != "$$" ] || fail "the shim is our child"
[ "$(awk '{print $6}' /proc/$SHIMPID/stat)" = "$SHIMPID" ] || fail "the shim leads no session of its own"
"$DRIVE" start "$D" >/dev/null
x=$("$DRIVE" state "$D")
[ "$(echo "$x" | awk '{print $1, $2}')" = "running $PID" ] || fail "reconnect: $x"
"$DRIVE" shutdown "$D" >/dev/null
gone
pass "THREATS 36: the shim is detached (own session, not the spawner's child) and reconnectable by its socket"
