# tests/: the runtime core -- containr-shim driven as the monitor drives it
# (shim-drive), a static probe run inside containers, and the suite.
check_PROGRAMS += tests/shim-drive tests/probe
tests_shim_drive_SOURCES = tests/shim-drive.c
tests_shim_drive_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_shim_drive_LDADD = ipc/libipc.la common/libcommon.la $(PROTOBUF_C_LIBS)
# The probe runs inside busybox containers, which have no libc: static.
tests_probe_SOURCES = tests/probe.c
tests_probe_LDFLAGS = -all-static
tests_probe_CFLAGS = -Wall -Wextra -O2

TESTS += tests/integration/shim.sh
EXTRA_DIST += tests/integration/shim.sh

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_passwd
TESTS += tests/unit/test_passwd
tests_unit_test_passwd_SOURCES = tests/unit/test_passwd.c
tests_unit_test_passwd_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_passwd_LDADD = common/libcommon.la $(CMOCKA_LIBS)
endif
