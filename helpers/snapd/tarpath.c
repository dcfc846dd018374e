/* See tarpath.h: the entry-name policy of the layer apply. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "helpers/snapd/tarpath.h"

#define COMPONENT_MAX 255

int
snapd_tarpath_parse(const char *name, struct snapd_tarpath *out, const char **why)
{
        size_t len = 0, last = 0; /* last: where the last component starts in out->path */
        const char *p = name;

        memset(out, 0, offsetof(struct snapd_tarpath, path) + 1);
        out->path[0] = '\0';
        if (name == NULL) {
                *why = "no name";
                return -1;
        }
        while (*p) {
                const char *start, *end;
                size_t n;

                while (*p == '/')
                        p++;
                start = p;
                while (*p && *p != '/')
                        p++;
                end = p;
                n = (size_t)(end - start);
                if (n == 0 || (n == 1 && start[0] == '.'))
                        continue;
                if (n == 2 && start[0] == '.' && start[1] == '.') {
                        *why = "a `..` component";
                        return -1;
                }
                if (n > COMPONENT_MAX) {
                        *why = "a component longer than 255 bytes";
                        return -1;
                }
                if (len + (len ? 1 : 0) + n + 1 > sizeof(out->path)) {
                        *why = "longer than 4096 bytes";
                        return -1;
                }
                if (len)
                        out->path[len++] = '/';
                last = len;
                memcpy(out->path + len, start, n);
                len += n;
                out->path[len] = '\0';
        }
        if (len == 0) {
                out->kind = SNAPD_TARPATH_ROOT;
                out->base = out->path;
                return 0;
        }
        out->dirlen = last ? last - 1 : 0;
        out->base = out->path + last;
        if (strncmp(out->base, SNAPD_WH_PREFIX, strlen(SNAPD_WH_PREFIX)) != 0) {
                out->kind = SNAPD_TARPATH_PLAIN;
                return 0;
        }
        if (strcmp(out->base, SNAPD_WH_OPAQUE) == 0) {
                /* The path becomes the directory itself. */
                out->kind = SNAPD_TARPATH_OPAQUE;
                out->path[out->dirlen] = '\0';
                len = out->dirlen;
                last = 0;
                for (size_t i = 0; i < len; i++)
                        if (out->path[i] == '/')
                                last = i + 1;
                out->dirlen = last ? last - 1 : 0;
                out->base = out->path + last;
                return 0;
        }
        {
                const char *hidden = out->base + strlen(SNAPD_WH_PREFIX);
                size_t hl = strlen(hidden);

                if (hl == 0 || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0) {
                        *why = "a whiteout of nothing, `.` or `..`";
                        return -1;
                }
                if (strncmp(hidden, SNAPD_WH_PREFIX, strlen(SNAPD_WH_PREFIX)) == 0) {
                        *why = "a reserved `.wh..wh.` name other than the opaque marker";
                        return -1;
                }
                memmove((char *)out->base, hidden, hl + 1);
                out->kind = SNAPD_TARPATH_WHITEOUT;
        }
        return 0;
}
