# cli/: containr, the operator's command-line client of containrd.
bin_PROGRAMS += cli/containr
cli_containr_SOURCES = \
	cli/main.c cli/cli.h \
	cli/cmd_network.c \
	cli/client.c cli/client.h \
	cli/table.c \
	cli/cmd_version.c \
	cli/cmd_info.c \
	cli/cmd_system.c \
	cli/cmd_images.c \
	cli/cmd_registry.c cli/authfile.c cli/authfile.h \
	cli/cmd_build.c cli/archive.c cli/archive.h cli/crypto.c cli/crypto.h \
	cli/container.h cli/relay.c cli/cmd_run.c cli/cmd_container.c cli/cmd_volume.c \
	cli/cmd_snapshot.c \
	cli/util.c cli/util.h
cli_containr_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(JANSSON_CFLAGS) $(LIBCAP_CFLAGS) $(FRONTEND_CFLAGS)
# The front end without its linked SHA-256 (cli/crypto.c loads libcrypto
# for `build`); --as-needed so that libcommon's libraries the CLI does not
# call (libcrypto among them) are not recorded whatever the toolchain's default.
cli_containr_LDADD = ipc/libipc.la common/libcommon.la $(PROTOBUF_C_LIBS) $(JANSSON_LIBS) $(LIBCAP_LIBS) \
	$(FRONTEND_NOCRYPTO_LIBS)
cli_containr_LDFLAGS = $(AM_LDFLAGS) -Wl,--as-needed

dist_man_MANS += man/containr.1 man/containr.yaml.5
dist_man_MANS += man/containr-snapshot.1
dist_man_MANS += man/containr-pull.1 man/containr-push.1 man/containr-login.1 man/containr-logout.1
dist_man_MANS += man/containr-run.1 man/containr-create.1 man/containr-start.1 man/containr-stop.1 \
	man/containr-restart.1 man/containr-kill.1 man/containr-rm.1 man/containr-ps.1 man/containr-logs.1 \
	man/containr-exec.1 man/containr-wait.1 man/containr-inspect.1 man/containr-top.1 man/containr-stats.1 \
	man/containr-attach.1 man/containr-volume.1
EXTRA_DIST += contrib/containr.yaml tests/golden/config

# The config parser (common/conf.c) and its golden files.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_conf
TESTS += tests/unit/test_conf
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_conf_LDADD = common/libcommon.la $(CMOCKA_LIBS)
endif

# The CLI from the outside: errors a user meets without a daemon, then
# every command against a real containrd (tests/lib.sh; root, else skipped).
TESTS += tests/integration/cli-errors.sh tests/integration/cli.sh
EXTRA_DIST += tests/integration/cli-errors.sh tests/integration/cli.sh
