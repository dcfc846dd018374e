/* Containers: records in the database (module "containers") and their
 * life, from `containr create` to `rm`.  See DESIGN.md section 3.
 *
 *   create   resolve the image, write the record (state created), then
 *            "spawn": the image unpacked, snapshot <id> prepared from its
 *            top chain id, its overlay mounted by mountd, tmpfs, volumes
 *            and binds as detached mounts, the spec (container_spec.c),
 *            SpawnShim through the monitor, the shim's Created answer on
 *            the setup channel, and a connection to the shim's socket.
 *   start    Start on that connection (a container without a shim, e.g.
 *            one that exited, is spawned first), then a Wait request that
 *            answers when the init exits.
 *   exit     the record gets exit code, OOMKilled, finish time; waiters
 *            are answered; the shim is shut down (its mounts go with the
 *            container's mount namespace); then --rm removes, or the
 *            restart policy starts it again after a backoff.  Until every
 *            helper is up, sup_containers_ready does both (after a
 *            reboot or a containrd start, with Docker's daemon-start
 *            rule for `always`).
 *   rm       the shim shut down, snapshot <id> removed, the log file
 *            unlinked, the record deleted; its anonymous volumes with
 *            rm -v or --rm, else they stay (dangling, as in Docker).
 *
 * The supervisor talks to shims asynchronously (container_shim.c): a
 * shim that hangs never stalls the loop.  A connection that closes before
 * the init's exit was reported means the shim died: the container is
 * marked exited 137 once (THREATS 37).  At start-up every `running` or
 * `created` record is reconnected to <run_root>/shims/<id>/sock (THREATS
 * 36); after a reboot (no boot-id file in <run_root>/containers, or a
 * different one) nothing is reconnected and states are reset (THREATS 40).
 *
 * Files: containers.c (records, lifecycle, reconnect), container_spawn.c
 * (from the image to a waiting shim), container_spec.c
 * (image config + flags -> ContainerSpec), container_shim.c (the async
 * shim channel), api_containers.c (API handlers), volumes.c (named
 * volumes: active snapshots without a parent). */
#ifndef CNR_SUP_CONTAINERS_H
#define CNR_SUP_CONTAINERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "common/err.h"
#include "ipc/api.pb-c.h"
#include "ipc/shim.pb-c.h"
#include "supervisor/sup.h"

#define CTR_ID_LEN 64
#define CTR_MAX_STAGED 16

enum ctr_state { CTR_CREATED, CTR_RUNNING, CTR_EXITED };
const char *ctr_state_name(enum ctr_state st);

struct ctr_shim;
struct ctr_waiter;
struct ctr_exec;
struct ctr_op;
struct remove_op;
struct start_ctx;

struct ctr {
        LIST_ENTRY(ctr) entry;
        struct sup *s;
        char id[CTR_ID_LEN + 1];
        char *name;
        char *image;                    /* as the user typed it */
        char *image_id;                 /* sha256:... */
        Cnr__Api__ContainerConfig *cfg; /* what was asked (owned, unpacked) */
        enum ctr_state state;
        int pid, shim_pid;
        int exit_code;
        bool oom_killed;
        int64_t created_ms, started_ms, finished_ms;
        unsigned restart_count;
        int *bind_fds; /* O_PATH sources of binds and --init (-1 when lost) */
        size_t nbind_fds;

        /* runtime */
        struct ctr_shim *shim;   /* main channel, NULL without a shim */
        struct ctr_shim **extra; /* attach and exec connections */
        size_t nextra;
        struct ctr_waiter *waiters;
        bool busy;     /* a spawn/start/stop/remove in progress */
        bool stopping; /* stop/kill by the operator: no restart (kept in the record) */
        bool removing;
        bool rm_volumes;       /* rm -v (or --rm): its anonymous volumes go too */
        bool remove_detaching; /* rm waits for its network detach */
        bool rm_asked;         /* an explicit rm (not only --rm): it answers after CNI DEL */
        bool exit_seen;        /* the init's exit was recorded for this shim */
        bool net_pending;      /* exited before the helpers were up: detach later */
        bool dormant;          /* exited; its shim stays, holding the bind sources */
        /* a start waiting for the dormant shim to go */
        struct start_ctx *start_after;
        struct event *kill_timer, *restart_timer;
        int rootfd; /* the rootfs mount while a shim runs: users for exec */
        struct remove_op *remove_ops;
        char *error; /* why the last spawn/start failed */
};

