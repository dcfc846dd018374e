/* Start a program detached from the caller: not its child (double fork),
 * or its sibling when that ends the same (cnr_spawn_sibling_fd), in a
 * session of its own, without a parent-death signal, onto the same
 * fixed slots as cnr_spawn (0-2 /dev/null, fds[i] at 3+i, nothing else).
 * The monitor starts every containr-shim this way, so that containers
 * outlive containrd; tests start shims the same way. */
#ifndef CNR_DETACH_H
#define CNR_DETACH_H

#include <sys/types.h>

#include "common/err.h"

/* Returns the program's pid once it has exec'd, or -1 with *err. */
pid_t cnr_spawn_detached(const char *path, char *const argv[], const int *fds, int nfds, struct cnr_err **err);
/* The same, executing the program open at exec_fd (see cnr_spawn_fd). */
pid_t cnr_spawn_detached_fd(int exec_fd, const char *path, char *const argv[], const int *fds, int nfds,
                            struct cnr_err **err);

#endif
