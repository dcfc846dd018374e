/* Fuzz target for snapd's tar entry-path policy (helpers/snapd/tarpath.c),
 * the first thing every layer entry name meets.
 *
 * The input (up to its first NUL, capped at 8 KiB) is an entry name.
 * Invariants, not just "no crash":
 *   - a refusal leaves a non-empty reason; an accepted name never holds a
 *     `..` component;
 *   - the result is a normalised relative path: no leading or trailing
 *     slash, no empty or "." or ".." component, every component at most 255
 *     bytes, under SNAPD_TARPATH_MAX;
 *   - dirlen and base agree with the path (base is the last component,
 *     path[dirlen] is '/' or the path has one component);
 *   - ROOT has an empty path; PLAIN has a base not starting with ".wh.";
 *     WHITEOUT names a base that is not "", ".", ".." nor ".wh."-prefixed;
 *   - parsing the normalised path of a PLAIN result again gives the same
 *     path (idempotence), and a WHITEOUT's path re-parses as PLAIN;
 *   - a refusal that blames a `..` component is right: the name has one.
 *
 * Built with --enable-fuzzing as tests/fuzz/fuzz_tarpath (libFuzzer) and
 * always as tests/fuzz/replay_tarpath over tests/fuzz/corpus/tarpath/. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/snapd/tarpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
        do {                                                                                                           \
                if (!(cond)) {                                                                                         \
                        fprintf(stderr, "fuzz_tarpath: invariant failed: %s (%s:%d) on `%s`\n", #cond, __FILE__,       \
                                __LINE__, name);                                                                       \
                        abort();                                                                                       \
                }                                                                                                      \
        } while (0)

static int
has_dotdot(const char *s)
{
        const char *p = s;

        while (*p) {
                const char *e;
                while (*p == '/')
                        p++;
                e = p;
                while (*e && *e != '/')
                        e++;
                if (e - p == 2 && p[0] == '.' && p[1] == '.')
                        return 1;
                p = e;
        }
        return 0;
}

static void
check_normalised(const struct snapd_tarpath *tp, const char *name)
{
        const char *p = tp->path;
        size_t len = strlen(p);

        CHECK(len < SNAPD_TARPATH_MAX);
        if (len == 0)
                return;
        CHECK(p[0] != '/' && p[len - 1] != '/');
        while (*p) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                CHECK(n > 0 && n <= 255);
                CHECK(!(n == 1 && p[0] == '.'));
                CHECK(!(n == 2 && p[0] == '.' && p[1] == '.'));
                p += n;
                if (*p == '/')
                        p++;
        }
        /* base is the last component, dirlen the parent's length */
        CHECK(tp->base >= tp->path && tp->base <= tp->path + len);
        CHECK(strchr(tp->base, '/') == NULL);
        if (tp->base == tp->path)
                CHECK(tp->dirlen == 0);
        else
                CHECK(tp->path[tp->dirlen] == '/' && tp->path + tp->dirlen + 1 == tp->base);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct snapd_tarpath tp, again;
        char name[8193];
        const char *why = NULL, *why2 = NULL;
        size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
        int r;

        memcpy(name, data, n);
        name[n] = '\0';
        r = snapd_tarpath_parse(name, &tp, &why);
        if (r < 0) {
                CHECK(why != NULL && why[0] != '\0');
                if (strcmp(why, "a `..` component") == 0)
                        CHECK(has_dotdot(name));
                return 0;
        }
        CHECK(r == 0);
        CHECK(!has_dotdot(name));
        check_normalised(&tp, name);
        switch (tp.kind) {
        case SNAPD_TARPATH_ROOT:
                CHECK(tp.path[0] == '\0');
                break;
        case SNAPD_TARPATH_PLAIN:
                CHECK(tp.path[0] != '\0');
                CHECK(strncmp(tp.base, SNAPD_WH_PREFIX, strlen(SNAPD_WH_PREFIX)) != 0);
                CHECK(snapd_tarpath_parse(tp.path, &again, &why2) == 0);
                CHECK(again.kind == SNAPD_TARPATH_PLAIN && strcmp(again.path, tp.path) == 0);
                break;
        case SNAPD_TARPATH_WHITEOUT:
                CHECK(tp.base[0] != '\0' && strcmp(tp.base, ".") != 0 && strcmp(tp.base, "..") != 0);
                CHECK(strncmp(tp.base, SNAPD_WH_PREFIX, strlen(SNAPD_WH_PREFIX)) != 0);
                CHECK(snapd_tarpath_parse(tp.path, &again, &why2) == 0 && again.kind == SNAPD_TARPATH_PLAIN);
                break;
        case SNAPD_TARPATH_OPAQUE:
                /* the directory itself; "" is the layer root */
                break;
        default:
                CHECK(!"unknown kind");
        }
        return 0;
}
