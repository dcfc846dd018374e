# tests/lint/: checks of the source tree, run by `make check`.
TESTS += tests/lint/cloexec.sh
EXTRA_DIST += tests/lint/cloexec.sh tests/lint/cloexec.awk tests/lint/cloexec.allow \
	tests/lint/cloexec-fixture.c tests/lint/format.sh .clang-format
