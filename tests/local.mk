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

# Containers end to end (issue 4): lifecycle, flags, crashes, reboot.
TESTS += tests/integration/containers.sh
EXTRA_DIST += tests/integration/containers.sh

# User namespaces (issue 4): --userns with netd's networks, idmapped
# layers, the refusals of THREATS 15; and the map check the monitor runs.
TESTS += tests/integration/userns.sh
EXTRA_DIST += tests/integration/userns.sh
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_idmap
TESTS += tests/unit/test_idmap
tests_unit_test_idmap_SOURCES = tests/unit/test_idmap.c
tests_unit_test_idmap_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_idmap_LDADD = common/libcommon.la $(CMOCKA_LIBS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_digest tests/unit/test_content
TESTS += tests/unit/test_digest tests/unit/test_content
tests_unit_test_digest_SOURCES = tests/unit/test_digest.c
tests_unit_test_digest_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_digest_LDADD = common/libcommon.la $(CMOCKA_LIBS)
tests_unit_test_content_SOURCES = tests/unit/test_content.c
tests_unit_test_content_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_content_LDADD = supervisor/libstore.la common/libcommon.la $(CMOCKA_LIBS)
endif

# Images (3A): unit, golden, fuzz replay and integration suites.
include $(top_srcdir)/tests/images.mk

# The registry client against Debian's docker-registry on 127.0.0.1
# (tests/registry.sh starts it): interop with skopeo, auth, hostile servers.
EXTRA_DIST += tests/registry.sh bench/pull bench/run bench/README.md
TESTS += tests/integration/registry.sh tests/integration/registry-hostile.sh
EXTRA_DIST += tests/integration/registry.sh tests/integration/registry-hostile.sh
check_PROGRAMS += tests/hostreg
tests_hostreg_SOURCES = tests/hostreg.c
tests_hostreg_LDADD = common/libcommon.la

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_registry
TESTS += tests/unit/test_registry
tests_unit_test_registry_SOURCES = tests/unit/test_registry.c
tests_unit_test_registry_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_registry_LDADD = supervisor/libregistry.la supervisor/libstore.la common/libcommon.la \
	$(LIBCURL_LIBS) $(LIBEVENT_LIBS) $(CMOCKA_LIBS)
endif
