/* User-namespace id maps: validation and formatting (common/idmap.h). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/idmap.h"

static bool
overlaps(uint32_t a, uint32_t asize, uint32_t b, uint32_t bsize)
{
        return (uint64_t)a < (uint64_t)b + bsize && (uint64_t)b < (uint64_t)a + asize;
}

int
cnr_idmap_check(const char *what, const struct cnr_idmap *m, size_t n, struct cnr_err **err)
{
        if (n == 0 || n > CNR_IDMAP_MAX_RANGES)
                return cnr_errf(err, EINVAL, "%s: %zu ranges, want 1 to %d", what, n, CNR_IDMAP_MAX_RANGES);
        for (size_t i = 0; i < n; i++) {
                uint64_t cend = (uint64_t)m[i].container_id + m[i].size - 1;
                uint64_t hend = (uint64_t)m[i].host_id + m[i].size - 1;

                if (m[i].size == 0)
                        return cnr_errf(err, EINVAL, "%s: range %zu is empty", what, i);
                if (m[i].host_id == 0)
                        return cnr_errf(err, EPERM, "%s: range %zu maps the host's id 0 (root): refused", what, i);
                if (m[i].container_id > CNR_IDMAP_ID_MAX || cend > CNR_IDMAP_ID_MAX ||
                    m[i].host_id > CNR_IDMAP_ID_MAX || hend > CNR_IDMAP_ID_MAX)
                        return cnr_errf(err, EINVAL, "%s: range %zu (`%u %u %u`) goes beyond id %u", what, i,
                                        m[i].container_id, m[i].host_id, m[i].size, CNR_IDMAP_ID_MAX);
                for (size_t k = 0; k < i; k++)
                        if (overlaps(m[i].container_id, m[i].size, m[k].container_id, m[k].size) ||
                            overlaps(m[i].host_id, m[i].size, m[k].host_id, m[k].size))
                                return cnr_errf(err, EINVAL, "%s: ranges %zu and %zu overlap", what, k, i);
        }
        return 0;
}

int
cnr_idmap_format(const struct cnr_idmap *m, size_t n, char *buf, size_t len)
{
        size_t off = 0;

        if (len == 0)
                return -1;
        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                int w = snprintf(buf + off, len - off, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
                if (w < 0 || (size_t)w >= len - off)
                        return -1;
                off += (size_t)w;
        }
        return (int)off;
}
