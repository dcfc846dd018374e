#!/bin/sh
# User namespaces (--userns auto|UID:GID:COUNT, issue 4), checked from
# outside: the maps of the init, image files owned by the container's root
# (mountd's idmapped layers), what the container writes stored with the
# mapped host ids, the default bridge network and -p under a user
# namespace (the shim clones the init inside netd's namespace), a
# read-only /sys of that namespace, exec, nothing left after rm; the
# refusals of THREATS 15 and the monitor's own map check.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/netlib.sh"
cnr_need_root
cnr_need_busybox
net_need_tools

C=$CONTAINR
N="--network none"
PORT=$(net_free_port)

cleanup() {
	if [ -n "$CNR_MONITOR_PID" ]; then
		for _c in $("$C" ps -aq 2>/dev/null); do "$C" rm -f "$_c" >/dev/null 2>&1; done
	fi
	cnr_stop
}

cnr_start
trap cleanup EXIT
cnr_busybox_image demo >/dev/null || fail "import the busybox image"

pid_of() { "$C" inspect "$1" | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p' | head -1; }
# the file NAME in the upper dir of a container (under containrd's root)
# (a container started with -d may not have written it yet: up to 30 s)
upper_file() { # PATH-SUFFIX
	_i=0
	while [ $_i -lt 150 ]; do
		_f=$(find "$CNR_ROOT" -path "*/fs$1" 2>/dev/null | head -1)
		[ -n "$_f" ] && break
		sleep 0.2
		_i=$((_i + 1))
	done
	echo "$_f"
}

# ---- --userns host; --network host refused ----
[ "$("$C" run --rm $N --userns host demo id -u)" = 0 ] || fail "--userns host"
out=$("$C" run --rm --network host --userns auto demo true 2>&1) && fail "--userns auto with --network host was accepted"
echo "$out" | grep -q "not with --network host" || fail "--userns with --network host: unclear error: $out"
pass "--userns host; --userns with --network host refused"

# ---- the default bridge network under a user namespace ----
"$C" run -d --userns auto --name web -p "$PORT:80" demo \
	sh -c 'mkdir /www && echo hello-userns >/www/index.html && exec busybox httpd -f -p 80 -h /www' >/dev/null ||
	fail "run --userns auto on the default network"
"$C" run -d --userns auto --name peer demo sleep 120 >/dev/null || fail "run a second --userns auto container"
pid=$(pid_of web)
pid2=$(pid_of peer)
[ -n "$pid" ] && [ -n "$pid2" ] || fail "no pids: web \`$pid\` peer \`$pid2\`"
[ "$(awk '{print $1, $2, $3}' /proc/$pid/uid_map)" = "0 100000 65536" ] || fail "uid_map: $(cat /proc/$pid/uid_map)"
[ "$(awk '{print $1, $2, $3}' /proc/$pid/gid_map)" = "0 100000 65536" ] || fail "gid_map: $(cat /proc/$pid/gid_map)"
[ "$(awk '{print $1, $2, $3}' /proc/$pid2/uid_map)" = "0 165536 65536" ] ||
	fail "the second auto range overlaps the first: $(cat /proc/$pid2/uid_map)"
[ "$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$pid/status)" = "100000 100000 100000 100000" ] ||
	fail "the init's host uids are $(grep '^Uid:' /proc/$pid/status), want 100000"
[ "$(readlink /proc/$pid/ns/user)" != "$(readlink /proc/1/ns/user)" ] || fail "the host's user namespace"
[ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/1/ns/net)" ] || fail "the host's network namespace"
"$C" inspect web | grep -q '100000:100000:65536' || fail "the range is not in the container's record"
pass "--userns auto on the default network: maps 0 100000 65536 and 0 165536 65536, own user and network namespaces"

# the network namespace is netd's (owned by the host's user namespace)
handle=$(find "$CNR_RUN/netns" -maxdepth 1 -type f 2>/dev/null | while read -r h; do
	[ "$(stat -L -c %i "$h" 2>/dev/null)" = "$(stat -L -c %i /proc/$pid/ns/net)" ] && echo "$h"
done | head -1)
[ -n "$handle" ] || fail "the container's network namespace is not one of netd's handles"
ip=$(nsenter --net=/proc/$pid/ns/net ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
[ -n "$ip" ] || fail "web has no address"
cnr_wait_for 30 "$C" exec peer busybox wget -q -O /dev/null "http://$ip/" || fail "peer cannot reach web at $ip over the bridge"
[ "$("$C" exec peer busybox wget -q -O- "http://$ip/")" = hello-userns ] || fail "peer -> web: wrong content"
cnr_wait_for 30 curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT/" || fail "-p $PORT:80: no answer"
[ "$(curl -s -m 5 "http://127.0.0.1:$PORT/")" = hello-userns ] || fail "-p $PORT:80: wrong content"
pass "over netd's bridge: a container reaches another ($ip), -p $PORT:80 reaches it from 127.0.0.1"

# /sys: a read-only sysfs of the container's own network namespace
grep -E '^[^ ]+ /sys sysfs ro[, ]' /proc/$pid/mounts >/dev/null || fail "/sys is not a read-only sysfs: $(grep ' /sys ' /proc/$pid/mounts)"
[ "$("$C" exec web ls /sys/class/net | sort | tr '\n' ' ')" = "eth0 lo " ] ||
	fail "/sys/class/net is not the container's: $("$C" exec web ls /sys/class/net | tr '\n' ' ')"
"$C" exec web sh -c 'echo x >/sys/kernel/uevent_helper' 2>/dev/null && fail "/sys is writable"
pass "/sys is a read-only sysfs of the container's network namespace"

# exec joins every namespace of the init, the network one included
[ "$("$C" exec web id -u)" = 0 ] || fail "exec id -u is not 0 inside"
[ "$("$C" exec web cat /proc/self/uid_map | awk '{print $2}')" = 100000 ] || fail "exec is not in the user namespace"
"$C" exec web busybox ip addr show eth0 2>/dev/null | grep -q "inet $ip/" || fail "exec is not in the network namespace"
# the container's root does not own the network namespace (as with Docker's userns-remap)
"$C" exec web busybox ip link set lo mtu 1400 2>/dev/null && fail "the container's root changed a link of netd's namespace"
pass "exec under --userns: root inside, the init's user and network namespaces; no CAP_NET_ADMIN over netd's namespace"

# image files owned by root show as root inside (idmapped layers) ...
[ "$("$C" exec web busybox stat -c %u:%g /bin/busybox)" = 0:0 ] ||
	fail "/bin/busybox is owned by $("$C" exec web busybox stat -c %u:%g /bin/busybox) inside, want 0:0"
[ "$("$C" exec web busybox stat -c %u /)" = 0 ] || fail "/ is owned by $("$C" exec web busybox stat -c %u /) inside"
[ "$(stat -c %u:%g "/proc/$pid/root/bin/busybox")" = 100000:100000 ] ||
	fail "/bin/busybox seen from the host: $(stat -c %u:%g "/proc/$pid/root/bin/busybox"), want 100000:100000"
"$C" exec web sh -c 'echo changed >>/etc/passwd && busybox touch /made-in-root' || fail "the container's root cannot write root's files"
# ... and what the container writes, in / too, is stored with the mapped host ids
made=$(upper_file /made-in-root)
[ -n "$made" ] || fail "/made-in-root is in no upper dir"
[ "$(stat -c %u:%g "$made")" = 100000:100000 ] || fail "upper /made-in-root owned by $(stat -c %u:%g "$made")"
www=$(upper_file /www/index.html)
[ -n "$www" ] && [ "$(stat -c %u:%g "$www")" = 100000:100000 ] || fail "upper /www/index.html: \`$www\`"
cp=$(upper_file /etc/passwd)
[ -n "$cp" ] && [ "$(stat -c %u:%g "$cp")" = 100000:100000 ] || fail "copied-up /etc/passwd: \`$cp\` $(stat -c %u:%g "$cp")"
# the image's own layer is untouched: still root's on disk
lower=$(find "$CNR_ROOT" -path '*/fs/bin/busybox' ! -path "$(dirname "$(dirname "$cp")")/*" | head -1)
[ -n "$lower" ] && [ "$(stat -c %u:%g "$lower")" = 0:0 ] || fail "the image layer's busybox: \`$lower\`"
grep -q mount_snapshot_idmapped "$CNR_LOG/mountd.audit.jsonl" || fail "mountd's audit has no mount_snapshot_idmapped"
grep '"make_userns"' "$CNR_LOG/monitor.audit.jsonl" | grep -q '"allow"' || fail "the monitor's audit has no make_userns"
pass "idmapped layers: image files are root's inside (host 100000), writes and copy-ups stored as 100000, the layer untouched"

# ---- rm leaves no network namespace or veth behind ----
netns_ino=$(stat -L -c %i /proc/$pid/ns/net)
# the host ends of their veths: the peers of their eth0 (eth0@ifN)
host_veth() { # PID
	_i=$(nsenter --net=/proc/$1/ns/net ip -o link show eth0 | sed -n 's/^[0-9]*: eth0@if\([0-9]*\):.*/\1/p')
	ip -o link | awk -F': ' -v i="$_i" '$1 == i {print $2}' | cut -d@ -f1
}
vethw=$(host_veth $pid)
vethp=$(host_veth $pid2)
[ -n "$vethw" ] && [ -n "$vethp" ] || fail "no host veths for web/peer: \`$vethw\` \`$vethp\`"
"$C" rm -f web peer >/dev/null || fail "rm the userns containers"
# rm answers before CNI DEL is done: the handle goes soon after
cnr_wait_for 20 sh -c "[ ! -e '$handle' ]" || fail "the netns handle $handle is left"
for p in /proc/[0-9]*; do
	[ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$netns_ino" ] && fail "a process is left in web's network namespace: $p"
done
for v in $vethw $vethp; do
	cnr_wait_for 20 sh -c "! ip link show '$v'" || fail "the veth $v is left after rm"
done
pass "rm: no network namespace, no veth left"

# ---- an image of two layers: each lower layer is idmapped ----
cnr_busybox_rootfs_tar "$CNR_TMP/l1.tar" || fail "the busybox layer"
python3 - "$CNR_TMP/two.tar" "$CNR_TMP/l1.tar" <<'PY' || fail "write the two-layer archive"
import hashlib, io, json, platform, sys, tarfile
out, l1 = sys.argv[1], open(sys.argv[2], "rb").read()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    for name, uid, kind in (("opt", 0, tarfile.DIRTYPE), ("opt/app", 1000, tarfile.DIRTYPE),
                            ("opt/app/data", 42, tarfile.REGTYPE)):
        i = tarfile.TarInfo(name); i.type = kind; i.uid = i.gid = uid
        i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        i.size = 3 if kind == tarfile.REGTYPE else 0
        t.addfile(i, io.BytesIO(b"42\n") if kind == tarfile.REGTYPE else None)
l2 = buf.getvalue()
d1, d2 = hashlib.sha256(l1).hexdigest(), hashlib.sha256(l2).hexdigest()
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
cfg = json.dumps({"architecture": arch, "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d1, "sha256:" + d2]}}).encode()
cname = "blobs/sha256/" + hashlib.sha256(cfg).hexdigest()
def add(t, name, payload):
    i = tarfile.TarInfo(name); i.size = len(payload); t.addfile(i, io.BytesIO(payload))
with tarfile.open(out, "w") as t:
    add(t, "blobs/sha256/" + d1, l1)
    add(t, "blobs/sha256/" + d2, l2)
    add(t, cname, cfg)
    add(t, "manifest.json", json.dumps([{"Config": cname, "RepoTags": ["two:latest"],
                                         "Layers": ["blobs/sha256/" + d1, "blobs/sha256/" + d2]}]).encode())
PY
"$C" load -i "$CNR_TMP/two.tar" >/dev/null || fail "load the two-layer image"
"$C" run -d $N --userns auto --name two two sleep 60 >/dev/null || fail "run the two-layer image"
pid=$(pid_of two)
[ "$("$C" exec two busybox stat -c %u:%g /bin/busybox /opt/app /opt/app/data | tr '\n' ' ')" = "0:0 1000:1000 42:42 " ] ||
	fail "two layers inside: $("$C" exec two busybox stat -c %u:%g /bin/busybox /opt/app /opt/app/data | tr '\n' ' ')"
[ "$(stat -c %u:%g "/proc/$pid/root/opt/app" "/proc/$pid/root/opt/app/data" | tr '\n' ' ')" = "101000:101000 100042:100042 " ] ||
	fail "two layers from the host: $(stat -c %u:%g "/proc/$pid/root/opt/app" "/proc/$pid/root/opt/app/data" | tr '\n' ' ')"
grep mount_snapshot_idmapped "$CNR_LOG/mountd.audit.jsonl" | grep -q '"lower":\["[0-9]*","[0-9]*"\]' ||
	fail "no idmapped overlay of two lower layers in mountd's audit"
"$C" rm -f two >/dev/null || fail "rm two"
pass "an image of two layers: both idmapped (ids 0, 1000, 42 inside; 100000, 101000, 100042 on the host)"

# ---- a named network ----
"$C" network create unsnet >/dev/null || fail "network create unsnet"
"$C" run -d --userns auto --network unsnet --name n1 demo \
	sh -c 'mkdir /www && echo hello-named >/www/index.html && exec busybox httpd -f -p 80 -h /www' >/dev/null ||
	fail "run --userns auto --network unsnet"
pid=$(pid_of n1)
ip=$(nsenter --net=/proc/$pid/ns/net ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
[ -n "$ip" ] || fail "n1 has no address on unsnet"
cnr_wait_for 30 "$C" run --rm --userns auto --network unsnet demo busybox wget -q -O /dev/null "http://$ip/" ||
	fail "a --userns container on unsnet cannot reach n1 at $ip"
[ "$("$C" run --rm --userns auto --network unsnet demo busybox wget -q -O- "http://$ip/")" = hello-named ] ||
	fail "unsnet: wrong content"
"$C" rm -f n1 >/dev/null || fail "rm n1"
cnr_wait_for 20 "$C" network rm unsnet || fail "network rm unsnet"
pass "a named network under --userns: $ip reached from another --userns container"

# ---- --network none and explicit maps ----
"$C" run -d $N --userns auto --name uns1 demo sh -c 'echo made >/tmp/uns-made; sleep 60' >/dev/null ||
	fail "run --userns auto --network none"
pid=$(pid_of uns1)
[ "$(awk '{print $1, $2, $3}' /proc/$pid/uid_map)" = "0 100000 65536" ] || fail "none: uid_map: $(cat /proc/$pid/uid_map)"
[ "$("$C" exec uns1 busybox stat -c %u /bin/busybox)" = 0 ] || fail "none: /bin/busybox not root's inside"
made=$(upper_file /tmp/uns-made)
[ -n "$made" ] && [ "$(stat -c %u:%g "$made")" = 100000:100000 ] || fail "none: upper /tmp/uns-made: \`$made\`"
"$C" rm -f uns1 >/dev/null || fail "rm uns1"
[ "$("$C" run --rm $N --userns 300000:400000:1000 demo cat /proc/self/uid_map /proc/self/gid_map |
	awk '{printf "%s %s ", $2, $3}')" = "300000 1000 400000 1000 " ] || fail "--userns 300000:400000:1000: wrong maps"
[ "$("$C" run --rm $N --userns 300000:400000:1000 demo busybox stat -c %u:%g /bin/busybox)" = 0:0 ] ||
	fail "--userns 300000:400000:1000: /bin/busybox not 0:0 inside"
# volumes: a named volume's root is the container's root's, and so is
# the copy of the image's /etc a fresh volume starts with; users in the map
[ "$("$C" run --rm $N --userns auto -v unsvol:/data demo sh -c 'echo kept >/data/f && busybox stat -c %u /data')" = 0 ] ||
	fail "--userns auto: a named volume's root is not the container's root's"
[ "$("$C" run --rm $N --userns auto -v unsvol:/data demo cat /data/f)" = kept ] || fail "the volume's data did not persist"
# volumes are idmapped: what the container's root writes is stored as 0:0
volf=$("$C" volume inspect unsvol | sed -n 's/.*"Mountpoint": *"\([^"]*\)".*/\1/p')/f
[ "$(stat -c %u:%g "$volf")" = 0:0 ] || fail "the volume's file on the host: \`$volf\` is $(stat -c %u:%g "$volf")"
[ "$("$C" run --rm $N --userns auto -v unsetc:/etc demo busybox stat -c %u:%g /etc/passwd)" = 0:0 ] ||
	fail "--userns auto: the copy-up of /etc into a fresh volume is not root's inside"
[ "$("$C" run --rm $N --userns 200000:200000:100 -u 99:99 demo id -u)" = 99 ] || fail "-u 99:99 inside a map of 100"
out=$("$C" run --rm $N --userns auto -u 70000 demo id 2>&1) && fail "-u 70000 outside the map was accepted"
echo "$out" | grep -q "is not mapped" || fail "-u 70000 outside the map: unclear error: $out"
"$C" volume rm unsvol unsetc >/dev/null || fail "volume rm"
pass "volumes under --userns: root's inside, copy-up works; -u outside the map refused"

# A volume filled by a container without --userns (root's files, a 0755
# directory) is the --userns container's root's: it changes them, and
# what it creates is 0 inside and 0:0 on the host (the idmap stores the
# container's ids); a container without --userns then owns them too.
"$C" run --rm $N -v idvol:/data demo sh -c 'mkdir -p /data/d && echo one >/data/d/f && chmod 755 /data/d && chmod 644 /data/d/f' ||
	fail "fill idvol without --userns"
out=$("$C" run --rm $N --userns auto -v idvol:/data demo sh -c 'echo two >>/data/d/f && echo new >/data/d/g && chown 5:5 /data/d/f && busybox stat -c %u:%g /data/d /data/d/f /data/d/g') ||
	fail "--userns auto: the root-owned files of a volume are not writable by its root: $out"
[ "$(echo $out)" = "0:0 5:5 0:0" ] || fail "--userns auto: owners inside: $out"
mp=$("$C" volume inspect idvol | sed -n 's/.*"Mountpoint": *"\([^"]*\)".*/\1/p')
[ "$(stat -c %u:%g "$mp/d/g" "$mp/d/f" | tr '\n' ' ')" = "0:0 5:5 " ] || fail "on the host: $(stat -c '%n %u:%g' "$mp/d/g" "$mp/d/f")"
[ "$("$C" run --rm $N -v idvol:/data demo sh -c 'cat /data/d/f /data/d/g; stat -c %u /data/d/g')" = "$(printf 'one\ntwo\nnew\n0')" ] ||
	fail "without --userns the volume's content differs"
# an anonymous volume too, and an image-less --userns map of its own
out=$("$C" run --rm $N --userns 300000:400000:1000 -v /anon demo sh -c 'echo x >/anon/x && busybox stat -c %u:%g /anon /anon/x') ||
	fail "--userns with an anonymous volume: $out"
[ "$(echo $out)" = "0:0 0:0" ] || fail "--userns: anonymous volume owners inside: $out"
# the mount is mountd's idmapped bind (its audit record says so)
"$C" system audit --helper mountd | grep '"op":"mount_snapshot_idmapped"' | grep -q '"method":"idmapped-bind"' ||
	fail "no idmapped bind in mountd's audit log"
"$C" volume rm idvol >/dev/null || fail "volume rm idvol"
pass "--userns: volumes are idmapped (a root-owned volume is the container root's; stored 0:0 on the host)"

# net.* sysctls of netd's namespace are written by the shim (the
# container's root does not own it), with Docker's unprivileged-port default
[ "$("$C" run --rm --userns auto --sysctl net.core.somaxconn=777 demo \
	cat /proc/sys/net/core/somaxconn /proc/sys/net/ipv4/ip_unprivileged_port_start | tr '\n' ' ')" = "777 0 " ] ||
	fail "--sysctl net.core.somaxconn=777 under --userns on the default network"
pass "--network none and UID:GID:COUNT maps, image files root's inside; net.* sysctls on netd's network"

# ---- THREATS 15: never container root = host root, no id past 2^31-1, no -1 ----
out=$("$C" run --rm $N --userns 0:0:10 demo true 2>&1) && fail "--userns 0:0:10 was accepted"
echo "$out" | grep -q "host's root" || fail "--userns 0:0:10: unclear error: $out"
for m in 2147483648:100000:1 100000:4294967295:1 -1:100000:1 100000:100000:-1 100000:100000:0 \
	2147483600:100000:65536 100000:100000 abc:1:1 "100000:100000:1 "; do
	out=$("$C" run --rm $N --userns "$m" demo true 2>&1) && fail "--userns $m was accepted"
	echo "$out" | grep -q -- "--userns" || fail "--userns $m: unclear error: $out"
done
"$C" create $N --userns 0:0:10 demo true >/dev/null 2>&1 && fail "create --userns 0:0:10 was accepted"
for u in 2147483648 4294967295 -1; do
	"$C" run --rm $N -u "$u" demo true 2>/dev/null && fail "-u $u was accepted"
	"$C" run --rm $N --userns auto -u "$u" demo true 2>/dev/null && fail "--userns auto -u $u was accepted"
done
pass "bad maps refused by containrd (THREATS 15)"
