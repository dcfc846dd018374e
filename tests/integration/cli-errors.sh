#!/bin/sh
# containr's error paths, without a daemon: what a user sees when containrd
# is not there, the socket path is wrong, or the command line is.  Each
# check asserts the exit status and the exact first line on stderr.
: "${top_builddir:?run through make check}"
CONTAINR=$top_builddir/cli/containr
[ -x "$CONTAINR" ] || { echo "SKIP: $CONTAINR not built"; exit 77; }

TMP=$(mktemp -d /tmp/cnr-cli.XXXXXX) || exit 1
trap 'chmod -R u+rwx "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
unset CONTAINR_HOST
failed=0

# expect STATUS STDERR-LINE -- ARGS...
expect() {
	want_rc=$1 want_err=$2
	shift 3
	"$CONTAINR" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	got_err=$(head -n 1 "$TMP/err")
	if [ "$rc" != "$want_rc" ] || [ "$got_err" != "$want_err" ]; then
		echo "FAIL: containr $*"
		echo "   want: $want_rc $want_err"
		echo "   got:  $rc $got_err"
		failed=1
	else
		echo "ok: containr $* -> $rc"
	fi
}

# expect_out STATUS PATTERN -- ARGS...: stdout matches a grep pattern.
expect_out() {
	want_rc=$1 pat=$2
	shift 3
	"$CONTAINR" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" != "$want_rc" ] || ! grep -q -- "$pat" "$TMP/out"; then
		echo "FAIL: containr $* (rc $rc, want $want_rc, stdout lacks '$pat')"
		sed 's/^/   | /' "$TMP/out" "$TMP/err"
		failed=1
	else
		echo "ok: containr $* -> $rc, prints '$pat'"
	fi
}

nosock=$TMP/none/containr.sock
unreach="containr: cannot reach containrd at $nosock: is containrd running? (start it with: containrd --detach)"

# No daemon: every command that talks to containrd says so, status 1.
expect 1 "$unreach" -- -H "unix://$nosock" info
expect 1 "$unreach" -- -H "unix://$nosock" system check
expect 1 "$unreach" -- -H "unix://$nosock" system audit --helper mountd
expect 1 "$unreach" -- -H "$nosock" info
CONTAINR_HOST=unix://$nosock expect 1 "$unreach" -- info
# -H wins over CONTAINR_HOST.
CONTAINR_HOST=unix:///nonexistent/x.sock expect 1 "$unreach" -- --host "unix://$nosock" info
unset CONTAINR_HOST
# version prints the client part, then the error.
expect 1 "$unreach" -- -H "unix://$nosock" version
grep -q '^ Version: *[0-9]' "$TMP/out" || { echo "FAIL: version printed no client version"; failed=1; }

# Something that is not a listening socket: a plain file refuses the connection.
: >"$TMP/file.sock"
expect 1 "containr: cannot reach containrd at $TMP/file.sock: is containrd running? (start it with: containrd --detach)" \
	-- -H "unix://$TMP/file.sock" info

# A socket directory the caller may not enter (only meaningful for non-root).
if [ "$(id -u)" != 0 ]; then
	mkdir "$TMP/closed" && chmod 000 "$TMP/closed"
	expect 1 "containr: permission denied on $TMP/closed/containr.sock: you need root or membership in the containr group" \
		-- -H "unix://$TMP/closed/containr.sock" info
elif command -v setpriv >/dev/null 2>&1; then
	mkdir "$TMP/closed" && chmod 700 "$TMP/closed" && chmod 755 "$TMP"
	out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$CONTAINR" -H "unix://$TMP/closed/containr.sock" info 2>&1)
	rc=$?
	want="containr: permission denied on $TMP/closed/containr.sock: you need root or membership in the containr group"
	if [ $rc != 1 ] || [ "$out" != "$want" ]; then
		echo "FAIL: EACCES as nobody: $rc $out"
		failed=1
	else
		echo "ok: EACCES as nobody -> 1"
	fi
fi

# Bad host values.
long=/tmp/$(printf '%0110d' 0)
expect 1 "containr: socket path \`$long\` is 115 bytes long; a unix socket path holds at most 107" -- -H "unix://$long" info
expect 1 "containr: unsupported host \`tcp://127.0.0.1:2375\`: containrd listens on a unix socket (unix://PATH)" \
	-- -H tcp://127.0.0.1:2375 info
expect 1 "containr: host \`unix://\` names no socket path (unix://PATH)" -- -H unix:// info
expect 1 "containr: host \`relative.sock\` is not of the form unix://PATH" -- -H relative.sock info

