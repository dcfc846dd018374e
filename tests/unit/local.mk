# tests/unit/: one cmocka program per module (DESIGN.md section 8).  They
# link the same convenience libraries as the daemons.
if HAVE_CMOCKA
UNIT_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(LIBEVENT_CFLAGS) $(CMOCKA_CFLAGS)
UNIT_LDADD = ipc/libipc.la common/libcommon.la $(PROTOBUF_C_LIBS) $(LIBEVENT_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_frame tests/unit/test_permit tests/unit/test_peer
TESTS += tests/unit/test_frame tests/unit/test_permit tests/unit/test_peer

tests_unit_test_frame_SOURCES = tests/unit/test_frame.c
tests_unit_test_frame_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_frame_LDADD = $(UNIT_LDADD)

tests_unit_test_permit_SOURCES = tests/unit/test_permit.c
tests_unit_test_permit_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_permit_LDADD = $(UNIT_LDADD)

tests_unit_test_peer_SOURCES = tests/unit/test_peer.c
tests_unit_test_peer_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_peer_LDADD = $(UNIT_LDADD)
endif

# The lints live in tests/lint/ (one fragment of their own).
include $(top_srcdir)/tests/lint/local.mk
