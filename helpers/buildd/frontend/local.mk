# helpers/buildd/frontend/: the Dockerfile front end (parse, check, plan)
# as a convenience library.  containr-buildd, the CLI (for the
# .dockerignore matcher and the context stream), the unit tests, the golden
# runner and the fuzz target all link the same objects.
noinst_LTLIBRARIES += helpers/buildd/frontend/libfrontend.la
helpers_buildd_frontend_libfrontend_la_SOURCES = \
	helpers/buildd/frontend/df.h \
	helpers/buildd/frontend/dfutil.c \
	helpers/buildd/frontend/directives.c \
	helpers/buildd/frontend/parser.c \
	helpers/buildd/frontend/dump.c \
	helpers/buildd/frontend/instr.c \
	helpers/buildd/frontend/runmount.c \
	helpers/buildd/frontend/lex.c \
	helpers/buildd/frontend/ignore.c \
	helpers/buildd/frontend/context.c \
	helpers/buildd/frontend/context_read.c \
	helpers/buildd/frontend/planner.h \
	helpers/buildd/frontend/plan.c \
	helpers/buildd/frontend/imgconfig.c \
	helpers/buildd/frontend/facts.c \
	helpers/buildd/frontend/cachekey.c \
	helpers/buildd/frontend/lint.c \
	helpers/buildd/frontend/report.c
helpers_buildd_frontend_libfrontend_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBARCHIVE_CFLAGS)
helpers_buildd_frontend_libfrontend_la_LIBADD = common/libcommon.la $(JANSSON_LIBS) $(LIBARCHIVE_LIBS)
# Its SHA-256 (sha256.h) with OpenSSL's EVP linked: everything that links
# the front end takes this one (FRONTEND_LIBS) except the CLI, which loads
# libcrypto with dlopen for `build` only (cli/crypto.c).
noinst_LTLIBRARIES += helpers/buildd/frontend/libfrontend_evp.la
helpers_buildd_frontend_libfrontend_evp_la_SOURCES = \
	helpers/buildd/frontend/sha256.h \
	helpers/buildd/frontend/sha256_evp.c
helpers_buildd_frontend_libfrontend_evp_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
helpers_buildd_frontend_libfrontend_evp_la_LIBADD = $(OPENSSL_LIBS)
FRONTEND_NOCRYPTO_LIBS = helpers/buildd/frontend/libfrontend.la common/libcommon.la $(JANSSON_LIBS) $(LIBARCHIVE_LIBS)
FRONTEND_LIBS = helpers/buildd/frontend/libfrontend.la helpers/buildd/frontend/libfrontend_evp.la common/libcommon.la \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) $(LIBARCHIVE_LIBS)
FRONTEND_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(LIBARCHIVE_CFLAGS)

# Golden files: tests/golden/dockerfile/{ok,bad}/<case>/ (README.md there).
check_PROGRAMS += tests/golden/dockerfile-golden
TESTS += tests/golden/dockerfile-golden
tests_golden_dockerfile_golden_SOURCES = tests/golden/dockerfile-golden.c
tests_golden_dockerfile_golden_CFLAGS = $(FRONTEND_CFLAGS)
tests_golden_dockerfile_golden_LDADD = $(FRONTEND_LIBS)
EXTRA_DIST += tests/golden/dockerfile

# The whole path CLI -> containrd -> containr-buildd (root, else skipped).
TESTS += tests/integration/build-check.sh
EXTRA_DIST += tests/integration/build-check.sh

# Table tests of the expansion lexer, .dockerignore and cache keys.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_df_lex tests/unit/test_df_ignore tests/unit/test_df_cachekey tests/unit/test_df_facts
TESTS += tests/unit/test_df_lex tests/unit/test_df_ignore tests/unit/test_df_cachekey tests/unit/test_df_facts
tests_unit_test_df_lex_SOURCES = tests/unit/test_df_lex.c
tests_unit_test_df_lex_CFLAGS = $(FRONTEND_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_df_lex_LDADD = $(FRONTEND_LIBS) $(CMOCKA_LIBS)
tests_unit_test_df_ignore_SOURCES = tests/unit/test_df_ignore.c
tests_unit_test_df_ignore_CFLAGS = $(FRONTEND_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_df_ignore_LDADD = $(FRONTEND_LIBS) $(CMOCKA_LIBS)
tests_unit_test_df_cachekey_SOURCES = tests/unit/test_df_cachekey.c
tests_unit_test_df_cachekey_CFLAGS = $(FRONTEND_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_df_cachekey_LDADD = $(FRONTEND_LIBS) $(CMOCKA_LIBS)
tests_unit_test_df_facts_SOURCES = tests/unit/test_df_facts.c
tests_unit_test_df_facts_CFLAGS = $(FRONTEND_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_df_facts_LDADD = $(FRONTEND_LIBS) $(CMOCKA_LIBS)
endif

dist_man_MANS += man/containr-build.1
