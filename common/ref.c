/* Image reference parsing and normalisation (see ref.h for the rules). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/ref.h"
#include "common/util.h"

#define REF_INPUT_MAX (CNR_REF_NAME_MAX + 1 + CNR_REF_TAG_MAX + 1 + CNR_DIGEST_MAX)

static bool
is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool
cnr_ref_valid_tag(const char *tag)
{
        size_t n = strlen(tag);

        if (n == 0 || n > CNR_REF_TAG_MAX)
                return false;
        if (!(is_alnum(tag[0]) || tag[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(is_alnum(tag[i]) || tag[i] == '_' || tag[i] == '.' || tag[i] == '-'))
                        return false;
        return true;
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* over [s, s+n). */
static bool
valid_component(const char *s, size_t n)
{
        size_t i = 0;

        if (n == 0 || !is_lower_alnum(s[0]))
                return false;
        while (i < n) {
                if (is_lower_alnum(s[i])) {
                        i++;
                        continue;
                }
                /* a separator: `.`, `_`, `__` or a run of `-` */
                if (s[i] == '.') {
                        i++;
                } else if (s[i] == '_') {
                        i++;
                        if (i < n && s[i] == '_')
                                i++;
                } else if (s[i] == '-') {
                        while (i < n && s[i] == '-')
                                i++;
                } else {
                        return false;
                }
                if (i >= n || !is_lower_alnum(s[i]))
                        return false;
        }
        return true;
}

bool
cnr_ref_valid_path(const char *path)
{
        const char *p = path;

        if (*p == '\0')
                return false;
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t)(slash - p) : strlen(p);

                if (!valid_component(p, n))
                        return false;
                if (slash == NULL)
                        return true;
                p = slash + 1;
        }
}

/* host[:port]: host is dot-separated labels of [A-Za-z0-9-] not starting
 * or ending with `-`, or a bracketed IPv6 address. */
static bool
valid_domain(const char *d)
{
        const char *port = NULL;
        const char *end;

        if (d[0] == '[') {
                const char *close = strchr(d, ']');
                if (close == NULL || close == d + 1)
                        return false;
                for (const char *c = d + 1; c < close; c++)
                        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F') ||
                              *c == ':'))
                                return false;
                if (close[1] == '\0')
                        return true;
                if (close[1] != ':')
                        return false;
                port = close + 2;
        } else {
                const char *colon = strchr(d, ':');
                const char *label = d;

                end = colon ? colon : d + strlen(d);
                if (end == d)
                        return false;
                for (const char *c = d; c <= end; c++) {
                        if (c == end || *c == '.') {
                                size_t n = (size_t)(c - label);
                                if (n == 0 || label[0] == '-' || label[n - 1] == '-')
                                        return false;
                                label = c + 1;
                                continue;
                        }
                        if (!(is_alnum(*c) || *c == '-'))
                                return false;
                }
                if (colon)
                        port = colon + 1;
        }
        if (port) {
                size_t n = strlen(port);
                if (n == 0 || n > 5)
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (port[i] < '0' || port[i] > '9')
                                return false;
        }
        return true;
}

static bool
has_upper(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                        return true;
        return false;
}

