/* containr-mountd's system calls beyond cnr_base_syscalls. */
#include "config.h"

#include <stddef.h>

#include "helpers/mountd/mountd.h"

const char *const mountd_syscalls[] = {
        "fsopen",   /* a new filesystem context (tmpfs; later overlay) */
        "fsconfig", /* its options, then FSCONFIG_CMD_CREATE */
        "fsmount",  /* the detached mount fd handed to the supervisor */
        /* MountSnapshot: snapshot dirs checked under the root fd, lowerdirs
         * relative to the driver dir (fchdir), binds cloned with open_tree */
        "openat2",
        "fchdir",
        "open_tree",
        "mount_setattr",
        NULL,
};
