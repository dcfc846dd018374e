/* containr-shim: one per container.  Not a helper: the monitor starts it
 * without helper restrictions (DESIGN.md section 1), root with every
 * capability, because it creates the container and must be able to grant
 * the container what its spec says.  man/containr-shim.8 is the contract;
 * docs/runtime.md walks through the creation sequence.
 *
 * Files: main.c (start-up, setup channel, event loop), api.c (the socket
 * API), spec.c (validation and defaults), container.c (clone, the child's
 * setup, exec), mounts.c (every mount, each target resolved under the
 * rootfs), cgroup.c (v1, v2 and hybrid), devices.c (the device
 * allow-list, and its cgroup v2 eBPF program: devices.h), seccomp.c (the
 * default policy and Docker-format profiles), stdio.c (pipes, pty, log). */
#ifndef CNR_SHIM_H
#define CNR_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "ipc/shim.pb-c.h"

#define SHIM_SPEC_MAX (1024 * 1024) /* bytes of spec, profile included */
#define SHIM_MAX_FDS 64             /* fds in the setup bundle */
#define SHIM_MAX_CLIENTS 32
#define SHIM_MAX_EXECS 64

/* Docker's default capability set, as a mask. */
extern const uint64_t shim_default_caps;

/* ---- spec.c ------------------------------------------------------------ */
int shim_spec_validate(Cnr__Shim__ContainerSpec *s, const char *id, struct cnr_err **err);
int shim_process_validate(Cnr__Shim__Process *p, const char *what, struct cnr_err **err);
/* Masked and read-only paths in effect (Docker's lists unless replaced). */
void shim_spec_paths(const Cnr__Shim__ContainerSpec *s, const char *const **masked, size_t *nmasked,
                     const char *const **ro, size_t *nro);
bool shim_cgroup_path_ok(const char *p);
/* A dotted sysctl key in the namespaced allow-list (net.*, kernel.shm*, ...). */
bool shim_sysctl_ok(const char *key);
bool shim_id_ok(const char *id);

/* ---- cgroup.c ---------------------------------------------------------- */
struct shim_cgroup;
/* Create the container's cgroup (s->cgroup_path under the shim's own
 * cgroup in every hierarchy), apply the limits and the device allow-list
 * (the default one plus the spec's --device binds, read from their fds). */
int shim_cgroup_create(const Cnr__Shim__ContainerSpec *s, const int *fds, struct shim_cgroup **out,
                       struct cnr_err **err);
/* The init's way into its cgroups without a move by pid (cgroup.c says
 * why): opened by the shim before clone3; the v2 directory goes to clone3
 * (CLONE_INTO_CGROUP), the child writes "0" into each v1 `tasks` file. */
struct shim_cgroup_entry {
        int tasks[16];
        size_t ntasks;
        int v2dir; /* -1: no cgroup2 hierarchy */
};
int shim_cgroup_entry_open(struct shim_cgroup *cg, struct shim_cgroup_entry *e, struct cnr_err **err);
/* In the child, single-threaded: -1 with errno on failure. */
int shim_cgroup_entry_join(const struct shim_cgroup_entry *e);
void shim_cgroup_entry_close(struct shim_cgroup_entry *e);
/* Number of OOM kills recorded in the container's memory cgroup. */
uint64_t shim_cgroup_oom_kills(struct shim_cgroup *cg);
/* Signal every process in the cgroup. */
void shim_cgroup_kill(struct shim_cgroup *cg, int sig);
/* Remove the cgroup directories (retrying while the kernel releases them). */
void shim_cgroup_destroy(struct shim_cgroup *cg);
void shim_cgroup_free(struct shim_cgroup *cg);

/* ---- seccomp.c --------------------------------------------------------- */
/* Compile the filter the spec asks for; *out = NULL for unconfined.  The
 * caller loads it with seccomp_load() and frees it with seccomp_release(). */
int shim_seccomp_build(const Cnr__Shim__Seccomp *s, uint64_t caps, void **out, struct cnr_err **err);
/* The program of a built filter as a sealed memfd of struct sock_filter
 * (what seccomp_export_bpf writes), for another process of ours to map
 * (shim_seccomp_map_fd checks the seals and the size) and load with
 * shim_seccomp_load_prog: the same filter, the same flags (none). */
