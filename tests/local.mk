# tests/: the shared harness (lib.sh), small tools the shell tests use, and
# the integration suites of the foundation.
EXTRA_DIST += tests/lib.sh
check_PROGRAMS += tests/capmask tests/rawclient
tests_capmask_SOURCES = tests/capmask.c
tests_capmask_CFLAGS = $(AM_CFLAGS) $(LIBCAP_CFLAGS)
tests_capmask_LDADD = $(LIBCAP_LIBS)
tests_rawclient_SOURCES = tests/rawclient.c
tests_rawclient_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_rawclient_LDADD = ipc/libipc.la common/libcommon.la $(PROTOBUF_C_LIBS)

TESTS += tests/integration/daemon.sh
EXTRA_DIST += tests/integration/daemon.sh
