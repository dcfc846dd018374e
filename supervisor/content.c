#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/content.h"

struct cnr_content {
        int dirfd;    /* <root>/content */
        int ingestfd; /* <root>/content/ingest */
        int algfd[3]; /* blobs/sha256, blobs/sha512, indexed by alg */
        uint64_t seq;
};

struct cnr_ingest {
        struct cnr_content *c;
        int fd;
        char tmp[64];
        struct cnr_hasher *h;
        bool have_expected;
        struct cnr_digest expected;
        int64_t expected_size;
        uint64_t written;
};

static const char *
alg_dir(enum cnr_digest_alg a)
{
        return a == CNR_DIGEST_SHA512 ? "sha512" : "sha256";
}

static int
mkdir_open(int at, const char *name, struct cnr_err **err)
{
        int fd;

        if (mkdirat(at, name, 0700) < 0 && errno != EEXIST)
                return cnr_errf(err, errno, "create `%s`", name);
        fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cnr_errf(err, errno, "open `%s`", name);
        return fd;
}

int
cnr_content_open(const char *dir, struct cnr_content **out, struct cnr_err **err)
{
        struct cnr_content *c = xcalloc(1, sizeof(*c));
        _cleanup_close_ int blobs = -1;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *e;
        int fd;

        c->dirfd = c->ingestfd = c->algfd[1] = c->algfd[2] = -1;
        c->algfd[0] = -1;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                cnr_errf(err, errno, "create content store `%s`", dir);
                goto fail;
        }
        c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c->dirfd < 0) {
                cnr_errf(err, errno, "open content store `%s`", dir);
                goto fail;
        }
        blobs = mkdir_open(c->dirfd, "blobs", err);
        if (blobs < 0)
                goto fail;
        for (int a = CNR_DIGEST_SHA256; a <= CNR_DIGEST_SHA512; a++) {
                c->algfd[a] = mkdir_open(blobs, alg_dir(a), err);
                if (c->algfd[a] < 0)
                        goto fail;
        }
        c->ingestfd = mkdir_open(c->dirfd, "ingest", err);
        if (c->ingestfd < 0)
                goto fail;
        /* Whatever a crash left in ingest/ was never verified: drop it. */
        fd = fcntl(c->ingestfd, F_DUPFD_CLOEXEC, 0); /* fdopendir takes it */
        if (fd >= 0 && (d = fdopendir(fd)) != NULL) {
                while ((e = readdir(d)) != NULL) {
                        if (e->d_name[0] == '.')
                                continue;
                        if (unlinkat(c->ingestfd, e->d_name, 0) == 0)
                                log_info("content store: removed unfinished ingest `%s`", e->d_name);
                }
        } else if (fd >= 0) {
                close(fd);
        }
        *out = c;
        return 0;
fail:
        cnr_content_close(c);
        return -1;
}

void
cnr_content_close(struct cnr_content *c)
{
        if (c == NULL)
                return;
        for (int i = 0; i < 3; i++)
                if (c->algfd[i] >= 0)
                        close(c->algfd[i]);
        if (c->ingestfd >= 0)
                close(c->ingestfd);
        if (c->dirfd >= 0)
                close(c->dirfd);
        free(c);
}

int
cnr_content_stat(struct cnr_content *c, const struct cnr_digest *d, uint64_t *size, struct cnr_err **err)
{
        struct stat st;

        if (fstatat(c->algfd[d->alg], cnr_digest_hex(d), &st, AT_SYMLINK_NOFOLLOW) < 0)
                return cnr_errf(err, errno, "blob %s", d->str);
        if (!S_ISREG(st.st_mode))
                return cnr_errf(err, EIO, "blob %s is not a regular file", d->str);
        if (size)
                *size = (uint64_t)st.st_size;
        return 0;
}

int
cnr_content_open_blob(struct cnr_content *c, const struct cnr_digest *d, struct cnr_err **err)
{
        int fd = openat(c->algfd[d->alg], cnr_digest_hex(d), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return cnr_errf(err, errno, "open blob %s", d->str);
        return fd;
}

int
cnr_content_read(struct cnr_content *c, const struct cnr_digest *d, size_t max, char **buf, size_t *len,
                 struct cnr_err **err)
{
        _cleanup_close_ int fd = cnr_content_open_blob(c, d, err);
        struct stat st;
        char *b;
        size_t got = 0;

        if (fd < 0)
                return -1;
        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "stat blob %s", d->str);
        if ((uint64_t)st.st_size > max)
                return cnr_errf(err, EFBIG, "blob %s is %lld bytes, over the %zu byte limit", d->str,
                                (long long)st.st_size, max);
        b = xmalloc((size_t)st.st_size + 1);
        while (got < (size_t)st.st_size) {
                ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        free(b);
                        return cnr_errf(err, n < 0 ? errno : EIO, "read blob %s", d->str);
                }
                got += (size_t)n;
        }
        b[got] = '\0';
        *buf = b;
        *len = got;
        return 0;
}

int
cnr_content_delete(struct cnr_content *c, const struct cnr_digest *d, struct cnr_err **err)
{
        if (unlinkat(c->algfd[d->alg], cnr_digest_hex(d), 0) < 0 && errno != ENOENT)
                return cnr_errf(err, errno, "remove blob %s", d->str);
        fsync(c->algfd[d->alg]);
        return 0;
}

