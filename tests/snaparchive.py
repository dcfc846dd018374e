#!/usr/bin/env python3
"""Snapshot archives for tests/integration/snapshot-cmds.sh.

  snaparchive.py layer OUT            a layer tar: new files, a symlink, a
                                      hardlink, an opaque dir, whiteouts of
                                      busybox files, a user.* xattr
  snaparchive.py wrap LAYER OUT [PARENT]   our archive around LAYER
  snaparchive.py tamper IN OUT        flip a byte inside layer.tar
  snaparchive.py hostile LAYER OUT    THREATS 23: container.log -> /etc/shadow
                                      (symlink) and a regular one, config.json,
                                      hooks, a device entry, and a
                                      snapshot.json with annotations, devices,
                                      hooks, an image tag, a reserved label
"""
import hashlib
import io
import json
import sys
import tarfile


def add_bytes(t, name, data, **kw):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = kw.get("mtime", 1700000000)
    ti.mode = kw.get("mode", 0o644)
    ti.pax_headers = kw.get("pax", {})
    t.addfile(ti, io.BytesIO(data))


def layer(out):
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo("data/")
        d.type = tarfile.DIRTYPE
        d.mode = 0o750
        d.uid = 1000
        d.gid = 1000
        d.mtime = 1700000001
        t.addfile(d)
        add_bytes(t, "data/hello.txt", b"hello from a layer\n", pax={"SCHILY.xattr.user.note": "kept"})
        ln = tarfile.TarInfo("data/hello-link")
        ln.type = tarfile.LNKTYPE
        ln.linkname = "data/hello.txt"
        t.addfile(ln)
        sl = tarfile.TarInfo("data/to-busybox")
        sl.type = tarfile.SYMTYPE
        sl.linkname = "../bin/busybox"
        sl.mtime = 1700000002
        t.addfile(sl)
        add_bytes(t, "data/big.bin", bytes(range(256)) * 1024, mode=0o600)
        # /etc replaced wholesale: an opaque dir with one file
        e = tarfile.TarInfo("etc/")
        e.type = tarfile.DIRTYPE
        e.mode = 0o755
        e.mtime = 1700000003
        t.addfile(e)
        add_bytes(t, "etc/.wh..wh..opq", b"")
        add_bytes(t, "etc/hostname", b"snap\n")
        # deletions of lower files
        add_bytes(t, "bin/.wh.false", b"")
        add_bytes(t, "bin/.wh.sleep", b"")


def meta_bytes(layer_bytes, parent, extra=None, labels=None):
    doc = {
        "version": 1,
        "name": "test",
        "diff_id": "sha256:" + hashlib.sha256(layer_bytes).hexdigest(),
        "labels": labels or {"purpose": "test"},
        "parents": [{"name": parent, "diff_id": ""}] if parent else [],
    }
    if extra:
        doc.update(extra)
    return json.dumps(doc).encode()


def wrap(layer_path, out, parent=None):
    lb = open(layer_path, "rb").read()
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        add_bytes(t, "snapshot.json", meta_bytes(lb, parent))
        add_bytes(t, "layer.tar", lb)


def tamper(src, out):
    with tarfile.open(src) as t:
        members = {m.name: t.extractfile(m).read() for m in t.getmembers()}
    lb = bytearray(members["layer.tar"])
    # a byte of file data, well past the first header
    lb[1024] ^= 0x01
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        add_bytes(t, "snapshot.json", members["snapshot.json"])
        add_bytes(t, "layer.tar", bytes(lb))


def hostile(layer_path, out):
    lb = open(layer_path, "rb").read()
    extra = {
        "image": "evil:latest",
        "tag": "evil:latest",
        "annotations": {"io.kubernetes.cri.devices": "/dev/sda", "io.containerd.hooks": "/bin/sh -c 'id > /x'"},
        "hooks": {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "touch /tmp/cnr-pwned"]}]},
        "devices": [{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}],
    }
    labels = {"purpose": "hostile", "io.containr.image": "evil:latest", "io.containr.trusted": "yes"}
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        sl = tarfile.TarInfo("container.log")
        sl.type = tarfile.SYMTYPE
        sl.linkname = "/etc/shadow"
        t.addfile(sl)
        add_bytes(t, "snapshot.json", meta_bytes(lb, None, extra, labels))
        add_bytes(t, "container.log", b'{"log":"not read"}\n')
        add_bytes(t, "config.json", b'{"hooks":{"prestart":[{"path":"/bin/sh"}]}}')
        add_bytes(t, "hooks/prestart", b"#!/bin/sh\ntouch /tmp/cnr-pwned\n", mode=0o755)
        dev = tarfile.TarInfo("dev-sda")
        dev.type = tarfile.BLKTYPE
        dev.devmajor = 8
        dev.devminor = 0
        t.addfile(dev)
        add_bytes(t, "layer.tar", lb)
        hl = tarfile.TarInfo("shadow-link")
        hl.type = tarfile.LNKTYPE
        hl.linkname = "/etc/shadow"
        t.addfile(hl)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "layer":
        layer(sys.argv[2])
    elif cmd == "wrap":
        wrap(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    elif cmd == "tamper":
        tamper(sys.argv[2], sys.argv[3])
    elif cmd == "hostile":
        hostile(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)
