#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/authfile.h"
#include "common/util.h"

#define AUTHFILE_MAX (4 << 20)
#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

char *
cnr_authfile_path(void)
{
        const char *dc = getenv("DOCKER_CONFIG");
        const char *home = getenv("HOME");

        if (dc && *dc)
                return xasprintf("%s/config.json", dc);
        return xasprintf("%s/.docker/config.json", home && *home ? home : "/");
}

static const char *
key_of(const char *domain)
{
        if (strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0)
                return DOCKER_HUB_KEY;
        return domain;
}

/* The whole file as JSON; an absent file is an empty object. */
static int
load(const char *path, json_t **out, struct cnr_err **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        json_error_t je;
        struct stat st;
        json_t *doc;

        if (fd < 0) {
                if (errno == ENOENT) {
                        *out = json_object();
                        return 0;
                }
                return cnr_errf(err, errno, "read `%s`", path);
        }
        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "read `%s`", path);
        if (!S_ISREG(st.st_mode) || st.st_size > AUTHFILE_MAX)
                return cnr_errf(err, EINVAL, "`%s` is not a regular file of at most %d bytes", path, AUTHFILE_MAX);
        doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
        if (doc == NULL)
                return cnr_errf(err, EINVAL, "`%s`:%d: %s", path, je.line, je.text);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return cnr_errf(err, EINVAL, "`%s`: not a JSON object", path);
        }
        *out = doc;
        return 0;
}

static int
b64dec(const char *in, char **out, size_t *outlen)
{
        size_t n = strlen(in), o = 0;
        unsigned v = 0;
        int bits = 0;
        char *buf = xmalloc(n + 1);

        for (size_t i = 0; i < n; i++) {
                const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                const char *p;

                if (in[i] == '=')
                        break;
                p = strchr(tbl, in[i]);
                if (p == NULL || in[i] == '\0') {
                        cnr_free_secret(buf, n + 1);
                        return -1;
                }
                v = (v << 6) | (unsigned)(p - tbl);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        buf[o++] = (char)((v >> bits) & 0xff);
                }
        }
        buf[o] = '\0';
        *out = buf;
        *outlen = o;
        return 0;
}

static char *
b64enc(const char *in)
{
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(in), o = 0;
        char *out = xmalloc(4 * ((n + 2) / 3) + 1);
        const unsigned char *s = (const unsigned char *)in;

        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                             (i + 2 < n ? s[i + 2] : 0);
                out[o++] = tbl[(v >> 18) & 63];
                out[o++] = tbl[(v >> 12) & 63];
                out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                out[o++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        out[o] = '\0';
        return out;
}

int
cnr_authfile_get(const char *domain, char **user, char **pass, struct cnr_err **err)
{
        _cleanup_free_ char *path = cnr_authfile_path();
        const char *cands[4];
        json_t *doc = NULL, *auths, *e;
        char *plain = NULL, *colon;
        size_t plen = 0;
        int found = 0;

        if (load(path, &doc, err) < 0)
                return -1;
        auths = json_object_get(doc, "auths");
        cands[0] = key_of(domain);
        cands[1] = domain;
        cands[2] = NULL;
        for (size_t i = 0; cands[i] && !found; i++) {
                const char *a;

                e = json_object_get(auths, cands[i]);
                a = json_string_value(json_object_get(e, "auth"));
                if (a == NULL || *a == '\0')
                        continue;
                if (b64dec(a, &plain, &plen) < 0 || (colon = memchr(plain, ':', plen)) == NULL ||
                    strlen(plain) != plen) {
                        if (plain)
                                cnr_free_secret(plain, plen + 1);
                        json_decref(doc);
                        return cnr_errf(err, EINVAL, "`%s`: the entry for `%s` is not base64 of user:password", path,
                                        cands[i]);
                }
                *colon = '\0';
                *user = xstrdup(plain);
                *pass = xstrdup(colon + 1);
                cnr_free_secret(plain, plen + 1);
                found = 1;
        }
        json_decref(doc);
        return found;
}

static int
store(const char *path, json_t *doc, struct cnr_err **err)
{
        _cleanup_free_ char *dir = xstrdup(path);
        _cleanup_free_ char *tmp = NULL;
        char *slash = strrchr(dir, '/');
        char *text;
        int fd, r;

        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return cnr_errf(err, errno, "create `%s`", dir);
        }
        tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return cnr_errf(err, errno, "create `%s`", tmp);
        text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
        r = cnr_write_all(fd, text, strlen(text));
        if (r == 0)
                r = cnr_write_all(fd, "\n", 1);
        cnr_free_secret(text, strlen(text));
        if (r < 0 || fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
                int e = errno;
                close(fd);
                unlink(tmp);
                return cnr_errf(err, e, "write `%s`", tmp);
        }
        close(fd);
        if (rename(tmp, path) < 0) {
                int e = errno;
                unlink(tmp);
                return cnr_errf(err, e, "rename to `%s`", path);
        }
        return 0;
}

int
cnr_authfile_set(const char *domain, const char *user, const char *pass, struct cnr_err **err)
{
        _cleanup_free_ char *path = cnr_authfile_path();
        size_t n = strlen(user) + strlen(pass) + 2;
        char *plain, *enc;
        json_t *doc = NULL, *auths;
        int r;

        if (strchr(user, ':'))
                return cnr_errf(err, EINVAL, "a user name cannot contain `:`");
        if (load(path, &doc, err) < 0)
                return -1;
        auths = json_object_get(doc, "auths");
        if (!json_is_object(auths)) {
                auths = json_object();
                json_object_set_new(doc, "auths", auths);
        }
        plain = xmalloc(n);
        snprintf(plain, n, "%s:%s", user, pass);
        enc = b64enc(plain);
        cnr_free_secret(plain, n);
        json_object_set_new(auths, key_of(domain), json_pack("{s:s}", "auth", enc));
        cnr_free_secret(enc, strlen(enc));
        r = store(path, doc, err);
        json_decref(doc);
        return r;
}

int
cnr_authfile_remove(const char *domain, struct cnr_err **err)
{
        _cleanup_free_ char *path = cnr_authfile_path();
        json_t *doc = NULL, *auths;
        int removed = 0, r = 0;

        if (load(path, &doc, err) < 0)
                return -1;
        auths = json_object_get(doc, "auths");
        if (json_object_del(auths, key_of(domain)) == 0)
                removed = 1;
        if (strcmp(key_of(domain), domain) != 0 && json_object_del(auths, domain) == 0)
                removed = 1;
        if (removed)
                r = store(path, doc, err);
        json_decref(doc);
        return r < 0 ? -1 : removed;
}