int
cnr_content_walk(struct cnr_content *c, int (*cb)(const struct cnr_digest *d, uint64_t size, void *arg), void *arg,
                 struct cnr_err **err)
{
        for (int a = CNR_DIGEST_SHA256; a <= CNR_DIGEST_SHA512; a++) {
                _cleanup_closedir_ DIR *dir = NULL;
                struct dirent *e;
                int fd = openat(c->algfd[a], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
                        if (fd >= 0)
                                close(fd);
                        return cnr_errf(err, errno, "list blobs");
                }
                while ((e = readdir(dir)) != NULL) {
                        struct cnr_digest d;
                        struct stat st;
                        char name[CNR_DIGEST_MAX];

                        if (e->d_name[0] == '.' || strlen(e->d_name) > 128)
                                continue;
                        snprintf(name, sizeof(name), "%s:%s", alg_dir(a), e->d_name);
                        if (cnr_digest_parse(name, &d, NULL) < 0)
                                continue; /* not ours: never touched */
                        if (fstatat(c->algfd[a], e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                                continue;
                        if (cb(&d, (uint64_t)st.st_size, arg) < 0)
                                return 0;
                }
        }
        return 0;
}

struct cnr_ingest *
cnr_ingest_begin(struct cnr_content *c, const struct cnr_digest *expected, int64_t expected_size,
                 struct cnr_err **err)
{
        struct cnr_ingest *in = xcalloc(1, sizeof(*in));

        in->c = c;
        snprintf(in->tmp, sizeof(in->tmp), "ingest-%d-%llu", (int)getpid(), (unsigned long long)++c->seq);
        in->fd = openat(c->ingestfd, in->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (in->fd < 0) {
                cnr_errf(err, errno, "create ingest file");
                free(in);
                return NULL;
        }
        if (expected) {
                in->have_expected = true;
                in->expected = *expected;
        }
        in->expected_size = expected_size;
        in->h = cnr_hasher_new(expected ? expected->alg : CNR_DIGEST_SHA256);
        return in;
}

int
cnr_ingest_write(struct cnr_ingest *in, const void *buf, size_t len, struct cnr_err **err)
{
        if (in->expected_size >= 0 && in->written + len > (uint64_t)in->expected_size)
                return cnr_errf(err, EFBIG, "%s: more than the expected %lld bytes",
                                in->have_expected ? in->expected.str : "blob", (long long)in->expected_size);
        if (cnr_write_all(in->fd, buf, len) < 0)
                return cnr_errf(err, errno, "write ingest file");
        cnr_hasher_update(in->h, buf, len);
        in->written += len;
        return 0;
}

uint64_t
cnr_ingest_written(const struct cnr_ingest *in)
{
        return in->written;
}

void
cnr_ingest_abort(struct cnr_ingest *in)
{
        if (in == NULL)
                return;
        close(in->fd);
        unlinkat(in->c->ingestfd, in->tmp, 0);
        cnr_hasher_free(in->h);
        free(in);
}

int
cnr_ingest_commit(struct cnr_ingest *in, struct cnr_digest *out, struct cnr_err **err)
{
        struct cnr_content *c = in->c;
        struct cnr_digest got;
        int r = -1;

        cnr_hasher_final(in->h, &got);
        in->h = NULL;
        if (in->expected_size >= 0 && in->written != (uint64_t)in->expected_size) {
                cnr_errf(err, EIO, "%s: size mismatch (want %lld bytes, got %llu)",
                         in->have_expected ? in->expected.str : got.str, (long long)in->expected_size,
                         (unsigned long long)in->written);
                goto out;
        }
        if (in->have_expected && !cnr_digest_equal(&got, &in->expected)) {
                cnr_errf(err, EIO, "digest mismatch (want %s, got %s)", in->expected.str, got.str);
                goto out;
        }
        if (fsync(in->fd) < 0 || fchmod(in->fd, 0444) < 0) {
                cnr_errf(err, errno, "sync %s", got.str);
                goto out;
        }
        if (renameat2(c->ingestfd, in->tmp, c->algfd[got.alg], cnr_digest_hex(&got), RENAME_NOREPLACE) < 0) {
                if (errno != EEXIST) {
                        cnr_errf(err, errno, "publish %s", got.str);
                        goto out;
                }
                /* Someone stored the same bytes first: theirs stays. */
        } else if (fsync(c->algfd[got.alg]) < 0) {
                cnr_errf(err, errno, "sync blob directory");
                goto out;
        }
        if (out)
                *out = got;
        r = 0;
out:
        close(in->fd);
        unlinkat(c->ingestfd, in->tmp, 0);
        free(in);
        return r;
}

int
cnr_content_put(struct cnr_content *c, const void *buf, size_t len, const struct cnr_digest *expected,
                struct cnr_digest *out, struct cnr_err **err)
{
        struct cnr_ingest *in = cnr_ingest_begin(c, expected, (int64_t)len, err);

        if (in == NULL)
                return -1;
        if (cnr_ingest_write(in, buf, len, err) < 0) {
                cnr_ingest_abort(in);
                return -1;
        }
        return cnr_ingest_commit(in, out, err);
}
