/* The shared life of every containr helper (containr-mountd, -netd,
 * -snapd, -buildd, -crid).  A helper's main.c fills a struct
 * cnr_helper_def and calls cnr_helper_main(); this file does the rest, in
 * the order the monitor's contract (man/containr-helpers.7) fixes:
 *
 *   1. parse argv strictly: --uid N --gid N --log-level LEVEL, and
 *      --snapshot-root DIR or --run-root DIR for the helper that asks
 *      for it, and the helper's own flags (def->parse_flag); anything
 *      else is exit 2
 *   2. check fds 3 (IPC, SEQPACKET), 4 (log, SEQPACKET) and 5 (audit log)
 *      are open, mark them close-on-exec, close every fd above 5
 *   3. log to fd 4 (cnr.LogChannel frames, dropped when the socket is
 *      full), audit to fd 5
 *   4. run the helper's setup hook, still root with every capability:
 *      the one place a helper opens what it needs before the drop
 *   5. event_base_new()
 *   6. cnr_sandbox_drop(uid/gid, the helper's caps from cnr_helpers[]),
 *      no_new_privs, the seccomp allow-list (base + the helper's own)
 *   7. HELLO on fd 3, then serve cnr.helper.ToHelper requests until EOF
 *
 * Requests go through a permit table built from the helper's op table
 * (every op the helper serves, plus Ping which the framework answers);
 * anything else is a protocol violation.  Each request is timed, answered
 * exactly once (the op's reply, or cnr.Error{errno, message}) and writes
 * exactly one audit record.
 *
 * Exit codes: 0 EOF on fd 3; 1 setup or sandbox failure; 2 bad command
 * line or fd slots; 3 protocol violation by the supervisor.
 */
#ifndef CNR_HELPERS_HELPER_H
#define CNR_HELPERS_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "common/util.h"
#include "common/helpers.h"
#include "ipc/frame.h"
#include "ipc/helper.pb-c.h"

enum {
        CNR_HELPER_EXIT_OK = 0,
        CNR_HELPER_EXIT_SETUP = 1,
        CNR_HELPER_EXIT_USAGE = 2,
        CNR_HELPER_EXIT_PROTOCOL = 3,
};

/* What the framework hands to the setup hook and to every op. */
struct cnr_helper_env {
        const struct cnr_helper_desc *desc; /* entry in cnr_helpers[] */
        uid_t uid;
        gid_t gid;
        const char *snapshot_root; /* --snapshot-root, NULL when not asked for */
        const char *run_root;      /* --run-root, NULL when not asked for */
        void *state;               /* the helper's own, set by its setup hook */
};

/* One request being served.  The op reads `req`, fills `args` with the
 * normalised arguments (for the audit record), and either
 *   - returns 0 after setting `reply_case` and the matching member of
 *     `reply` (and `fds`/`nfds`, which the framework sends and closes), or
 *   - returns -1 with *err set (errno + message naming the thing and the
 *     cause); it sets `deny` when the request was refused by policy (bad
 *     name, value out of range) rather than failed by the system.
 */
struct cnr_helper_req {
        struct cnr_helper_env *env;
        uint32_t reqid;
        const Cnr__Helper__ToHelper *req;
        struct cnr_frame *frame; /* fds the request carried (cnr_frame_take_fd) */
        json_t *args; /* a json object, owned by the framework */
        bool deny;
        Cnr__Helper__FromHelper__MsgCase reply_case;
        union {
                Cnr__Helper__Pong pong;
                Cnr__Helper__MountFd mount_fd;
                Cnr__Helper__Done done;
                Cnr__Helper__Netns netns;
                Cnr__Helper__BuildCheckReply build_check;
                Cnr__Helper__Usage usage;
                Cnr__Helper__Applied applied;
                Cnr__Helper__Listing listing;
                Cnr__Helper__Diffed diffed;
                Cnr__Helper__CniResult cni_result;
                Cnr__Helper__Routes routes;
        } reply;
        int fds[CNR_IPC_MAX_FDS];
        size_t nfds;
};

typedef int (*cnr_helper_op_fn)(struct cnr_helper_req *r, struct cnr_err **err);

struct cnr_helper_op {
        Cnr__Helper__ToHelper__OpCase type; /* the request's oneof case */
        const char *name;                   /* audit "op", e.g. "snap_mkdir" */
        uint8_t nfds;                       /* fds the request carries */
        cnr_helper_op_fn run;
};

struct cnr_helper_def {
        enum cnr_helper_id id;
        const struct cnr_helper_op *ops; /* Ping is added by the framework */
        size_t nops;
        const char *const *syscalls; /* beyond cnr_base_syscalls; NULL-terminated */
        /* Argument-filtered rules added to the same filter (a
         * scmp_filter_ctx), e.g. socket(AF_NETLINK, ...) only; NULL if none. */
        int (*seccomp_extra)(void *ctx, struct cnr_err **err);
        bool wants_snapshot_root; /* accept (and require) --snapshot-root */
        bool wants_run_root;      /* accept --run-root (optional: ops needing it fail without) */
        /* A flag of this helper's own (mountd's --overlay-mode): returns 1
         * when it took `flag` and its value, 0 when `flag` is not one of its
         * own, -1 with *err for a bad or repeated value.  NULL if none. */
        int (*parse_flag)(const char *flag, const char *val, struct cnr_err **err);
        /* Pre-drop setup, as root with every capability; NULL if none. */
        int (*setup)(struct cnr_helper_env *env, struct cnr_err **err);
};

/* Never returns. */
__attribute__((noreturn)) void cnr_helper_main(const struct cnr_helper_def *def, int argc, char **argv);

/* Audit argument helpers: modes as "0755" strings, as people read them. */
json_t *cnr_helper_json_mode(unsigned mode);

#endif
