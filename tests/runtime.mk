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

# The cgroup v2 device filter (helpers/shim/devices.c) from the outside.
check_PROGRAMS += tests/devcg
tests_devcg_SOURCES = tests/devcg.c helpers/shim/devices.c helpers/shim/devices.h
tests_devcg_LDADD = common/libcommon.la
TESTS += tests/integration/devices.sh
EXTRA_DIST += tests/integration/devices.sh

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_passwd
TESTS += tests/unit/test_passwd
tests_unit_test_passwd_SOURCES = tests/unit/test_passwd.c
tests_unit_test_passwd_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_passwd_LDADD = common/libcommon.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_devices
TESTS += tests/unit/test_devices
tests_unit_test_devices_SOURCES = tests/unit/test_devices.c helpers/shim/devices.c helpers/shim/devices.h
tests_unit_test_devices_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_devices_LDADD = common/libcommon.la $(CMOCKA_LIBS)
endif
