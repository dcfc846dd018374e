/* Start a program onto fixed fd slots: 0-2 = /dev/null, then each fd of
 * `fds` at 3, 4, 5, ... and nothing else (close_range).  Used by the
 * monitor for helpers, and by tests that drive one helper directly. */
#ifndef CNR_SPAWN_H
#define CNR_SPAWN_H

#include <sys/types.h>

#include "common/err.h"

/* Returns the child's pid (and *pidfd, CLOEXEC) or -1 with *err.  The
 * child gets SIGKILL when the caller dies (PR_SET_PDEATHSIG) when
 * `pdeathsig` is set.  envp NULL means {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}. */
pid_t cnr_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds, int pdeathsig,
                int *pidfd, struct cnr_err **err);
/* The same, executing the program open at exec_fd (execveat, AT_EMPTY_PATH;
 * an ELF binary: the fd is close-on-exec) when exec_fd >= 0; path only
 * names it in errors. */
pid_t cnr_spawn_fd(int exec_fd, const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
                   int pdeathsig, int *pidfd, struct cnr_err **err);
/* Start a program as the caller's sibling (clone3 CLONE_PARENT: the
 * child of the caller's parent, which reaps it) in a session of its own,
 * onto the same slots, without a parent-death signal.  One process
 * creation where a double fork takes two; cnr_spawn_detached_fd uses it
 * when the result is the same (see there).  Fails with EINVAL in the init
 * of a pid namespace. */
pid_t cnr_spawn_sibling_fd(int exec_fd, const char *path, char *const argv[], const int *fds, int nfds,
                           struct cnr_err **err);

#endif
