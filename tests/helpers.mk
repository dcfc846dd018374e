# Tests of the helper processes: helper-drive starts one helper as the
# monitor would and drives it from the supervisor's side; the integration
# script checks each helper from the outside (/proc, audit log, man page).
check_PROGRAMS += tests/helper-drive
tests_helper_drive_SOURCES = tests/helper-drive.c
tests_helper_drive_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(LIBEVENT_CFLAGS) $(LIBCAP_CFLAGS)
tests_helper_drive_LDADD = ipc/libipc.la common/libcommon.la $(PROTOBUF_C_LIBS) $(LIBEVENT_LIBS) $(LIBCAP_LIBS)

TESTS += tests/integration/helpers.sh
EXTRA_DIST += tests/integration/helpers.sh

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_snapname
TESTS += tests/unit/test_snapname
tests_unit_test_snapname_SOURCES = tests/unit/test_snapname.c helpers/snapd/name.c
tests_unit_test_snapname_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_snapname_LDADD = $(CMOCKA_LIBS)
# snapshot.json of snapshot archives (supervisor/snapmeta.c).
check_PROGRAMS += tests/unit/test_snapmeta
TESTS += tests/unit/test_snapmeta
tests_unit_test_snapmeta_SOURCES = tests/unit/test_snapmeta.c supervisor/snapmeta.c
tests_unit_test_snapmeta_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_snapmeta_LDADD = common/libcommon.la $(JANSSON_LIBS) $(CMOCKA_LIBS)
endif

# Layer tarballs for the snapshot tests, hostile ones included.
check_PROGRAMS += tests/mktar
tests_mktar_SOURCES = tests/mktar.c
tests_mktar_CFLAGS = $(AM_CFLAGS) $(LIBARCHIVE_CFLAGS)
tests_mktar_LDADD = $(LIBARCHIVE_LIBS)
TESTS += tests/integration/layers.sh
EXTRA_DIST += tests/integration/layers.sh

# The snapshotter conformance suite (as root; skipped otherwise).
check_PROGRAMS += tests/snapshots/conformance
TESTS += tests/snapshots/conformance
tests_snapshots_conformance_SOURCES = tests/snapshots/conformance.c
tests_snapshots_conformance_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) \
	$(SQLITE_CFLAGS) $(LIBARCHIVE_CFLAGS) $(LIBCAP_CFLAGS)
tests_snapshots_conformance_LDADD = supervisor/libsnap.la supervisor/libstore.la ipc/libipc.la common/libcommon.la \
	$(PROTOBUF_C_LIBS) $(LIBEVENT_LIBS) $(JANSSON_LIBS) $(SQLITE_LIBS) $(LIBARCHIVE_LIBS) $(LIBCAP_LIBS)

TESTS += tests/integration/snapshots.sh
EXTRA_DIST += tests/integration/snapshots.sh
# containr snapshot ls/inspect/rm/diff/export/import/verify, THREATS 23.
TESTS += tests/integration/snapshot-cmds.sh
EXTRA_DIST += tests/integration/snapshot-cmds.sh tests/snaparchive.py
