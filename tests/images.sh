# shellcheck shell=sh
# Shared helpers for the image suites: sourced after tests/lib.sh.
#
#   . "$top_srcdir/tests/lib.sh"
#   . "$top_srcdir/tests/images.sh"
#   cnr_need_busybox                  # exit 77 without Debian's busybox-static
#   cnr_busybox_rootfs_tar FILE       # a rootfs tarball: /bin/busybox + applet links
#   cnr_busybox_image REF             # `containr import` of that tarball as REF; prints the id
#
# The image is built here, from the host's busybox-static: no network.

CNR_BUSYBOX=${CNR_BUSYBOX:-/bin/busybox}

cnr_need_busybox() {
	if ! [ -x "$CNR_BUSYBOX" ] || ! file -L "$CNR_BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
		if ! [ -x "$CNR_BUSYBOX" ] || ldd "$CNR_BUSYBOX" >/dev/null 2>&1; then
			echo "SKIP: $0 needs a static busybox at $CNR_BUSYBOX (Debian: busybox-static)"
			exit 77
		fi
	fi
}

cnr_need_tool() { # NAME...
	for _t in "$@"; do
		if ! command -v "$_t" >/dev/null 2>&1; then
			echo "SKIP: $0 needs $_t (contrib/install-deps.sh installs it)"
			exit 77
		fi
	done
}

# A rootfs tarball with /bin/busybox, a link per applet in /bin, and the
# usual empty directories; owned by root, reproducible (fixed mtime).
cnr_busybox_rootfs_tar() { # FILE
	_dir=$(mktemp -d /tmp/cnr-bbroot.XXXXXX)
	mkdir -p "$_dir/bin" "$_dir/etc" "$_dir/tmp" "$_dir/proc" "$_dir/sys" "$_dir/dev" "$_dir/root"
	cp "$CNR_BUSYBOX" "$_dir/bin/busybox"
	for _a in sh ls cat echo true false sleep id env mkdir rm; do
		ln -s busybox "$_dir/bin/$_a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$_dir/etc/passwd"
	echo 'root:x:0:' >"$_dir/etc/group"
	chmod 1777 "$_dir/tmp"
	tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -C "$_dir" -cf "$1" .
	rm -rf "$_dir"
}

# Import the busybox rootfs as REF; prints the image id.
cnr_busybox_image() { # REF
	_tar=$(mktemp /tmp/cnr-bb.XXXXXX.tar)
	cnr_busybox_rootfs_tar "$_tar"
	"$CONTAINR" import "$_tar" "$1"
	_rc=$?
	rm -f "$_tar"
	return $_rc
}

# A docker-archive (what `docker save` writes) of the busybox rootfs plus
# the extra files of directory EXTRA (may be empty), with CONFIG_JSON as
# the image config's "config" object (Volumes, Labels, ...); `containr
# load -i FILE` makes it image TAG.  For hostile configs (THREATS 28).
cnr_archive_image() { # FILE TAG CONFIG_JSON [EXTRA_DIR]
	_root=$(mktemp /tmp/cnr-arch.XXXXXX.tar)
	cnr_busybox_rootfs_tar "$_root"
	if [ -n "${4:-}" ]; then
		tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$4" -rf "$_root" . || return 1
	fi
	python3 - "$1" "$2" "$3" "$_root" <<'PY'
import hashlib, io, json, platform, sys, tarfile
out, tag, cfg, layer = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
data = open(layer, "rb").read()
diff = hashlib.sha256(data).hexdigest()
doc = {"architecture": arch, "os": "linux", "config": cfg,
       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]}}
b = json.dumps(doc, sort_keys=True).encode()
cname = "blobs/sha256/" + hashlib.sha256(b).hexdigest()
def add(t, name, payload):
    i = tarfile.TarInfo(name); i.size = len(payload); t.addfile(i, io.BytesIO(payload))
with tarfile.open(out, "w") as t:
    add(t, "blobs/sha256/" + diff, data)
    add(t, cname, b)
    add(t, "manifest.json", json.dumps([{"Config": cname, "RepoTags": [tag],
                                         "Layers": ["blobs/sha256/" + diff]}]).encode())
PY
	_rc=$?
	rm -f "$_root"
	return $_rc
}
