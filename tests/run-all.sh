#!/bin/sh
# The whole test suite, as CI runs it (as root, on a fresh Debian 12):
#   1. build and `make check`: unit, golden, fuzz-corpus replay, lints and
#      the root integration suites;
#   2. the unit tests again under AddressSanitizer + UBSan;
#   3. `make distcheck` (the integration suites are left to step 1).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

# Sum automake's summaries: "# PASS:  N" ... from a test-suite.log.
count() { # LOG FIELD
	awk -v f="# $2:" '$1 " " $2 == f { print $3; exit }' "$1"
}
contrib/install-deps.sh
autoreconf -fi >/dev/null 2>&1
jobs=$(nproc)

echo "== build and make check"
rm -rf build-ci && mkdir build-ci && cd build-ci
../configure -q
make -j"$jobs" >/dev/null
make -j"$jobs" check || { cat test-suite.log; exit 1; }
cd "$top"

echo "== unit tests under ASan + UBSan"
rm -rf build-asan && mkdir build-asan && cd build-asan
../configure -q --enable-asan --enable-ubsan
make -j"$jobs" >/dev/null
CNR_UNIT_ONLY=1 make -j"$jobs" check || { cat test-suite.log; exit 1; }
cd "$top"

pass=$(($(count build-ci/test-suite.log PASS) + $(count build-asan/test-suite.log PASS)))
failed=$(($(count build-ci/test-suite.log FAIL) + $(count build-ci/test-suite.log ERROR) + \
	$(count build-asan/test-suite.log FAIL) + $(count build-asan/test-suite.log ERROR)))
skipped=$(($(count build-ci/test-suite.log SKIP) + $(count build-asan/test-suite.log SKIP)))

echo "== make distcheck"
cd build-ci
CNR_UNIT_ONLY=1 make -j"$jobs" distcheck >distcheck.log 2>&1 || { tail -n 80 distcheck.log; exit 1; }
echo "distcheck: ok"
echo "tests: $pass passed, $failed failed, $skipped skipped"
