/* The container's seccomp filter: containr's own table of the policy
 * Docker applies by default, or a profile in Docker's JSON format, or
 * none (unconfined).  Compiled with libseccomp in the shim's child before
 * any privilege is dropped (allocation is safe there) and loaded as late
 * as the kernel allows (container.c).
 *
 * Both kinds become one rule list and one compiler:
 *   - each rule: a syscall name, an action, up to 6 argument comparisons;
 *   - every syscall not named gets the profile's default action
 *     (EPERM in the default policy);
 *   - syscall numbers above the highest one the profile names get ENOSYS,
 *     so that a libc probing a syscall newer than the profile (clone3,
 *     say) falls back as on an older kernel instead of failing with EPERM
 *     (THREATS 13).  clone3 itself is ENOSYS in the default policy unless
 *     CAP_SYS_ADMIN is granted, since its flags live in memory where a
 *     filter cannot look.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <seccomp.h>

#include "common/util.h"
#include "helpers/shim/shim.h"

/* Numbers above the profile's newest, up to here: ENOSYS.  Every 64-bit
 * table ends near 470 in 6.18 (x86_64, and arm64, riscv64 and the other
 * asm-generic ones); x86_64's 512-547 are x32 entries, which need
 * the x32 bit, which the architecture check refuses.  Each number is one
 * libseccomp rule: 1024 made the tail 570 rules and the compile 14 ms of
 * every start, 512 makes it ~60 rules and ~3 ms (docs/performance.md). */
#define MAX_NR 512

struct srule {
        const char *name;
        uint32_t action;
        unsigned nargs;
        struct scmp_arg_cmp args[6];
};

struct rules {
        struct srule *v;
        size_t n, cap;
};

static void
add(struct rules *r, const char *name, uint32_t action, unsigned nargs, const struct scmp_arg_cmp *args)
{
        if (r->n == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 256;
                r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
        }
        r->v[r->n] = (struct srule){.name = name, .action = action, .nargs = nargs};
        if (nargs)
                memcpy(r->v[r->n].args, args, nargs * sizeof(*args));
        r->n++;
}

/* ---- the default policy ------------------------------------------------ */

/* Allowed for every container. */
static const char *const base_allow[] = {
        "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "cachestat", "capget",
        "capset", "chdir", "chmod", "chown", "clock_adjtime", "clock_getres", "clock_gettime", "clock_nanosleep",
        "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
        "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2",
        "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate",
        "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl",
        "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
        "fstatfs", "fsync", "ftruncate", "futex", "futex_requeue", "futex_wait", "futex_waitv", "futex_wake",
        "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "geteuid", "getgid", "getgroups",
        "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
        "getresgid", "getresuid", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
        "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getxattr", "inotify_add_watch",
        "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
        "io_getevents", "io_pgetevents", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lgetxattr", "link",
        "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat",
        "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
        "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "modify_ldt", "mprotect",
        "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap",
        "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
        "name_to_handle_at", "nanosleep", "newfstatat", "open", "openat", "openat2", "pause", "pidfd_open",
        "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
        "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "ptrace",
        "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recvfrom",
        "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
        "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo",
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
        "semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsuid",
        "setgid", "setgroups", "setitimer", "setpgid", "setpriority", "setregid", "setresgid", "setresuid",
        "setreuid", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
        "set_tid_address", "setuid", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
        "sigaltstack", "signalfd", "signalfd4", "socketpair", "splice", "stat", "statfs", "statx", "symlink",
        "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create",
        "timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask", "uname", "unlink",
        "unlinkat", "utime", "utimensat", "utimes", "vfork", "vmsplice", "wait4", "waitid", "write", "writev",
};

