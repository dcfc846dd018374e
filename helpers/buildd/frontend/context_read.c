/* The build context as buildd sees it: an index of the tar stream the CLI
 * sent (path, type, mode, owner, size, link target, SHA-256 of the data),
 * built while the stream passes; no byte of it is written anywhere.
 *
 * The stream is bounded: at most lim->max_entries entries and
 * lim->max_bytes bytes of file data, and it must arrive within
 * CONTEXT_DEADLINE_MS (the supervisor gives up on the request at 30 s).
 * Entries under CNR_DF_META_DIR/ are not context: the CLI puts the
 * Dockerfile and the .dockerignore it chose there. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"
#include "helpers/buildd/frontend/sha256.h"

#define CONTEXT_DEADLINE_MS 25000
#define META_MAX (4u * 1024 * 1024)

void
cnr_df_context_add(struct cnr_df_context *c, const char *path, enum cnr_df_ftype type, unsigned mode,
                   unsigned long long uid, unsigned long long gid, const void *data, size_t len, const char *link)
{
        struct cnr_df_entry *e = cnr_df_context_entry(c, path);

        e->type = type;
        e->mode = mode & 07777;
        e->uid = uid;
        e->gid = gid;
        e->size = type == CNR_DF_FT_FILE ? len : 0;
        e->link = link ? xstrdup(link) : NULL;
        if (type == CNR_DF_FT_FILE)
                cnr_df_sha256_buf(data ? data : "", len, e->sha256);
        c->bytes += e->size;
}

/* ---- reading the stream ---------------------------------------------------- */

struct reader {
        int fd;
        uint64_t deadline;
        char buf[65536];
        int err;
        bool timed_out;
};

static la_ssize_t
reader_read(struct archive *a, void *arg, const void **out)
{
        struct reader *r = arg;

        for (;;) {
                uint64_t now = cnr_now_ms();
                struct pollfd p = {.fd = r->fd, .events = POLLIN};
                ssize_t n;
                int pr;

                if (now >= r->deadline) {
                        r->timed_out = true;
                        archive_set_error(a, ETIMEDOUT, "not received within %d s", CONTEXT_DEADLINE_MS / 1000);
                        return -1;
                }
                pr = poll(&p, 1, (int)(r->deadline - now));
                if (pr < 0 && errno == EINTR)
                        continue;
                if (pr < 0) {
                        r->err = errno;
                        archive_set_error(a, errno, "poll");
                        return -1;
                }
                if (pr == 0)
                        continue;
                n = read(r->fd, r->buf, sizeof(r->buf));
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0) {
                        r->err = errno;
                        archive_set_error(a, errno, "read");
                        return -1;
                }
                *out = r->buf;
                return n;
        }
}

static int
read_meta(struct archive *a, const char *name, char **out, size_t *outlen, struct cnr_err **err)
{
        struct cnr_df_buf b = {0};
        char chunk[16384];
        la_ssize_t n;

        while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
                if (b.len + (size_t)n > META_MAX) {
                        free(b.s);
                        return cnr_errf(err, EFBIG, "build context: `%s` is larger than %u bytes", name, META_MAX);
                }
                cnr_df_buf_add(&b, chunk, (size_t)n);
        }
        if (n < 0) {
                free(b.s);
                return cnr_errf(err, EIO, "build context: `%s`: %s", name, archive_error_string(a));
        }
        free(*out);
        *outlen = b.len;
        *out = cnr_df_buf_steal(&b);
        return 0;
}

static int
hash_data(struct archive *a, struct cnr_df_entry *e, struct cnr_df_context *c, const struct cnr_df_limits *lim,
          struct cnr_err **err)
{
        struct cnr_df_sha256_ctx *md = cnr_df_sha256_new();
        char chunk[65536];
        la_ssize_t n;
        int rc = -1;

