# tests/fuzz/: one fuzz target per decoder (DESIGN.md section 8).
#
# Each target's source is built twice:
#   - always, with tests/fuzz/replay.c as tests/fuzz/replay_<target>, which
#     `make check` runs over tests/fuzz/corpus/<target>/;
#   - with `./configure --enable-fuzzing CC=clang`, as the libFuzzer binary
#     tests/fuzz/fuzz_<target> (see tests/fuzz/README.md).
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/gen-frame-seeds.py tests/fuzz/corpus

FUZZ_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
FUZZ_LDADD = ipc/libipc.la common/libcommon.la $(PROTOBUF_C_LIBS) $(LIBEVENT_LIBS)

check_PROGRAMS += tests/fuzz/replay_frame
TESTS += tests/fuzz/replay_frame
tests_fuzz_replay_frame_SOURCES = tests/fuzz/fuzz_frame.c tests/fuzz/replay.c
tests_fuzz_replay_frame_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS=\"frame\"
tests_fuzz_replay_frame_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_replay_frame_LDADD = $(FUZZ_LDADD)

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_frame
tests_fuzz_fuzz_frame_SOURCES = tests/fuzz/fuzz_frame.c
tests_fuzz_fuzz_frame_CFLAGS = $(FUZZ_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_frame_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_frame_LDADD = $(FUZZ_LDADD)
endif

# dockerfile: the build front end (helpers/buildd/frontend) on arbitrary bytes.
check_PROGRAMS += tests/fuzz/replay_dockerfile
TESTS += tests/fuzz/replay_dockerfile
tests_fuzz_replay_dockerfile_SOURCES = tests/fuzz/fuzz_dockerfile.c tests/fuzz/replay.c
tests_fuzz_replay_dockerfile_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS=\"dockerfile\"
tests_fuzz_replay_dockerfile_CFLAGS = $(FRONTEND_CFLAGS)
tests_fuzz_replay_dockerfile_LDADD = $(FRONTEND_LIBS)

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_dockerfile
tests_fuzz_fuzz_dockerfile_SOURCES = tests/fuzz/fuzz_dockerfile.c
tests_fuzz_fuzz_dockerfile_CFLAGS = $(FRONTEND_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_dockerfile_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_dockerfile_LDADD = $(FRONTEND_LIBS)
endif

# snapd's tar entry-path policy (helpers/snapd/tarpath.c).
check_PROGRAMS += tests/fuzz/replay_tarpath
TESTS += tests/fuzz/replay_tarpath
tests_fuzz_replay_tarpath_SOURCES = tests/fuzz/fuzz_tarpath.c tests/fuzz/replay.c helpers/snapd/tarpath.c
tests_fuzz_replay_tarpath_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS=\"tarpath\"
tests_fuzz_replay_tarpath_CFLAGS = $(AM_CFLAGS)
tests_fuzz_replay_tarpath_LDADD = common/libcommon.la

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_tarpath
tests_fuzz_fuzz_tarpath_SOURCES = tests/fuzz/fuzz_tarpath.c helpers/snapd/tarpath.c
tests_fuzz_fuzz_tarpath_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_tarpath_LDFLAGS = -fsanitize=fuzzer
endif

# snapshot.json of snapshot archives (supervisor/snapmeta.c, THREATS 23).
check_PROGRAMS += tests/fuzz/replay_snapmeta
TESTS += tests/fuzz/replay_snapmeta
tests_fuzz_replay_snapmeta_SOURCES = tests/fuzz/fuzz_snapmeta.c tests/fuzz/replay.c supervisor/snapmeta.c
tests_fuzz_replay_snapmeta_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS=\"snapmeta\"
tests_fuzz_replay_snapmeta_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_replay_snapmeta_LDADD = common/libcommon.la $(JANSSON_LIBS)

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_snapmeta
tests_fuzz_fuzz_snapmeta_SOURCES = tests/fuzz/fuzz_snapmeta.c supervisor/snapmeta.c
tests_fuzz_fuzz_snapmeta_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_snapmeta_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_snapmeta_LDADD = common/libcommon.la $(JANSSON_LIBS)
endif
