/* Replays a fuzz target's corpus without libFuzzer, for `make check`.
 *
 * Usage: replay_<target> [file-or-dir ...]; with no argument, the files in
 * $top_srcdir/tests/fuzz/corpus/<FUZZ_CORPUS>/.  Each input is handed to
 * LLVMFuzzerTestOneInput in a buffer of exactly its size, so that a
 * sanitizer build catches reads past the end.  An invariant failure aborts;
 * an empty corpus is an error (a replay that runs nothing tests nothing). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#ifndef FUZZ_CORPUS
#error "FUZZ_CORPUS must name the corpus directory under tests/fuzz/corpus/"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(int dirfd, const char *name, const char *shown)
{
        struct stat st;
        uint8_t *buf;
        size_t off = 0;
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "replay: %s: %s\n", shown, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return 0;
        }
        buf = xmalloc((size_t)st.st_size);
        while (off < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        fprintf(stderr, "replay: %s: short read\n", shown);
                        free(buf);
                        close(fd);
                        return -1;
                }
                off += (size_t)n;
        }
        close(fd);
        fprintf(stderr, "replay: %s (%zu bytes)\n", shown, off);
        LLVMFuzzerTestOneInput(buf, off);
        free(buf);
        return 1;
}

static int
replay_path(const char *path, size_t *count)
{
        struct stat st;
        struct dirent **ents;
        int n, dirfd, bad = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                int r = replay_file(AT_FDCWD, path, path);
                if (r > 0)
                        (*count)++;
                return r < 0 ? -1 : 0;
        }
        dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -1;
        }
        n = scandir(path, &ents, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                close(dirfd);
                return -1;
        }
        for (int i = 0; i < n; i++) {
                if (ents[i]->d_name[0] != '.') {
                        char *shown = xasprintf("%s/%s", path, ents[i]->d_name);
                        int r = replay_file(dirfd, ents[i]->d_name, shown);
                        if (r < 0)
                                bad = 1;
                        else if (r > 0)
                                (*count)++;
                        free(shown);
                }
                free(ents[i]);
        }
        free(ents);
        close(dirfd);
        return bad ? -1 : 0;
}

int
main(int argc, char **argv)
{
        size_t count = 0;
        int bad = 0;

        if (argc > 1) {
                for (int i = 1; i < argc; i++)
                        if (replay_path(argv[i], &count) < 0)
                                bad = 1;
        } else {
                const char *top = getenv("top_srcdir");
                char *dir = xasprintf("%s/tests/fuzz/corpus/%s", top ? top : ".", FUZZ_CORPUS);
                if (replay_path(dir, &count) < 0)
                        bad = 1;
                free(dir);
        }
        if (count == 0) {
                fprintf(stderr, "replay: no inputs found\n");
                return 1;
        }
        fprintf(stderr, "replay: %zu inputs, %s\n", count, bad ? "with errors" : "all invariants held");
        return bad ? 1 : 0;
}
