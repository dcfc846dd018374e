#!/usr/bin/env python3
"""Write the seed corpus of the IPC frame fuzz target (tests/fuzz/corpus/frame/).

Hand-encoded protobuf so that the seeds do not depend on the code under
test: valid frames of every envelope and most cases, and the classic bad
inputs (truncated, bad version, type 0, huge length fields, unknown and
nested unknown fields, case/type mismatches).  The seeds are committed;
rerun this only to change them:  python3 tests/fuzz/gen-frame-seeds.py DIR
"""
import os
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def vint(field, n):
    return key(field, 0) + varint(n)


def ld(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def frame(typ, body=b"", reqid=1, version=1):
    return struct.pack("<HHI", version, typ, reqid) + body


hello = vint(1, 1) + ld(2, "mountd") + vint(3, 1234) + ld(4, "0.1.0")
error = vint(1, 13) + ld(2, "mount `x`: Permission denied")
proc = ld(1, "snapd") + ld(2, "snapshots") + vint(3, 42) + vint(4, 990) + vint(5, 990) + \
    ld(6, "0000000000200000") + ld(7, "CAP_SYS_ADMIN") + vint(8, 2) + vint(9, 1) + vint(10, 3) + \
    vint(11, 123456) + ld(12, "running")

seeds = {
    # cnr.api.Request
    "api-hello": frame(1, ld(1, hello)),
    "api-version": frame(2, ld(2, b"")),
    "api-info": frame(3, ld(3, b""), reqid=7),
    "api-system-audit": frame(4, ld(4, ld(1, "snapd"))),
    "api-system-check": frame(5, ld(5, b"")),
    # cnr.api.Reply (not decoded by the target, but shares the cases)
    "api-reply-info": frame(4, ld(4, ld(1, "0.1.0") + ld(5, proc) + ld(5, proc) + ld(6, "6.1.0"))),
    # cnr.helper.ToHelper
    "helper-ping": frame(1, ld(1, b""), reqid=0xFFFFFFFF),
    "helper-mount-tmpfs": frame(2, ld(2, vint(1, 1 << 20) + vint(2, 0o1777) + vint(4, 1) + vint(5, 1))),
    "helper-snap-mkdir": frame(3, ld(3, ld(1, "abc") + vint(2, 0o755))),
    "helper-snap-rmdir": frame(4, ld(4, ld(1, "abc"))),
    "helper-netns-create": frame(5, ld(5, b"")),
    # cnr.helper.FromHelper
    "helper-hello": frame(1, ld(1, hello), reqid=0),
    "helper-error": frame(2, ld(2, error)),
    "helper-pong": frame(3, ld(3, vint(1, 99999) + vint(2, 12))),
    "helper-mount-fd": frame(4, ld(4, b"")),
    # cnr.mon.ToMonitor / FromMonitor
    "mon-kill-helper": frame(2, ld(2, ld(1, "netd") + ld(2, "bad message"))),
    "mon-open-audit": frame(3, ld(3, ld(1, "containrd"))),
    "mon-helper-up": frame(2, ld(2, ld(1, "mountd") + vint(2, 77) + vint(3, 1))),
    "mon-helper-down": frame(3, ld(3, ld(1, "mountd") + vint(2, 77) + vint(3, (1 << 64) - 1) + vint(4, 9))),
    # cnr.LogChannel
    "log-record": frame(1, ld(1, vint(1, 2) + ld(2, "helper says hi"))),
    # bad inputs
    "bad-empty": b"",
    "bad-short": frame(1)[:5],
    "bad-header-only-type0": frame(0),
    "bad-version": frame(1, ld(1, b""), version=2),
    "bad-version-be": frame(1, ld(1, b""), version=0x0100),
    "bad-huge-length": frame(1, key(1, 2) + varint(0xFFFFFFFF) + b"x"),
    "bad-huge-length64": frame(1, key(1, 2) + varint((1 << 64) - 1) + b"x"),
    "bad-endless-varint": frame(2, ld(2, key(1, 0) + b"\xff" * 12)),
    "bad-unknown-top": frame(1, ld(1, b"") + vint(15, 1)),
    "bad-unknown-nested": frame(2, ld(2, vint(1, 16) + vint(15, 1))),
    "bad-unknown-deep": frame(4, ld(4, ld(5, ld(1, "a") + vint(99, 1)))),
    "bad-case-mismatch": frame(3, ld(1, b"")),
    "bad-wire-type": frame(1, vint(1, 1)),
    "helper-two-cases-last-wins": frame(2, ld(1, b"") + ld(2, b"")),
    "bad-deep-nesting": frame(1, ld(1, ld(1, ld(1, ld(1, b""))))),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "frame")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