bool
cnr_ref_looks_like_id(const char *s)
{
        size_t n;

        if (strncmp(s, "sha256:", 7) == 0)
                s += 7;
        n = strlen(s);
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

void
cnr_ref_format(struct cnr_ref *r)
{
        size_t dl = strnlen(r->domain, sizeof(r->domain) - 1);
        size_t pl = strnlen(r->path, sizeof(r->path) - 1);

        /* The parser keeps domain + "/" + path within the limit; clamp
         * anyway for callers that filled the fields themselves. */
        if (dl > CNR_REF_NAME_MAX - 1)
                dl = CNR_REF_NAME_MAX - 1;
        if (pl > CNR_REF_NAME_MAX - 1 - dl)
                pl = CNR_REF_NAME_MAX - 1 - dl;
        memcpy(r->name, r->domain, dl);
        r->name[dl] = '/';
        memcpy(r->name + dl + 1, r->path, pl);
        r->name[dl + 1 + pl] = '\0';
        snprintf(r->str, sizeof(r->str), "%s%s%s%s%s", r->name, r->tag[0] ? ":" : "", r->tag, r->has_digest ? "@" : "",
                 r->has_digest ? r->digest.str : "");
}

static int
parse(const char *s, bool default_tag, struct cnr_ref *out, struct cnr_err **err)
{
        char buf[REF_INPUT_MAX + 1];
        char *at, *slash, *colon, *rest;
        size_t n;

        memset(out, 0, sizeof(*out));
        if (s == NULL || *s == '\0')
                return cnr_errf(err, EINVAL, "empty image reference");
        n = strlen(s);
        if (n > REF_INPUT_MAX)
                return cnr_errf(err, EINVAL, "image reference `%.40s...` is too long (%zu characters)", s, n);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
                        return cnr_errf(err, EINVAL, "image reference `%.80s`: character %zu is not allowed", s, i + 1);
        memcpy(buf, s, n + 1);

        at = strchr(buf, '@');
        if (at) {
                *at = '\0';
                if (cnr_digest_parse(at + 1, &out->digest, err) < 0)
                        return cnr_err_wrap(err, "image reference `%s`", s);
                out->has_digest = true;
        }
        slash = strrchr(buf, '/');
        colon = strrchr(slash ? slash : buf, ':');
        if (colon) {
                *colon = '\0';
                if (!cnr_ref_valid_tag(colon + 1))
                        return cnr_errf(err, EINVAL,
                                        "image reference `%s`: tag `%.140s` is invalid (want [A-Za-z0-9_] then up "
                                        "to 127 of [A-Za-z0-9_.-])",
                                        s, colon + 1);
                memcpy(out->tag, colon + 1, strlen(colon + 1) + 1);
        }
        if (buf[0] == '\0')
                return cnr_errf(err, EINVAL, "image reference `%s` has no repository name", s);
        if (!at && !colon && strlen(buf) == 64 && cnr_ref_looks_like_id(buf))
                return cnr_errf(err, EINVAL,
                                "image reference `%s`: a 64-character hexadecimal string is an id, not a name", s);

        slash = strchr(buf, '/');
        if (slash &&
            (memchr(buf, '.', (size_t)(slash - buf)) || memchr(buf, ':', (size_t)(slash - buf)) ||
             (slash - buf == 9 && strncmp(buf, "localhost", 9) == 0) || has_upper(buf, (size_t)(slash - buf)))) {
                *slash = '\0';
                if (!valid_domain(buf))
                        return cnr_errf(err, EINVAL, "image reference `%s`: registry `%s` is not a valid host[:port]",
                                        s, buf);
                if (strlen(buf) > CNR_REF_NAME_MAX)
                        return cnr_errf(err, EINVAL, "image reference `%s`: registry name is too long", s);
                memcpy(out->domain, buf, strlen(buf) + 1);
                rest = slash + 1;
        } else {
                memcpy(out->domain, CNR_REF_DEFAULT_DOMAIN, sizeof(CNR_REF_DEFAULT_DOMAIN));
                rest = buf;
        }
        if (strcmp(out->domain, "index.docker.io") == 0)
                memcpy(out->domain, CNR_REF_DEFAULT_DOMAIN, sizeof(CNR_REF_DEFAULT_DOMAIN));

        if (!cnr_ref_valid_path(rest)) {
                if (has_upper(rest, strlen(rest)))
                        return cnr_errf(err, EINVAL, "image reference `%s`: repository name `%s` must be lowercase", s,
                                        rest);
                return cnr_errf(err, EINVAL,
                                "image reference `%s`: repository name `%s` is invalid (components of [a-z0-9] "
                                "separated by `.`, `_`, `__` or `-`, joined by `/`)",
                                s, rest);
        }
        if (strcmp(out->domain, CNR_REF_DEFAULT_DOMAIN) == 0 && strchr(rest, '/') == NULL) {
                if (strlen(rest) + 8 > CNR_REF_NAME_MAX)
                        return cnr_errf(err, EINVAL, "image reference `%s`: name longer than %d characters", s,
                                        CNR_REF_NAME_MAX);
                snprintf(out->path, sizeof(out->path), "library/%s", rest);
        } else {
                if (strlen(rest) > CNR_REF_NAME_MAX)
                        return cnr_errf(err, EINVAL, "image reference `%s`: name longer than %d characters", s,
                                        CNR_REF_NAME_MAX);
                memcpy(out->path, rest, strlen(rest) + 1);
        }
        if (strlen(out->domain) + 1 + strlen(out->path) > CNR_REF_NAME_MAX)
                return cnr_errf(err, EINVAL, "image reference `%s`: name longer than %d characters", s,
                                CNR_REF_NAME_MAX);
        if (default_tag && !out->tag[0] && !out->has_digest)
                memcpy(out->tag, CNR_REF_DEFAULT_TAG, sizeof(CNR_REF_DEFAULT_TAG));
        cnr_ref_format(out);
        return 0;
}

int
cnr_ref_parse(const char *s, struct cnr_ref *out, struct cnr_err **err)
{
        return parse(s, true, out, err);
}

int
cnr_ref_parse_name(const char *s, struct cnr_ref *out, struct cnr_err **err)
{
        return parse(s, false, out, err);
}

void
cnr_ref_familiar(const struct cnr_ref *r, char *buf, size_t n)
{
        const char *path = r->path;
        const char *tagsep = r->tag[0] ? ":" : "";
        const char *dsep = r->has_digest ? "@" : "";
        const char *dig = r->has_digest ? r->digest.str : "";

        if (strcmp(r->domain, CNR_REF_DEFAULT_DOMAIN) != 0) {
                snprintf(buf, n, "%s", r->str);
                return;
        }
        if (strncmp(path, "library/", 8) == 0 && strchr(path + 8, '/') == NULL)
                path += 8;
        snprintf(buf, n, "%s%s%s%s%s", path, tagsep, r->tag, dsep, dig);
}