int shim_seccomp_export(void *filter, struct cnr_err **err);
int shim_seccomp_map_fd(int fd, const void **prog, size_t *len, struct cnr_err **err);
int shim_seccomp_load_prog(const void *prog, size_t len, struct cnr_err **err);

/* ---- container.c ------------------------------------------------------- */
struct shim_container {
        Cnr__Shim__ContainerSpec *spec;
        int *fds;               /* the setup bundle */
        size_t nfds;
        char *sockdir;          /* the socket dir (owned by the supervisor's user) */
        int privfd;             /* its priv/ subdir, root's: rootfs/ and etc/ staging */
        int snaprootfd;         /* the monitor's --snapshot-root (O_RDONLY: open_by_handle_at), -1 without */
        pid_t pid;              /* the init, in our pid namespace */
        int pidfd;
        int sync;               /* to the child until it execs */
        int pty_master;         /* -1 without a terminal */
        int stdin_w, stdout_r, stderr_r; /* our ends of the init's pipes */
        struct shim_cgroup *cg;
        int sysfd;              /* --userns in netd's netns: the sysfs the shim made, until clone3 */
        int bpf;                /* the init's seccomp filter, compiled by the shim during the init's setup
                                 * (a sealed memfd sent with START), or -1: the init compiles it */
        const void *prog;       /* the same program mapped, for exec processes whose effective */
        size_t prog_len;        /* capabilities are prog_caps (they are forks of the shim); NULL: none */
        uint64_t prog_caps;
};

/* Clone the init in its new namespaces and run it to the start barrier.
 * On failure the child is gone and *err carries the child's own cause. */
int shim_container_create(struct shim_container *c, struct cnr_err **err);
/* Release the init past its barrier; returns once it has exec'd (or
 * failed, with the cause). */
int shim_container_start(struct shim_container *c, struct cnr_err **err);
/* Start a process in the running container.  stdio: 3 fds, or NULL with
 * *pty_master set to a new pty's master (terminal). */
pid_t shim_container_exec(struct shim_container *c, Cnr__Shim__Process *p, const int *stdio, int *pty_master,
                          struct cnr_err **err);

/* ---- mounts.c (run by the child, in its new mount namespace) ----------- */
/* With a user namespace, before clone3: the mount points and the cwd the
 * init will need, made as host root in the (not idmapped) rootfs. */
/* --userns: the rootfs's root directory to the ids the container's root
 * maps to (its layers are idmapped; the upper dir's root is not). */
int shim_mounts_userns_root(const Cnr__Shim__ContainerSpec *s, const int *fds, int snaprootfd,
                            struct cnr_err **err);
/* --userns in netd's netns: its net.* sysctls, written by the shim while
 * it is in that namespace. */
int shim_sysctls_net(const Cnr__Shim__ContainerSpec *s, struct cnr_err **err);
/* A read-only sysfs of the current network namespace, detached. */
int shim_mounts_sysfs(struct cnr_err **err);
/* sysfd: a sysfs from shim_mounts_sysfs to attach at /sys, or -1 for a
 * new one made in the container. */
int shim_mounts_setup(const Cnr__Shim__ContainerSpec *s, const int *fds, int privfd, int sysfd,
                      struct cnr_err **err);
/* Replace each bind's O_PATH source fd by a detached clone (run by the
 * shim before the container is created). */
int shim_mounts_clone_binds(const Cnr__Shim__ContainerSpec *s, int *fds, struct cnr_err **err);
/* pivot_root into the attached rootfs (at priv/rootfs). */
int shim_mounts_pivot(int privfd, struct cnr_err **err);
/* Open `path` under rootfd without following any symlink; *is_dir set. */
int shim_resolve_strict(int rootfd, const char *path, struct cnr_err **err);

/* ---- log + stdio (stdio.c) --------------------------------------------- */
struct shim_log;
struct shim_log *shim_log_new(int fd);
/* Buffer output of one stream and write complete lines as JSON. */
void shim_log_data(struct shim_log *l, int stream, const char *buf, size_t n);
void shim_log_flush(struct shim_log *l);
void shim_log_free(struct shim_log *l);

/* Diagnostics of the shim itself: <sockdir>/shim.log */


#endif
