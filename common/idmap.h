/* User-namespace id maps: the one validation every privileged writer of a
 * map applies (the monitor's MakeUserns; the shim checks its spec with the
 * same rules).  THREATS 15: the host side never holds id 0, so the host's
 * root is never anybody inside, and no id reaches 2^31, so none wraps to
 * (uid_t)-1 or lands in the kernel's reserved range. */
#ifndef CNR_IDMAP_H
#define CNR_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CNR_IDMAP_MAX_RANGES 16
#define CNR_IDMAP_ID_MAX 0x7fffffffU

struct cnr_idmap {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
};

/* 0 when `m` (n ranges) is a map we write: 1..CNR_IDMAP_MAX_RANGES ranges,
 * each of size >= 1 with both ends within 0..2^31-1, the host side within
 * 1..2^31-1, no two ranges overlapping on either side (the kernel would
 * refuse those too, after our checks).  Else -1 with EPERM for a map of
 * the host's root, EINVAL otherwise; `what` names the map ("uid_map"). */
int cnr_idmap_check(const char *what, const struct cnr_idmap *m, size_t n, struct cnr_err **err);

/* The map as /proc/<pid>/uid_map takes it ("C H S\n" per range); the
 * length written, or -1 if `len` is too small. */
int cnr_idmap_format(const struct cnr_idmap *m, size_t n, char *buf, size_t len);

#endif
