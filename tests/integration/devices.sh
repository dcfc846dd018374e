#!/bin/sh
# The cgroup v2 device filter (helpers/shim/devices.c), checked from the
# outside: the kernel's verdicts for a process in a cgroup2 directory with
# the program attached (tests/devcg), the program on a real container's
# cgroup2 directory, and a container on a host that shows the shim only
# its cgroup2 mount (pure v2: the program is then the only device
# control), a refused program's error (the verifier's log), and
# `containr run --device` end to end.  Each check prints "ok: ..."; the
# first failure ends the suite.
. "$top_srcdir/tests/lib.sh"
cnr_need_root

SHIM=$top_builddir/helpers/containr-shim
DRIVE=$top_builddir/tests/shim-drive
DEVCG=$top_builddir/tests/devcg
T=$(mktemp -d /tmp/cnr-devices.XXXXXX)
chmod 0755 "$T"
ROOTFS=$T/rootfs
RUN=$T/run
CG=cnr-devices-$$

# The cgroup2 mount, from mountinfo (the field after " - " is the type).
V2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
	/proc/self/mountinfo)
if [ -z "$V2" ]; then
	echo "SKIP: $0: no cgroup2 mount on this host (device programs attach to cgroup2 directories only)"
	exit 77
fi

cleanup() {
	for d in "$RUN"/*; do
		[ -S "$d/sock" ] && "$DRIVE" shutdown "$d" >/dev/null 2>&1
	done
	sleep 0.2
	for h in /sys/fs/cgroup/*/ "$V2/"; do
		find "$h" -depth -type d -name "$CG*" -exec rmdir {} \; 2>/dev/null
	done
	[ -z "${CNR_KEEP:-}" ] && rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp" "$RUN"
cp /bin/busybox "$ROOTFS/bin/" || fail "copy busybox"
chroot "$ROOTFS" /bin/busybox --install -s /bin || fail "busybox --install"
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOTFS/etc/passwd"
chmod 1777 "$ROOTFS/tmp"

# ---- the program on a cgroup of our own -----------------------------------

# Denied nodes of our own making: a disk (block 8:0) and /dev/mem (char 1:1).
mknod "$T/sda" b 8 0 && mknod "$T/mem" c 1 1 || fail "mknod outside any filter"
out=$("$DEVCG" open "$T/sda" "$T/mem")
if echo "$out" | grep -q EPERM; then
	echo "SKIP: $0: this test's own cgroup already refuses block 8:0 or char 1:1 ($out), so a refusal would prove nothing"
	exit 77
fi

x=$("$DEVCG" badload)
echo "$x" | head -1 | grep -q '^error: EINVAL: cgroup v2 device filter: BPF_PROG_LOAD (verifier log: ' &&
	echo "$x" | grep -q 'loop\|back-edge' || fail "a refused program's error: $x"
pass "a program the verifier refuses: the error carries the verifier's log"

mkdir "$V2/$CG" || fail "mkdir $V2/$CG"
x=$("$DEVCG" attach "$V2/$CG") || fail "attach: $x"
q=$("$DEVCG" query "$V2/$CG") || fail "query: $q"
[ "$(echo "$q" | head -1)" = "attached 1" ] && echo "$q" | grep -q '^prog [0-9]* cnr_devices ' ||
	fail "query after attach: $q"
echo "$x" | sed 's/^attached load_us=\(.*\)/(BPF_PROG_LOAD took \1 us)/'
# In a sub-cgroup too: BPF_F_ALLOW_MULTI programs apply to descendants.
mkdir "$V2/$CG/sub" || fail "mkdir sub"
for where in "$CG" "$CG/sub"; do
	out=$(sh -c 'echo $$ >"$1/cgroup.procs" || exit 1
		mknod "$2/sda2" b 8 0 && echo mknod-block-ok
		mknod "$2/mem2" c 1 1 && echo mknod-char-ok
		rm -f "$2/sda2" "$2/mem2"
		exec "$3" open "$2/sda" "$2/mem" /dev/null /dev/zero /dev/full /dev/random /dev/urandom' \
		sh "$V2/$where" "$T" "$DEVCG") || fail "run in $where: $out"
	for want in mknod-block-ok mknod-char-ok "$T/sda EPERM" "$T/mem EPERM" "/dev/null ok" "/dev/zero ok" \
		"/dev/full ok" "/dev/random ok" "/dev/urandom ok"; do
		echo "$out" | grep -qx "$want" || fail "in $where: want '$want', got: $out"
	done
	out=$(sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" pty' sh "$V2/$where" "$DEVCG") || fail "pty: $out"
	[ "$(echo "$out" | tr '\n' ' ')" = "ptmx ok pts ok tty ok " ] || fail "in $where: /dev/ptmx, /dev/pts/N, /dev/tty: $out"
done
pass "in a cgroup2 directory with the program (and below it): mknod allowed, block 8:0 and char 1:1 EPERM; null, zero, full, random, urandom, ptmx, pts, tty open"
rmdir "$V2/$CG/sub" "$V2/$CG" || fail "rmdir the test cgroups"

# ---- a container made by the shim ----------------------------------------

N=0
create() { # create [shim-drive options] -- ARGS: $ID, $D, $PID
	N=$((N + 1))
	ID=$(printf 'dec0de%06x' "$N")
	D=$RUN/$ID
	out=$("$DRIVE" create --shim "$SHIM" --id "$ID" --dir "$D" --rootfs "$ROOTFS" "$@")
	echo "$out" | grep -q '^created ' || return 1
	PID=$(echo "$out" | awk '{print $2}')
}

# in_container: the container's verdicts on a disk node and on /dev/null
in_container() {
	"$DRIVE" exec "$D" -- sh -c 'mknod /tmp/sda b 8 0 && echo mknod-ok; head -c1 /tmp/sda 2>&1
		rm -f /tmp/sda; cat /dev/null && echo null-ok
		head -c 3 /dev/urandom | wc -c'
}

check_container() { # WHAT
	path=$(awk -F: '$1 == 0 {print $3}' /proc/$PID/cgroup)
	case $path in */"$CG"-*) ;; *) fail "$1: the init is not in its cgroup2 directory: $path" ;; esac
	q=$("$DEVCG" query "$V2$path") || fail "$1: query: $q"
	[ "$(echo "$q" | head -1)" = "attached 1" ] && echo "$q" | grep -q '^prog [0-9]* cnr_devices ' ||
		fail "$1: programs on $V2$path: $q"
	x=$(in_container)
	echo "$x" | grep -q '^mknod-ok$' || fail "$1: mknod in the container: $x"
	echo "$x" | grep -q '/tmp/sda.*Operation not permitted' || fail "$1: block 8:0 not refused: $x"
	echo "$x" | grep -q '^null-ok$' && echo "$x" | grep -q '^ *3$' || fail "$1: /dev/null, /dev/urandom: $x"
}

create --cgroup "$CG-a" -- sleep 100 || fail "create: $out"
"$DRIVE" start "$D" >/dev/null || fail start
check_container "hybrid host"
"$DRIVE" shutdown "$D" >/dev/null || fail shutdown
for _i in $(seq 100); do # the shim removes it on its way out
	[ -d "$V2$path" ] || break
	sleep 0.1
done
[ ! -d "$V2$path" ] || fail "the container's cgroup2 directory outlived its shim"
pass "a container's cgroup2 directory carries the device program (BPF_PROG_QUERY); inside, mknod works, a disk node does not open, /dev/null and /dev/urandom do"

# Pure v2: the shim sees the cgroup2 mount only (v1 hierarchies unmounted
# in a mount namespace of the test's), so no v1 devices list exists for
# the container and the program alone must refuse the disk.
nv1=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup") print $5; break } }' /proc/self/mountinfo)
out=$(unshare -m --propagation private sh -c '
	for m in $1; do umount "$m" || exit 1; done
	grep -q " - cgroup " /proc/self/mountinfo && { echo "error: v1 still mounted"; exit 1; }
	shift
	exec "$@"' sh "$nv1" "$DRIVE" create --shim "$SHIM" --id dec0de0000ff --dir "$RUN/dec0de0000ff" \
	--rootfs "$ROOTFS" --cgroup "$CG-v2" -- sleep 100)
echo "$out" | grep -q '^created ' || fail "create with only cgroup2 visible: $out"
D=$RUN/dec0de0000ff
PID=$(echo "$out" | awk '{print $2}')
"$DRIVE" start "$D" >/dev/null || fail start
dev=$(awk -F: '$2 == "devices" {print $3}' /proc/$PID/cgroup)
case $dev in *"$CG"*) fail "pure v2: the init is in a v1 devices cgroup of its own ($dev)" ;; esac
check_container "pure v2"
"$DRIVE" shutdown "$D" >/dev/null || fail shutdown
pass "pure v2 (the v1 hierarchies unmounted in the shim's mount namespace): no v1 device list, the program alone refuses the disk node"

# ---- --device through containr run ---------------------------------------

. "$top_srcdir/tests/images.sh"
cnr_need_busybox
cnr_start
trap 'for _c in $("$CONTAINR" ps -aq 2>/dev/null); do "$CONTAINR" rm -f "$_c" >/dev/null 2>&1; done; cnr_stop; cleanup' EXIT
cnr_busybox_image demo >/dev/null || fail "import the busybox image"
C="$CONTAINR run --rm --network none"

# /dev/kmsg (char 1:11) opened for writing: nothing is written, and the
# open needs no capability, so the device cgroup alone decides.
x=$($C demo sh -c 'mknod /tmp/k c 1 11 && exec 3>/tmp/k && echo open-ok' 2>&1)
echo "$x" | grep -q 'Operation not permitted' || fail "char 1:11 opened without --device: $x"
x=$($C --device /dev/kmsg:/dev/hostkmsg:w demo sh -c 'exec 3>/dev/hostkmsg && echo open-ok' 2>&1)
[ "$x" = open-ok ] || fail "--device /dev/kmsg:/dev/hostkmsg:w: $x"
x=$($C --device /dev/kmsg:r demo sh -c 'ls -l /dev/kmsg; exec 3>/dev/kmsg && echo open-ok' 2>&1)
echo "$x" | grep -q '^c.* 1, *11 .*/dev/kmsg$' || fail "--device /dev/kmsg:r: no node at /dev/kmsg: $x"
echo "$x" | grep -q 'Operation not permitted' || fail "--device /dev/kmsg:r let the container write: $x"
pass "--device HOST[:CONTAINER][:PERMS]: the host node appears at CONTAINER and opens as PERMS allow (char 1:11 refused without it, writable with w, not with r)"

id=$("$CONTAINR" run -d --network none --device /dev/kmsg:/dev/k:w demo sleep 100) || fail "run -d --device: $id"
pid=$("$CONTAINR" inspect "$id" | jq -r '.[0].State.Pid')
path=$(awk -F: '$1 == 0 {print $3}' /proc/$pid/cgroup)
q=$("$DEVCG" query "$V2$path") || fail "query: $q"
[ "$(echo "$q" | head -1)" = "attached 1" ] || fail "containr run: programs on $V2$path: $q"
dev=$(awk -F: '$2 == "devices" {print $3}' /proc/$pid/cgroup)
grep -qx 'c 1:11 w' "/sys/fs/cgroup/devices$dev/devices.list" 2>/dev/null || [ ! -d /sys/fs/cgroup/devices ] ||
	fail "v1 devices.list of $dev: $(cat "/sys/fs/cgroup/devices$dev/devices.list")"
[ "$("$CONTAINR" inspect "$id" | jq -c '.[0].HostConfig.Devices')" = \
	'[{"PathOnHost":"/dev/kmsg","PathInContainer":"/dev/k","CgroupPermissions":"w"}]' ] ||
	fail "inspect Devices: $("$CONTAINR" inspect "$id" | jq -c '.[0].HostConfig.Devices')"
"$CONTAINR" rm -f "$id" >/dev/null || fail "rm -f"
pass "containr run: the device program on the container's cgroup2 directory, c 1:11 w in the v1 list, inspect HostConfig.Devices"

for bad in /etc/passwd relative/path /dev/null:/x:rwx /dev/null:/a:/b:rwm; do
	x=$("$CONTAINR" create --network none --device "$bad" demo true 2>&1) && fail "--device $bad accepted: $x"
done
x=$("$CONTAINR" create --network none --device /etc/passwd demo true 2>&1)
echo "$x" | grep -q 'not a character or block device' || fail "--device /etc/passwd: $x"
x=$("$CONTAINR" create --network none -v /dev/kmsg:/dev/kmsg demo true 2>&1) && fail "-v of a device accepted: $x"
echo "$x" | grep -q -- '--device' || fail "-v /dev/kmsg: $x"
pass "--device refuses a regular file, a relative path, bad permissions and extra fields; -v refuses a device node"
