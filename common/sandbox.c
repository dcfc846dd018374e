#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

#include "common/sandbox.h"
#include "common/util.h"

int
cnr_group_resolve(const char *spec, gid_t *out, struct cnr_err **err)
{
        unsigned long long v;
        struct group *g;

        if (cnr_parse_uint(spec, 0xfffffffeULL, &v) == 0) {
                *out = (gid_t)v;
                return 0;
        }
        errno = 0;
        g = getgrnam(spec);
        if (g == NULL)
                return cnr_errf(err, errno ? errno : ENOENT, "group `%s` not found", spec);
        *out = g->gr_gid;
        return 0;
}

int
cnr_identity_resolve(const char *spec, struct cnr_identity *out, struct cnr_err **err)
{
        _cleanup_free_ char *user = xstrdup(spec);
        char *colon = strchr(user, ':');
        unsigned long long v;
        struct passwd *pw;

        if (colon)
                *colon++ = '\0';
        if (cnr_parse_uint(user, 0xfffffffeULL, &v) == 0) {
                out->uid = (uid_t)v;
                out->gid = (gid_t)v;
        } else {
                errno = 0;
                pw = getpwnam(user);
                if (pw == NULL)
                        return cnr_errf(err, errno ? errno : ENOENT,
                                        "user `%s` not found (create it with useradd --system, or give a numeric "
                                        "id)",
                                        user);
                out->uid = pw->pw_uid;
                out->gid = pw->pw_gid;
        }
        if (colon && cnr_group_resolve(colon, &out->gid, err) < 0)
                return -1;
        return 0;
}

int
cnr_sandbox_drop(const struct cnr_identity *id, const cap_value_t *keep, size_t nkeep, struct cnr_err **err)
{
        cap_t caps;
        int last = (int)cap_max_bits() - 1;

        /* 1. bounding set */
        for (int c = 0; c <= last; c++) {
                bool kept = false;
                for (size_t i = 0; i < nkeep; i++)
                        if (keep[i] == c)
                                kept = true;
                if (!kept && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return cnr_errf(err, errno, "drop capability %d from the bounding set", c);
        }
        /* 2. keep-caps across the uid change */
        if (prctl(PR_SET_KEEPCAPS, nkeep > 0 ? 1 : 0, 0, 0, 0) < 0)
                return cnr_errf(err, errno, "PR_SET_KEEPCAPS");
        /* 3. identity */
        if (setgroups(0, NULL) < 0)
                return cnr_errf(err, errno, "setgroups");
        if (setresgid(id->gid, id->gid, id->gid) < 0)
                return cnr_errf(err, errno, "setresgid %u", (unsigned)id->gid);
        if (setresuid(id->uid, id->uid, id->uid) < 0)
                return cnr_errf(err, errno, "setresuid %u", (unsigned)id->uid);
        /* 4. exactly the documented capabilities */
        caps = cap_init();
        if (nkeep > 0) {
                if (cap_set_flag(caps, CAP_PERMITTED, (int)nkeep, keep, CAP_SET) < 0 ||
                    cap_set_flag(caps, CAP_EFFECTIVE, (int)nkeep, keep, CAP_SET) < 0) {
                        cap_free(caps);
                        return cnr_errf(err, errno, "cap_set_flag");
                }
        }
        if (cap_set_proc(caps) < 0) {
                int e = errno;
                cap_free(caps);
                return cnr_errf(err, e, "capset");
        }
        cap_free(caps);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return cnr_errf(err, errno, "clear ambient capabilities");
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return cnr_errf(err, errno, "PR_SET_KEEPCAPS off");
        /* Refuse to go on if root could be regained. */
        if (id->uid != 0 && (setresuid(0, 0, 0) == 0 || (id->gid != 0 && setresgid(0, 0, 0) == 0)))
                return cnr_errf(err, EPERM, "uid 0 could be regained after the drop");
        return 0;
}

int
cnr_sandbox_no_new_privs(struct cnr_err **err)
{
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return cnr_errf(err, errno, "PR_SET_NO_NEW_PRIVS");
        return 0;
}

int
cnr_sandbox_seccomp(const char *const *syscalls, size_t n, int (*extra)(void *ctx, struct cnr_err **err),
                    struct cnr_err **err)
{
        scmp_filter_ctx ctx;
        int r;

        ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        if (ctx == NULL)
                return cnr_errf(err, ENOMEM, "seccomp_init");
        for (size_t i = 0; i < n; i++) {
                int nr = seccomp_syscall_resolve_name(syscalls[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r < 0) {
                        seccomp_release(ctx);
                        return cnr_errf(err, -r, "seccomp: allow `%s`", syscalls[i]);
                }
        }
        if (extra && extra(ctx, err) < 0) {
                seccomp_release(ctx);
                return -1;
        }
        r = seccomp_load(ctx);
        seccomp_release(ctx);
        if (r < 0)
                return cnr_errf(err, -r, "seccomp_load");
        return 0;
}

/* What every long-lived containr process does: a libevent loop over
 * SEQPACKET sockets, fd passing, memory, time, its log and audit fds. */
const char *const cnr_base_syscalls[] = {
        "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "close_range",
        "fstat", "newfstatat", "statx", "lseek", "fcntl", "dup", "dup2", "dup3",
        "recvmsg", "sendmsg", "recvfrom", "sendto", "getsockopt", "shutdown",
        "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
        "pselect6", "eventfd2", "pipe2",
        "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
        "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
        "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getppid", "getresuid", "getresgid",
        "getrandom", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
        "exit", "exit_group", "futex", "sched_yield", "uname", "prctl", "capget",
        "timerfd_create", "timerfd_settime", "openat", "rseq", "set_robust_list",
};
const size_t cnr_base_nsyscalls = CNR_ARRAY_LEN(cnr_base_syscalls);

char *
cnr_caps_to_names(unsigned long long mask)
{
        size_t cap = 64, len = 0;
        char *out = xmalloc(cap);

        out[0] = '\0';
        for (int c = 0; c < 64; c++) {
                char *name;
                size_t nl;

                if (!(mask & (1ULL << c)))
                        continue;
                name = cap_to_name(c);
                nl = strlen(name);
                while (len + nl + 2 > cap)
                        out = xrealloc(out, cap *= 2);
                if (len)
                        out[len++] = ',';
                memcpy(out + len, name, nl + 1);
                len += nl;
                cap_free(name);
        }
        return out;
}
