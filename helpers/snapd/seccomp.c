/* containr-snapd's system calls beyond cnr_base_syscalls. */
#include "config.h"

#include <stddef.h>

#include "helpers/snapd/snapd.h"

const char *const snapd_syscalls[] = {
        "mkdirat",  /* SnapMkdir, SnapCreate, parents in SnapApply: under a root fd */
        "unlinkat", /* SnapRmdir, SnapRemove, entries replaced by SnapApply */
        /* SnapCreate / SnapRemove: tmp-<id> and rm-<id> renamed in place */
        "renameat2",
        /* SnapApply: parents resolved with RESOLVE_IN_ROOT, entries made
         * and set up with *at() calls that never follow the last component */
        "openat2",
        "fchown",
        "fchownat",
        "fchmod",
        "fchmodat",
        "utimensat",
        "linkat",
        "symlinkat",
        "mknodat",
        "fsetxattr",
        "ftruncate",
        /* SnapRemove, SnapUsage, SnapList: reading directories */
        "getdents64",
        /* SnapList: the listing travels as a sealed memfd */
        "memfd_create",
        /* SnapDiff: xattrs of files and directories (overlay whiteout
         * markers, kept user.* ones), symlink targets */
        "flistxattr",
        "fgetxattr",
        "readlinkat",
        NULL,
};
