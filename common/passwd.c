#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/passwd.h"
#include "common/util.h"

#define ID_MAX 0x7fffffffULL
#define LINE_MAX_BYTES 4096

/* The first CNR_PASSWD_READ_MAX bytes of a regular file under the root;
 * NULL (no error) if it does not exist. */
static char *
read_bounded(int rootfd, const char *path, struct cnr_err **err)
{
        struct open_how how = {.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
        _cleanup_close_ int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        struct stat st;
        char *buf;
        size_t len = 0;
        ssize_t n;

        if (fd < 0 && errno == ENOENT)
                return NULL;
        if (fd < 0 || fstat(fd, &st) < 0) {
                cnr_errf(err, errno, "open `/%s` in the image", path);
                return NULL;
        }
        if (!S_ISREG(st.st_mode)) {
                cnr_errf(err, EINVAL, "`/%s` in the image is not a regular file", path);
                return NULL;
        }
        buf = xmalloc(CNR_PASSWD_READ_MAX + 1);
        while (len < CNR_PASSWD_READ_MAX && (n = read(fd, buf + len, CNR_PASSWD_READ_MAX - len)) > 0)
                len += (size_t)n;
        buf[len] = '\0';
        return buf;
}

/* The next complete line (NUL-terminated in place), skipping overlong ones. */
static char *
next_line(char **cur)
{
        while (**cur) {
                char *s = *cur, *nl = strchr(s, '\n');
                if (!nl) { /* the last line may be cut by the bound: dropped */
                        *cur = s + strlen(s);
                        return NULL;
                }
                *nl = '\0';
                *cur = nl + 1;
                if ((size_t)(nl - s) < LINE_MAX_BYTES && s[0] != '#')
                        return s;
        }
        return NULL;
}

/* Split `line` into at most n ':'-separated fields; returns the count. */
static int
fields(char *line, char **f, int n)
{
        int k = 0;

        f[k++] = line;
        for (char *p = line; *p && k < n; p++)
                if (*p == ':') {
                        *p = '\0';
                        f[k++] = p + 1;
                }
        return k;
}

static int
parse_id(const char *s, uint32_t *out)
{
        unsigned long long v;

        if (cnr_parse_uint(s, ID_MAX, &v) < 0)
                return -1;
        *out = (uint32_t)v;
        return 0;
}

static bool
numeric(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!(*s >= '0' && *s <= '9'))
                        return false;
        return true;
}

int
cnr_user_resolve(int rootfd, const char *spec, struct cnr_user *out, struct cnr_err **err)
{
        _cleanup_free_ char *copy = xstrdup(spec), *pw = NULL, *gr = NULL;
        char *user = copy, *group = strchr(copy, ':'), *cur, *line;
        const char *name = NULL;
        bool have_gid = false, found = false;
        char namebuf[256] = "";

        memset(out, 0, sizeof(*out));
        if (group)
                *group++ = '\0';
        if (!*user)
                return cnr_errf(err, EINVAL, "user `%s`: empty", spec);
        /* THREATS 15: a number that is not a valid id is refused, never
         * looked up as a name or wrapped. */
        if (user[0] == '-' || numeric(user)) {
                if (parse_id(user, &out->uid) < 0)
                        return cnr_errf(err, EINVAL, "user `%s`: uid out of range (0..2147483647)", user);
        }
        if (group && (group[0] == '-' || numeric(group))) {
                if (parse_id(group, &out->gid) < 0)
                        return cnr_errf(err, EINVAL, "user `%s`: gid out of range (0..2147483647)", spec);
                have_gid = true;
        }
        pw = read_bounded(rootfd, "etc/passwd", err);
        if (!pw && *err)
                return -1;
        for (cur = pw; pw && (line = next_line(&cur));) {
                char *f[7];
                uint32_t uid, gid;
                if (fields(line, f, 7) < 7 || parse_id(f[2], &uid) < 0 || parse_id(f[3], &gid) < 0)
                        continue;
                if (numeric(user) ? uid != out->uid : strcmp(f[0], user) != 0)
                        continue;
                out->uid = uid;
                if (!have_gid)
                        out->gid = gid;
                snprintf(out->home, sizeof(out->home), "%s", f[5]);
                snprintf(namebuf, sizeof(namebuf), "%s", f[0]);
                name = namebuf;
                found = true;
                break;
        }
        if (!found && !numeric(user))
                return cnr_errf(err, ENOENT, "user `%s` not found in the image's /etc/passwd", user);
        gr = read_bounded(rootfd, "etc/group", err);
        if (!gr && *err)
                return -1;
        if (group && !have_gid) {
                bool gfound = false;
                for (cur = gr; gr && (line = next_line(&cur));) {
                        char *f[4];
                        uint32_t gid;
                        if (fields(line, f, 4) < 3 || strcmp(f[0], group) != 0 || parse_id(f[2], &gid) < 0)
                                continue;
                        out->gid = gid;
                        gfound = true;
                        break;
                }
                if (!gfound)
                        return cnr_errf(err, ENOENT, "group `%s` not found in the image's /etc/group", group);
                free(gr);
                gr = read_bounded(rootfd, "etc/group", err);
                if (!gr && *err)
                        return -1;
        }
        /* Supplementary groups: those listing the user by name. */
        for (cur = gr; gr && name && (line = next_line(&cur)) && out->ngids < CNR_PASSWD_MAX_GROUPS;) {
                char *f[4], *save = NULL;
                uint32_t gid;
                if (fields(line, f, 4) < 4 || parse_id(f[2], &gid) < 0)
                        continue;
                for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
                        if (strcmp(m, name) == 0 && gid != out->gid) {
                                out->gids[out->ngids++] = gid;
                                break;
                        }
        }
        return 0;
}
