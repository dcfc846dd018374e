#include "config.h"

#include <errno.h>

#include "ipc/permit.h"

const struct cnr_permit *
cnr_permit_find(const struct cnr_permit *table, size_t n, uint16_t type)
{
        for (size_t i = 0; i < n; i++)
                if (table[i].type == type)
                        return &table[i];
        return NULL;
}

int
cnr_permit_check(const struct cnr_permit *table, size_t n, bool hello_done, const struct cnr_frame *f,
                 const struct cnr_permit **out, struct cnr_err **err)
{
        const struct cnr_permit *p = cnr_permit_find(table, n, f->type);

        *out = NULL;
        if (p == NULL)
                return cnr_errf(err, EPERM, "message type %u is not permitted on this channel", f->type);
        if ((p->flags & CNR_PERMIT_HELLO) && hello_done)
                return cnr_errf(err, EPERM, "`%s` after the handshake", p->name);
        if (!(p->flags & CNR_PERMIT_HELLO) && !hello_done)
                return cnr_errf(err, EPERM, "`%s` before the handshake", p->name);
        if (f->nfds != p->nfds)
                return cnr_errf(err, EPERM, "`%s` carries %zu fds, expected %u", p->name, f->nfds, p->nfds);
        *out = p;
        return 0;
}