# Command line.
expect 2 "containr: unknown command \`x\` (see containr help)" -- x
expect 2 "containr: unknown command \`inof\` (did you mean \`info\`? see containr help)" -- inof
expect 2 "containr: unknown command \`system chek\` (did you mean \`system check\`? see containr system help)" -- system chek
expect 2 "containr info: unknown option \`--bogus\` (see containr info --help)" -- info --bogus
expect 2 "containr system audit: unknown option \`-z\` (see containr system audit --help)" -- system audit -z
expect 2 "containr system audit: option \`--tail\` needs a value (see containr system audit --help)" -- system audit --tail
expect 2 "containr system audit: --tail: \`ten\` is not a number of lines (see containr system audit --help)" -- system audit --tail ten
expect 2 "containr system audit: --helper: unknown audit log \`mountx\` (did you mean \`mountd\`?) (see containr system audit --help)" \
	-- system audit --helper mountx
expect 2 "containr info: unexpected argument \`extra\` (see containr info --help)" -- info extra
expect 2 "containr info: --format: \`yaml\` is not one of text, json (see containr info --help)" -- info --format yaml
expect 2 "containr: option \`-H\` needs a value (see containr --help)" -- -H
expect 2 "Usage: containr [OPTIONS] COMMAND [ARGS...]" --
expect 2 "Usage: containr system COMMAND" -- system

# Help and version succeed without a daemon.
expect_out 0 '^  system ' -- help
expect_out 0 '^  check ' -- help system
expect_out 0 '^Usage: containr system audit' -- help system audit
expect_out 0 '^Usage: containr info' -- info --help
expect_out 0 '--follow' -- system audit --help
expect_out 0 '^Usage: containr system COMMAND' -- system --help
expect_out 0 '^Usage: containr \[OPTIONS\]' -- --help
expect_out 0 '^containr version [0-9]' -- --version
# The container commands are listed, and fail clearly without a daemon.
for c in run ps exec logs stop rm volume; do
	if ! "$CONTAINR" help | grep -Eq "^  $c "; then
		echo "FAIL: containr help does not list \`$c\`"
		failed=1
	fi
done
expect_out 0 '^Usage: containr run \[OPTIONS\] IMAGE' -- run --help
# The run family (run, create, start, exec) exits 125 on a usage error,
# as Docker does; other commands keep 2.
expect 125 "containr run: want IMAGE [COMMAND [ARG...]] (see containr run --help)" -- run
expect 125 "containr run: unknown option \`--bogus\` (see containr run --help)" -- run --bogus demo
expect 125 "containr create: option \`--memory\` needs a value (see containr create --help)" -- create --memory
expect 125 "containr run: --memory \`zz\`: want a size like 64m (see containr run --help)" -- run --memory zz demo
expect 125 "containr start: want CONTAINER... (see containr start --help)" -- start
expect 125 "containr exec: unknown option \`-z\` (see containr exec --help)" -- exec -z c true
expect 125 "containr exec: want CONTAINER COMMAND [ARG...] (see containr exec --help)" -- exec c
expect 2 "containr ps: unknown option \`--bogus\` (see containr ps --help)" -- ps --bogus
# --cpus: Docker's range, 0.01 to the host's online CPUs
ncpu=$(getconf _NPROCESSORS_ONLN)
over=$((ncpu + 1))
expect 125 "containr run: --cpus \`$over\`: range of CPUs is from 0.01 to $ncpu.00, as there are only $ncpu CPUs available (see containr run --help)" \
	-- run --cpus "$over" demo
expect 125 "containr create: --cpus \`0.001\`: range of CPUs is from 0.01 to $ncpu.00, as there are only $ncpu CPUs available (see containr create --help)" \
	-- create --cpus 0.001 demo
expect 125 "containr run: --cpus \`-1\`: range of CPUs is from 0.01 to $ncpu.00, as there are only $ncpu CPUs available (see containr run --help)" \
	-- run --cpus -1 demo
expect 125 "containr run: --cpus \`half\`: want a number like 0.5 (see containr run --help)" -- run --cpus half demo
# in range: accepted, and the CLI goes on to the daemon (absent here: 125,
# run failed in the CLI)
expect 125 "$unreach" -- -H "unix://$nosock" run --cpus "$ncpu" demo

# libcrypto and libarchive are `build`'s alone (cli/crypto.c, cli/archive.c,
# loaded with dlopen there): no other command loads them at its start.
for cmd in version ps "run demo"; do
	# shellcheck disable=SC2086 # cmd is words on purpose
	libs=$(LD_DEBUG=files "$CONTAINR" -H "unix://$nosock" $cmd 2>&1 >/dev/null |
		sed -n 's/.*file=\(lib[^ ;]*\).*/\1/p' | sort -u | tr '\n' ' ')
	case "$libs" in
	"") echo "FAIL: containr $cmd: LD_DEBUG=files listed no library"; failed=1 ;;
	*libcrypto* | *libarchive*) echo "FAIL: containr $cmd loads: $libs"; failed=1 ;;
	*) echo "ok: containr $cmd loads $libs" ;;
	esac
done

exit $failed