struct ctr_store;

/* ---- containers.c ---- */
int sup_containers_start(struct sup *s, struct cnr_err **err);
void sup_containers_stop(struct sup *s);
/* Reconnect to live shims (called once the monitor welcomed us). */
void sup_containers_reconnect(struct sup *s);
/* Every helper is up: restart policies start what exited meanwhile
 * (after a reboot, at containrd's start: Docker's rules). */
void sup_containers_ready(struct sup *s);
/* Lookup by id, unique id prefix or name; NULL with *err. */
struct ctr *ctr_find(struct sup *s, const char *ref, struct cnr_err **err);
/* Every container, newest first. */
size_t ctr_all(struct sup *s, struct ctr ***out);
int ctr_save(struct ctr *c, struct cnr_err **err);

/* Asynchronous operations; cb is called exactly once (err NULL = ok). */
typedef void (*ctr_done_fn)(struct ctr *c, struct cnr_err *err, void *arg);
int ctr_create(struct sup *s, Cnr__Api__ContainerConfig *cfg, int *staged, size_t nstaged, struct ctr **out,
               ctr_done_fn cb, void *arg, struct cnr_err **err);
int ctr_start(struct ctr *c, ctr_done_fn cb, void *arg, struct cnr_err **err);
/* start -a: the streams are attached before the init is released; cb
 * gets them (3 fds, see ctr_attach) once it runs.  Declared below. */
int ctr_stop(struct ctr *c, int timeout_s, ctr_done_fn cb, void *arg, struct cnr_err **err);
int ctr_kill(struct ctr *c, int sig, ctr_done_fn cb, void *arg, struct cnr_err **err);
/* volumes: its anonymous volumes too (rm -v); without, they stay,
 * dangling, as Docker leaves them.  --rm always takes them. */
int ctr_remove(struct ctr *c, bool force, bool volumes, ctr_done_fn cb, void *arg, struct cnr_err **err);
/* cb when the container is not running (at once if it is not). */
void ctr_wait(struct ctr *c, ctr_done_fn cb, void *arg);
/* cb once the container is removed (by --rm or by someone's rm), with
 * its exit status still readable: `run --rm` answers its CLI then,
 * instead of the CLI polling until the record is gone. */
void ctr_wait_removed(struct ctr *c, ctr_done_fn cb, void *arg);
int ctr_resize(struct ctr *c, uint32_t rows, uint32_t cols, struct cnr_err **err);

/* Attach: 3 fds (stdin write end, stdout, stderr read ends). */
typedef void (*ctr_fds_fn)(struct ctr *c, struct cnr_err *err, const int *fds, size_t nfds, int pid, void *arg);
int ctr_attach(struct ctr *c, ctr_fds_fn cb, void *arg, struct cnr_err **err);
int ctr_start_attached(struct ctr *c, ctr_fds_fn cb, void *arg, struct cnr_err **err);
/* Exec: stdio = 3 fds, or NULL for a terminal (cb gets the pty master). */
int ctr_exec(struct ctr *c, const Cnr__Api__ExecConfig *x, const int *stdio, ctr_fds_fn cb, void *arg,
             struct cnr_err **err);
typedef void (*ctr_exit_fn)(struct ctr *c, struct cnr_err *err, int code, void *arg);
int ctr_exec_wait(struct ctr *c, int pid, ctr_exit_fn cb, void *arg, struct cnr_err **err);

/* JSON views (api_containers.c uses them) */
json_t *ctr_json(struct ctr *c, bool full);
char *ctr_log_path(struct sup *s, const char *id);
/* The image's config object (Env, Cmd, User...), a new reference or NULL. */
json_t *ctr_image_config(struct ctr *c);
const char *ctr_shim_dir(struct sup *s, const char *id, char *buf, size_t n);

/* Internal to containers*.c. */
void ctr_save_or_log(struct ctr *c);
int ctr_watch(struct ctr *c, struct cnr_err **err);
void ctr_on_main_close(struct ctr_shim *sh, struct cnr_err *err, void *arg);
/* false for --network host and for none with a user namespace: no netd. */
bool ctr_uses_netd(const struct ctr *c);
void ctr_net_detach(struct ctr *c);

