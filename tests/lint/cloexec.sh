#!/bin/sh
# Lint: every fd born close-on-exec (STYLE.md, "Memory and fds").
#
# Scans the C sources of supervisor/ helpers/ ipc/ common/ cli/ for calls
# that create a file descriptor without close-on-exec: open/openat/creat
# without O_CLOEXEC (O_PATH included), socket/socketpair/accept4 without
# SOCK_CLOEXEC, accept, pipe, dup, dup2 (but onto 0, 1, 2), fcntl F_DUPFD,
# pipe2/dup3 without O_CLOEXEC, memfd_create without MFD_CLOEXEC, the
# *_CLOEXEC flags of epoll/eventfd/signalfd/timerfd/inotify and of the new
# mount API (fsopen, fsmount, open_tree, fspick), recvmsg without
# MSG_CMSG_CLOEXEC, fopen without "e", mkstemp.  Names each finding as
# file:line and fails.
#
# An fd that must be inherited (an exec slot, a standard stream) says so on
# the call's line (or the line above):
#     /* cloexec: not needed, <reason> */
# tests/lint/cloexec.allow waives known findings in code that has not been
# marked yet; keep it short.
#
# First checks itself against tests/lint/cloexec-fixture.c, whose lines
# marked BAD must all be reported and no others.
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$srcdir" || exit 99
lint=tests/lint/cloexec.awk
AWK=${AWK:-awk}

# 1. self-test
want=$(grep -n 'BAD' tests/lint/cloexec-fixture.c | cut -d: -f1 | sort -n | tr '\n' ' ')
got=$($AWK -f "$lint" tests/lint/cloexec-fixture.c | grep -v '^allowed:' | cut -d: -f2 | sort -n | uniq |
      tr '\n' ' ')
if [ "$want" != "$got" ]; then
        echo "cloexec lint self-test failed: fixture lines reported: [$got], expected: [$want]"
        $AWK -f "$lint" tests/lint/cloexec-fixture.c
        exit 99
fi

# 2. the tree
files=$(find supervisor helpers ipc common cli -name '*.[ch]' ! -name '*.pb-c.[ch]' 2>/dev/null | sort)
if [ -z "$files" ]; then
        echo "cloexec lint: no sources found under $srcdir"
        exit 99
fi
# shellcheck disable=SC2086
$AWK -v ALLOW=tests/lint/cloexec.allow -f "$lint" $files
status=$?
if [ $status -ne 0 ]; then
        echo "cloexec lint: fds created without close-on-exec (see above)."
        echo "Fix the call, or mark an fd that must be inherited: /* cloexec: not needed, <reason> */"
        exit 1
fi
echo "cloexec lint: $(echo "$files" | wc -l) files clean"
exit 0
