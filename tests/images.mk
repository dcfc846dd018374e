# Images (issue 3A): references, manifests, image records, archives.
EXTRA_DIST += tests/images.sh tests/integration/images.sh tests/golden/ref tests/golden/manifest
TESTS += tests/integration/images.sh

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_ref tests/unit/test_manifest tests/unit/test_images
TESTS += tests/unit/test_ref tests/unit/test_manifest tests/unit/test_images
tests_unit_test_ref_SOURCES = tests/unit/test_ref.c
tests_unit_test_ref_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_ref_LDADD = common/libcommon.la $(CMOCKA_LIBS)
tests_unit_test_manifest_SOURCES = tests/unit/test_manifest.c
tests_unit_test_manifest_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_manifest_LDADD = supervisor/libstore.la common/libcommon.la $(CMOCKA_LIBS)
tests_unit_test_images_SOURCES = tests/unit/test_images.c
tests_unit_test_images_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_images_LDADD = supervisor/libstore.la common/libcommon.la $(CMOCKA_LIBS)
endif

# The manifest/index/config parser's fuzz target (tests/fuzz/local.mk's pattern).
EXTRA_DIST += tests/fuzz/corpus/manifest
check_PROGRAMS += tests/fuzz/replay_manifest
TESTS += tests/fuzz/replay_manifest
tests_fuzz_replay_manifest_SOURCES = tests/fuzz/fuzz_manifest.c tests/fuzz/replay.c
tests_fuzz_replay_manifest_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS=\"manifest\"
tests_fuzz_replay_manifest_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_replay_manifest_LDADD = supervisor/libstore.la common/libcommon.la
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_manifest
tests_fuzz_fuzz_manifest_SOURCES = tests/fuzz/fuzz_manifest.c
tests_fuzz_fuzz_manifest_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_manifest_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_manifest_LDADD = supervisor/libstore.la common/libcommon.la
endif