        if (md == NULL) {
                cnr_errf(err, ENOMEM, "SHA-256 context");
                goto out;
        }
        e->size = 0;
        while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
                e->size += (unsigned long long)n;
                c->bytes += (unsigned long long)n;
                if (c->bytes > lim->max_bytes) {
                        cnr_errf(err, EFBIG,
                                 "build context: more than %llu bytes of file data (the limit); "
                                 "list what the build does not need in .dockerignore",
                                 lim->max_bytes);
                        goto out;
                }
                cnr_df_sha256_update(md, chunk, (size_t)n);
        }
        if (n < 0) {
                cnr_errf(err, EIO, "build context: `%s`: %s", e->path, archive_error_string(a));
                goto out;
        }
        cnr_df_sha256_final(md, e->sha256);
        rc = 0;
out:
        cnr_df_sha256_free(md);
        return rc;
}

int
cnr_df_context_read_fd(int fd, const struct cnr_df_limits *lim, struct cnr_df_context **out, struct cnr_err **err)
{
        struct archive *a = archive_read_new();
        struct reader *r = xcalloc(1, sizeof(*r));
        struct cnr_df_context *c = cnr_df_context_new();
        struct archive_entry *ae;
        unsigned long long count = 0;
        int rc = -1, ar;

        r->fd = fd;
        r->deadline = cnr_now_ms() + CONTEXT_DEADLINE_MS;
        archive_read_support_format_tar(a);
        archive_read_support_format_empty(a);
        if (archive_read_open(a, r, NULL, reader_read, NULL) != ARCHIVE_OK) {
                cnr_errf(err, EPROTO, "build context: not a tar stream: %s", archive_error_string(a));
                goto out;
        }
        while ((ar = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
                const char *name = archive_entry_pathname(ae);
                _cleanup_free_ char *clean = NULL;
                struct cnr_df_entry *e;
                mode_t ft;

                if (++count > lim->max_entries) {
                        cnr_errf(err, EFBIG,
                                 "build context: more than %llu entries (the limit); list what the "
                                 "build does not need in .dockerignore",
                                 lim->max_entries);
                        goto out;
                }
                if (name == NULL)
                        continue;
                clean = cnr_df_clean_path(name);
                if (strcmp(clean, CNR_DF_META_DOCKERFILE) == 0) {
                        if (read_meta(a, clean, &c->dockerfile, &c->dockerfile_len, err) < 0)
                                goto out;
                        continue;
                }
                if (strcmp(clean, CNR_DF_META_IGNORE) == 0) {
                        if (read_meta(a, clean, &c->ignore, &c->ignore_len, err) < 0)
                                goto out;
                        c->have_ignore = true;
                        continue;
                }
                if (strcmp(clean, CNR_DF_META_DIR) == 0 ||
                    strncmp(clean, CNR_DF_META_DIR "/", sizeof(CNR_DF_META_DIR)) == 0 || clean[0] == '\0')
                        continue;
                e = cnr_df_context_entry(c, clean);
                e->mode = archive_entry_perm(ae) | (archive_entry_mode(ae) & 07000);
                e->uid = (unsigned long long)archive_entry_uid(ae);
                e->gid = (unsigned long long)archive_entry_gid(ae);
                ft = archive_entry_filetype(ae);
                if (archive_entry_hardlink(ae) != NULL) {
                        e->type = CNR_DF_FT_HARDLINK;
                        e->link = cnr_df_clean_path(archive_entry_hardlink(ae));
                } else if (ft == AE_IFREG) {
                        e->type = CNR_DF_FT_FILE;
                        if (hash_data(a, e, c, lim, err) < 0)
                                goto out;
                } else if (ft == AE_IFDIR) {
                        e->type = CNR_DF_FT_DIR;
                } else if (ft == AE_IFLNK) {
                        e->type = CNR_DF_FT_SYMLINK;
                        e->link = xstrdup(archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "");
                } else {
                        e->type = CNR_DF_FT_OTHER;
                }
        }
        if (ar != ARCHIVE_EOF) {
                if (r->timed_out)
                        cnr_errf(err, ETIMEDOUT, "build context: not received within %d s", CONTEXT_DEADLINE_MS / 1000);
                else
                        cnr_errf(err, EPROTO, "build context: bad tar stream after %llu entries: %s", count,
                                 archive_error_string(a));
                goto out;
        }
        cnr_df_context_finish(c);
        *out = steal_ptr(&c);
        rc = 0;
out:
        archive_read_free(a);
        free(r);
        cnr_df_context_free(c);
        return rc;
}
