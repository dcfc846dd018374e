# Networks (issue 4): netd driven directly, then through containrd.  Both
# as root (skipped otherwise) with the CNI plugins of
# containernetworking-plugins; they use only bridges and subnets they pick
# (tests/netlib.sh) and 127.0.0.1.
TESTS += tests/integration/netd.sh tests/integration/networks.sh
EXTRA_DIST += tests/integration/netd.sh tests/integration/networks.sh tests/netlib.sh

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_cidr
TESTS += tests/unit/test_cidr
tests_unit_test_cidr_SOURCES = tests/unit/test_cidr.c
tests_unit_test_cidr_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_cidr_LDADD = common/libcommon.la $(CMOCKA_LIBS)
endif
