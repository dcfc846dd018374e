/* containr-buildd: the build worker.  ops.c holds its work (the Dockerfile
 * front end over a context stream), seccomp.c its allow-list. */
#ifndef CNR_BUILDD_H
#define CNR_BUILDD_H

#include "helpers/common/helper.h"

/* Request bounds: anything longer is refused as policy. */
#define BUILDD_NAME_MAX 255
#define BUILDD_MAX_BUILD_ARGS 256
#define BUILDD_BUILD_ARG_MAX 65536

extern const char *const buildd_syscalls[];

int buildd_check(struct cnr_helper_req *r, struct cnr_err **err);

#endif
