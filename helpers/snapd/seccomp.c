/* containr-snapd's system calls beyond cnr_base_syscalls. */
#include "config.h"

#include <stddef.h>

#include "helpers/snapd/snapd.h"

const char *const snapd_syscalls[] = {
        "mkdirat",  /* SnapMkdir, relative to the snapshot root fd */
        "unlinkat", /* SnapRmdir (AT_REMOVEDIR), relative to the root fd */
        NULL,
};
