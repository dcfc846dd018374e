/* The tar entry-path policy of snapd's layer apply: pure string work, no
 * system calls, so it is unit-tested and fuzzed on its own
 * (tests/fuzz/fuzz_tarpath.c).
 *
 * A layer entry's name is turned into a relative path of plain components
 * (no "", ".", ".." and no slash at either end) that the apply code then
 * resolves under the snapshot's fs fd:
 *   - a leading "/" is dropped: absolute names are relative to the layer
 *     root, as every OCI consumer reads them;
 *   - "." and empty components are dropped ("./etc//x" is "etc/x");
 *   - a ".." component anywhere is refused: a layer never needs one, and
 *     refusing is simpler to trust than clamping (THREATS.md 16);
 *   - a last component ".wh.NAME" is a whiteout of NAME: NAME must be a
 *     plain component, not "", "." or "..", not itself ".wh."-prefixed
 *     (THREATS.md 20: ".wh.", ".wh..", ".wh..." are refused, their parent
 *     left alone); ".wh..wh..opq" makes its directory opaque;
 *   - components are at most 255 bytes, the whole path under
 *     SNAPD_TARPATH_MAX.
 * Only the last component is special: ".wh.etc/x" is a plain file. */
#ifndef CNR_SNAPD_TARPATH_H
#define CNR_SNAPD_TARPATH_H

#include <stddef.h>

#define SNAPD_TARPATH_MAX 4096
#define SNAPD_WH_PREFIX ".wh."
#define SNAPD_WH_OPAQUE ".wh..wh..opq"

enum snapd_tarpath_kind {
        SNAPD_TARPATH_ROOT = 0, /* the layer root itself ("", ".", "/", "./") */
        SNAPD_TARPATH_PLAIN,    /* an entry to create at path */
        SNAPD_TARPATH_WHITEOUT, /* hide path (the NAME of .wh.NAME) from lower layers */
        SNAPD_TARPATH_OPAQUE,   /* hide the lower children of directory path ("" = the root) */
};

struct snapd_tarpath {
        enum snapd_tarpath_kind kind;
        char path[SNAPD_TARPATH_MAX]; /* normalised; "" for ROOT and for an opaque root */
        size_t dirlen;                /* path[0..dirlen) is the parent ("" at top level) */
        const char *base;             /* the last component, inside path ("" for ROOT/opaque root) */
};

/* 0 and *out, or -1 with *why set to a static reason. */
int snapd_tarpath_parse(const char *name, struct snapd_tarpath *out, const char **why);

#endif