/* ---- container_spawn.c ---- */
/* Everything from the image to a shim whose container waits on its start
 * barrier; cb once. */
int ctr_spawn(struct ctr *c, ctr_done_fn cb, void *arg, struct cnr_err **err);

/* ---- container_spec.c ---- */
struct ctr_spec_in {
        struct ctr *c;
        json_t *image_config;                    /* the image config's "config" object, may be NULL */
        int rootfd;                              /* the container's rootfs (a mount fd), for users */
        const char *etc_hosts, *etc_resolv_conf; /* NULL: generated / the image's */
        bool net_host, net_fd;
};
/* --userns: the host ids container ids 0..count-1 map to. */
struct ctr_idrange {
        uint32_t uid, gid, count;
};
enum { CTR_USERNS_HOST, CTR_USERNS_AUTO, CTR_USERNS_MAP };
/* `host`/empty, `auto` or UID:GID:COUNT (*r set); < 0 with *err when
 * malformed or unsafe (THREATS 15). */
int ctr_userns_parse(const char *v, struct ctr_idrange *r, struct cnr_err **err);
/* Fill *spec (fields malloc'd; ctr_spec_free) but mounts and fds. */
int ctr_spec_build(const struct ctr_spec_in *in, Cnr__Shim__ContainerSpec *spec, char ***warnings, size_t *nwarn,
                   struct cnr_err **err);
void ctr_spec_free(Cnr__Shim__ContainerSpec *spec);
/* Capability names ("NET_ADMIN", "CAP_NET_ADMIN", "ALL") to a mask. */
int ctr_caps_apply(uint64_t *mask, char **names, size_t n, bool add, struct cnr_err **err);
/* Docker's default set. */
extern const uint64_t ctr_default_caps;
/* A Process for exec from the container's spec and the exec's flags. */
int ctr_exec_process(struct ctr *c, int rootfd, const Cnr__Api__ExecConfig *x, Cnr__Shim__Process *p,
                     struct cnr_err **err);
void ctr_process_free(Cnr__Shim__Process *p);
/* A VOLUME or mount destination as an absolute, normalised path that
 * stays under / ("../../etc" -> "/etc"); NULL when empty. */
char *ctr_clean_path(const char *p);

/* ---- container_shim.c: one connection to a shim ---- */
typedef void (*ctr_shim_reply_fn)(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f,
                                  struct cnr_err *err, void *arg);
typedef void (*ctr_shim_close_fn)(struct ctr_shim *sh, struct cnr_err *err, void *arg);
/* Connect to <dir>/sock and say hello.  exec_tty: a connection on which
 * ExecStarted carries the pty master. */
int ctr_shim_open(struct sup *s, const char *dir, bool exec_tty, ctr_shim_close_fn on_close, void *arg,
                  struct ctr_shim **out, struct cnr_err **err);
int ctr_shim_request(struct ctr_shim *sh, Cnr__Shim__ToShim *req, const int *fds, size_t nfds, unsigned timeout_ms,
                     ctr_shim_reply_fn cb, void *arg, struct cnr_err **err);
void ctr_shim_free(struct ctr_shim *sh);
void *ctr_shim_arg(struct ctr_shim *sh);
/* Turn a reply into an error (Error case, or not the wanted case). */
int ctr_shim_reply_err(Cnr__Shim__FromShim *env, struct cnr_err *err, int want, const char *what, struct cnr_err **out);

/* ---- volumes.c ---- */
int sup_volumes_start(struct sup *s, struct cnr_err **err);
/* A detached mount of named volume `name` (created if missing); name ""
 * = the anonymous volume of container_id at dest.  userns_fd >= 0 (not
 * consumed): idmapped with that user namespace's maps (--userns). */
typedef void (*ctr_fd_fn)(struct cnr_err *err, int fd, void *arg);
int ctr_volume_mount(struct sup *s, const char *name, const char *container_id, const char *dest, int userns_fd,
                     ctr_fd_fn cb, void *arg, struct cnr_err **err);

/* Anonymous volumes of a container (rm -v, --rm, a failed create). */
void ctr_volumes_remove_anonymous(struct sup *s, const char *container_id);

/* ---- api_containers.c ---- */
void sup_api_containers_client_gone(struct sup *s, uint64_t client);
/* JSON text in a sealed memfd, positioned at 0. */
int ctr_json_memfd(json_t *j, struct cnr_err **err);

#endif
