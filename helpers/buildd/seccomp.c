/* containr-buildd's system calls beyond cnr_base_syscalls. */
#include "config.h"

#include <stddef.h>

#include "helpers/buildd/buildd.h"

const char *const buildd_syscalls[] = {
        "memfd_create", /* the report travels back as a sealed memfd (fcntl F_ADD_SEALS is in the base set) */
        "ftruncate",    /* not used by us; libc may size the memfd */
        NULL,
};
