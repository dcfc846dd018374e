/* containrd: the monitor (root, tiny) and the supervisor (unprivileged).
 *
 * main.c reads the config as root, resolves identities, creates the state
 * directories and becomes the monitor; monitor.c forks the supervisor and
 * spawns the helpers; supervisor.c is the supervisor's event loop; api.c
 * serves the CLI; procinfo.c reads /proc for `containr info`. */
#ifndef CNR_CONTAINRD_H
#define CNR_CONTAINRD_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/conf.h"
#include "common/sandbox.h"

struct cnr_daemon {
        struct cnr_config cfg;
        struct cnr_identity sup_id; /* the supervisor's user */
        gid_t socket_gid;           /* group allowed on the API socket */
        struct cnr_identity helper_id[CNR_HELPER_COUNT];
        char *sock_path; /* <run_root>/containr.sock */
        char *pid_path;  /* <run_root>/containrd.pid */
        char *snap_root; /* <root>/snapshots, owned by snapd's user */
        int ready_fd;    /* --detach: written once everything is up, else -1 */
};

/* Fixed fds of the supervisor process (set up by the monitor at fork). */
#define CNR_SUP_FD_MONITOR 3
#define CNR_SUP_FD_API 4
#define CNR_SUP_FD_AUDIT 5

/* The monitor's loop; returns the process exit code. */
int cnr_monitor_run(struct cnr_daemon *d);

/* The supervisor, in the forked child; never returns. */
void cnr_supervisor_main(struct cnr_daemon *d) __attribute__((noreturn));

/* Seconds since the process started, from /proc/<pid>/stat; 0 if unknown. */
struct cnr_procinfo {
        uid_t uid;
        gid_t gid;
        unsigned long long cap_eff;
        unsigned seccomp;
        bool no_new_privs;
        unsigned long long uptime_ms;
};
int cnr_procinfo_read(pid_t pid, struct cnr_procinfo *out);

#endif