/* Allowed only when the container holds the capability. */
static const struct {
        int cap;
        const char *const names[24];
} cap_allow[] = {
        {CAP_SYS_ADMIN,
         {"bpf", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
          "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
          "setdomainname", "sethostname", "setns", "syslog", "umount2", "unshare", NULL}},
        {CAP_SYS_BOOT, {"reboot", NULL}},
        {CAP_SYS_CHROOT, {"chroot", NULL}},
        {CAP_SYS_MODULE, {"delete_module", "init_module", "finit_module", NULL}},
        {CAP_SYS_PACCT, {"acct", NULL}},
        {CAP_SYS_PTRACE, {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", NULL}},
        {CAP_SYS_RAWIO, {"iopl", "ioperm", NULL}},
        {CAP_SYS_TIME, {"settimeofday", "clock_settime", NULL}},
        {CAP_SYS_TTY_CONFIG, {"vhangup", NULL}},
        {CAP_SYS_NICE, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", NULL}},
        {CAP_SYSLOG, {"syslog", NULL}},
        {CAP_BPF, {"bpf", NULL}},
        {CAP_PERFMON, {"perf_event_open", NULL}},
        {CAP_DAC_READ_SEARCH, {"open_by_handle_at", NULL}},
};

static void
default_rules(struct rules *r, uint64_t caps)
{
        static const unsigned long long personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
        const unsigned long long nsflags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                           CLONE_NEWNET | CLONE_NEWCGROUP;
        bool admin = caps & (1ULL << CAP_SYS_ADMIN);

        for (size_t i = 0; i < CNR_ARRAY_LEN(base_allow); i++)
                add(r, base_allow[i], SCMP_ACT_ALLOW, 0, NULL);
        for (size_t i = 0; i < CNR_ARRAY_LEN(personas); i++)
                add(r, "personality", SCMP_ACT_ALLOW, 1, &SCMP_A0(SCMP_CMP_EQ, personas[i]));
        /* Sockets of every family but AF_VSOCK (40), which reaches the host. */
        add(r, "socket", SCMP_ACT_ALLOW, 1, &SCMP_A0(SCMP_CMP_NE, 40));
        if (admin) {
                add(r, "clone", SCMP_ACT_ALLOW, 0, NULL);
        } else {
                /* clone without namespace flags (x86-64: flags are arg 0). */
                add(r, "clone", SCMP_ACT_ALLOW, 1, &SCMP_A0(SCMP_CMP_MASKED_EQ, nsflags, 0));
                add(r, "clone3", SCMP_ACT_ERRNO(ENOSYS), 0, NULL);
        }
        for (size_t i = 0; i < CNR_ARRAY_LEN(cap_allow); i++) {
                if (!(caps & (1ULL << cap_allow[i].cap)))
                        continue;
                for (size_t k = 0; cap_allow[i].names[k]; k++)
                        add(r, cap_allow[i].names[k], SCMP_ACT_ALLOW, 0, NULL);
        }
}

/* ---- Docker-format JSON profiles --------------------------------------- */

static int
parse_action(const char *s, json_int_t errno_ret, uint32_t *out, struct cnr_err **err)
{
        if (strcmp(s, "SCMP_ACT_ALLOW") == 0)
                *out = SCMP_ACT_ALLOW;
        else if (strcmp(s, "SCMP_ACT_ERRNO") == 0)
                *out = SCMP_ACT_ERRNO((uint16_t)(errno_ret > 0 && errno_ret < 4096 ? errno_ret : EPERM));
        else if (strcmp(s, "SCMP_ACT_KILL") == 0 || strcmp(s, "SCMP_ACT_KILL_THREAD") == 0)
                *out = SCMP_ACT_KILL_THREAD;
        else if (strcmp(s, "SCMP_ACT_KILL_PROCESS") == 0)
                *out = SCMP_ACT_KILL_PROCESS;
        else if (strcmp(s, "SCMP_ACT_TRAP") == 0)
                *out = SCMP_ACT_TRAP;
        else if (strcmp(s, "SCMP_ACT_LOG") == 0)
                *out = SCMP_ACT_LOG;
        else
                return cnr_errf(err, EINVAL, "seccomp profile: action `%s` is not supported", s);
        return 0;
}

static int
parse_op(const char *s, enum scmp_compare *out)
{
        static const struct {
                const char *n;
                enum scmp_compare op;
        } ops[] = {
                {"SCMP_CMP_NE", SCMP_CMP_NE},         {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
                {"SCMP_CMP_EQ", SCMP_CMP_EQ},         {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
                {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
        };
        for (size_t i = 0; i < CNR_ARRAY_LEN(ops); i++)
                if (strcmp(s, ops[i].n) == 0) {
                        *out = ops[i].op;
                        return 0;
                }
        return -1;
}

/* includes/excludes: only "caps" is evaluated; arches and kernel versions
 * of the native architecture are taken as met. */
static bool
caps_match(json_t *cond, uint64_t caps, bool want_all)
{
        json_t *list = cond ? json_object_get(cond, "caps") : NULL;
        size_t i;
        json_t *v;

        if (!json_is_array(list) || json_array_size(list) == 0)
                return want_all;
        json_array_foreach(list, i, v) {
                cap_value_t c;
                if (!json_is_string(v) || cap_from_name(json_string_value(v), &c) < 0)
                        return !want_all; /* an unknown cap is never held */
                bool held = caps & (1ULL << c);
                if (want_all && !held)
                        return false;
                if (!want_all && held)
                        return true;
        }
        return want_all;
}

static int
profile_rules(const char *text, struct rules *r, uint32_t *def, uint64_t caps, json_t **keep, struct cnr_err **err)
{
        json_error_t je;
        json_t *root, *syscalls, *rule;
        const char *da;
        size_t i;

        root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return cnr_errf(err, EINVAL, "seccomp profile: line %d: %s", je.line, je.text);
        *keep = root;
        da = json_string_value(json_object_get(root, "defaultAction"));
        if (!da)
                return cnr_errf(err, EINVAL, "seccomp profile: no defaultAction");
        if (parse_action(da, json_integer_value(json_object_get(root, "defaultErrnoRet")), def, err) < 0)
                return -1;
        syscalls = json_object_get(root, "syscalls");
        if (syscalls && !json_is_array(syscalls))
                return cnr_errf(err, EINVAL, "seccomp profile: syscalls is not a list");
        json_array_foreach(syscalls, i, rule) {
                json_t *names = json_object_get(rule, "names"), *one = json_object_get(rule, "name");
                json_t *args = json_object_get(rule, "args"), *a, *n;
                struct scmp_arg_cmp cmp[6];
                const char *act = json_string_value(json_object_get(rule, "action"));
                uint32_t action;
                size_t k, nargs = 0;

                if (!act)
                        return cnr_errf(err, EINVAL, "seccomp profile: rule %zu has no action", i);
                if (parse_action(act, json_integer_value(json_object_get(rule, "errnoRet")), &action, err) < 0)
                        return -1;
                if (!caps_match(json_object_get(rule, "includes"), caps, true) ||
                    caps_match(json_object_get(rule, "excludes"), caps, false))
                        continue;
                if (json_is_array(args)) {
                        if (json_array_size(args) > 6)
                                return cnr_errf(err, EINVAL, "seccomp profile: rule %zu: more than 6 args", i);
                        json_array_foreach(args, k, a) {
                                enum scmp_compare op;
                                json_int_t idx = json_integer_value(json_object_get(a, "index"));
                                const char *ops = json_string_value(json_object_get(a, "op"));
                                if (idx < 0 || idx > 5 || !ops || parse_op(ops, &op) < 0)
                                        return cnr_errf(err, EINVAL, "seccomp profile: rule %zu: bad arg %zu", i,
                                                        k);
                                cmp[nargs++] = (struct scmp_arg_cmp){
                                        .arg = (unsigned)idx,
                                        .op = op,
                                        .datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value")),
                                        .datum_b = (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo")),
                                };
                        }
                }
                if (json_is_string(one))
                        add(r, json_string_value(one), action, (unsigned)nargs, cmp);
                json_array_foreach(names, k, n) {
                        if (!json_is_string(n))
                                return cnr_errf(err, EINVAL, "seccomp profile: rule %zu: a name is not a string", i);
                        add(r, json_string_value(n), action, (unsigned)nargs, cmp);
                }
        }
        return 0;
}

/* ---- the compiler ------------------------------------------------------ */

static int
compile(const struct rules *r, uint32_t def, void **out, struct cnr_err **err)
{
        scmp_filter_ctx ctx = seccomp_init(def);
        int maxnr = -1, rc;

        if (!ctx)
                return cnr_errf(err, ENOMEM, "seccomp_init");
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        /* We load it ourselves after no_new_privs is decided. */
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        for (size_t i = 0; i < r->n; i++) {
                int nr = seccomp_syscall_resolve_name(r->v[i].name);
                if (nr == __NR_SCMP_ERROR || nr < 0)
                        continue; /* unknown to this libseccomp: falls under ENOSYS or the default */
                if (nr > maxnr)
                        maxnr = nr;
                if (r->v[i].action == def)
                        continue;
                rc = seccomp_rule_add_array(ctx, r->v[i].action, nr, r->v[i].nargs, r->v[i].args);
                if (rc < 0 && rc != -EEXIST) {
                        seccomp_release(ctx);
                        return cnr_errf(err, -rc, "seccomp: rule for `%s`", r->v[i].name);
                }
        }
        if (def != SCMP_ACT_ALLOW && def != SCMP_ACT_ERRNO(ENOSYS)) {
                for (int nr = maxnr + 1; nr < MAX_NR; nr++) {
                        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
                        if (rc < 0 && rc != -EEXIST) {
                                seccomp_release(ctx);
                                return cnr_errf(err, -rc, "seccomp: ENOSYS for syscall %d", nr);
                        }
                }
        }
        *out = ctx;
        return 0;
}

int
shim_seccomp_build(const Cnr__Shim__Seccomp *s, uint64_t caps, void **out, struct cnr_err **err)
{
        struct rules r = {0};
        uint32_t def = SCMP_ACT_ERRNO(EPERM);
        json_t *doc = NULL;
        int rc;

        *out = NULL;
        if (s && s->mode == CNR__SHIM__SECCOMP__MODE__UNCONFINED)
                return 0;
        if (s && s->mode == CNR__SHIM__SECCOMP__MODE__PROFILE) {
                if (profile_rules(s->profile_json, &r, &def, caps, &doc, err) < 0) {
                        json_decref(doc);
                        free(r.v);
                        return -1;
                }
        } else {
                default_rules(&r, caps);
        }
        rc = compile(&r, def, out, err);
        json_decref(doc);
        free(r.v);
        return rc;
}

/* ---- handing a compiled filter to another process ---------------------- */

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int
shim_seccomp_export(void *filter, struct cnr_err **err)
{
        int fd = memfd_create("containr-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING), rc;

        if (fd < 0)
                return cnr_errf(err, errno, "memfd_create for the seccomp filter");
        rc = seccomp_export_bpf(filter, fd);
        if (rc < 0) {
                close(fd);
                return cnr_errf(err, -rc, "export the seccomp filter");
        }
        if (fcntl(fd, F_ADD_SEALS, SEALS) < 0) {
                int e = errno;
                close(fd);
                return cnr_errf(err, e, "seal the seccomp filter");
        }
        return fd;
}

/* Map the program of shim_seccomp_export (read-only, private: it stays
 * mapped in the process and in its forks).  The memfd must still be
 * sealed against writes, so what is mapped is what the shim exported. */
int
shim_seccomp_map_fd(int fd, const void **prog, size_t *len, struct cnr_err **err)
{
        struct stat st;
        void *p;
        int seals = fcntl(fd, F_GET_SEALS);

        if (seals < 0 || (seals & SEALS) != SEALS)
                return cnr_errf(err, EPERM, "the seccomp filter from the shim is not sealed");
        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "stat the seccomp filter");
        if (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
            st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
                return cnr_errf(err, EINVAL, "the seccomp filter from the shim has %lld bytes, not a program",
                                (long long)st.st_size);
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
                return cnr_errf(err, errno, "map the seccomp filter");
        *prog = p;
        *len = (size_t)st.st_size;
        return 0;
}

/* Load a mapped program as seccomp_load would (flags 0: no TSYNC, no
 * LOG; no_new_privs is the caller's business). */
int
shim_seccomp_load_prog(const void *prog, size_t len, struct cnr_err **err)
{
        struct sock_fprog fp = {.len = (unsigned short)(len / sizeof(struct sock_filter)),
                                .filter = (struct sock_filter *)(uintptr_t)prog};

        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
                return cnr_errf(err, errno, "load the seccomp filter");
        return 0;
}
