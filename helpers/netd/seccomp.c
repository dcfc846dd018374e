/* containr-netd's system calls beyond cnr_base_syscalls.  The CNI plugins
 * netd execs (Go binaries) and the iptables they exec in turn run under
 * this same filter, so the list is netd's own needs plus what those
 * programs were measured to call (strace -f over ADD, CHECK and DEL of
 * bridge, host-local, portmap, firewall, tuning, loopback, bandwidth with
 * iptables-nft; man/containr-helpers.7 lists them).  The ones that could
 * do more than netd's job are allowed only with the arguments it uses. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "helpers/netd/netd.h"

const char *const netd_syscalls[] = {
        /* netd: rtnetlink, handles, plugin processes */
        "bind",        /* the rtnetlink socket (mnl_socket_bind) */
        "getsockname", /* its port id (mnl_socket_bind) */
        "fstatfs",
        "statfs", /* a handle is an nsfs file */
        "unlink",
        "unlinkat", /* a handle; a lease */
        "rmdir",    /* a network's IPAM directory */
        "execve",
        "wait4",
        "waitid",
        "kill",   /* plugins, their deadline */
        "capset", /* the child makes netd's capabilities ambient before execve */
        /* the Go runtime of the plugins */
        "arch_prctl",
        "set_tid_address",
        "sched_getaffinity",
        "getrlimit",
        "prlimit64",
        "tgkill",
        "tkill",
        "pidfd_open",
        "pidfd_send_signal",
        /* the plugins' work: netlink sockets, sysctls, IPAM files, iptables */
        "setsockopt",
        "connect",
        "access",
        "faccessat",
        "faccessat2",
        "readlinkat",
        "getdents64",
        "flock",
        "mkdirat",
        "renameat",
        "ftruncate",
        "fsync",
        "getcwd",
        "fadvise64",
        NULL,
};

int
netd_seccomp_extra(void *ctx, struct cnr_err **err)
{
        static const struct {
                const char *name;
                int nr;
                unsigned long long a0;
        } rules[] = {
                /* netlink (links, addresses, nftables), AF_UNIX (the firewall
                 * plugin asks D-Bus for firewalld), AF_INET/AF_INET6
                 * (iptables-legacy, Go's socket probes); no packet sockets */
                {"socket(AF_NETLINK)", SCMP_SYS(socket), AF_NETLINK},
                {"socket(AF_UNIX)", SCMP_SYS(socket), AF_UNIX},
                {"socket(AF_INET)", SCMP_SYS(socket), AF_INET},
                {"socket(AF_INET6)", SCMP_SYS(socket), AF_INET6},
                /* a new network namespace, nothing else */
                {"unshare(CLONE_NEWNET)", SCMP_SYS(unshare), CLONE_NEWNET},
        };
        /* clone: threads and processes, never a new namespace */
        const unsigned long long ns_flags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                            CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
        int r;

        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, rules[i].nr, 1, SCMP_A0(SCMP_CMP_EQ, rules[i].a0));
                if (r < 0)
                        return cnr_errf(err, -r, "seccomp: allow `%s`", rules[i].name);
        }
        /* setns(fd, CLONE_NEWNET): back to the original namespace; the
         * plugins' entry into a container's namespace */
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setns), 1, SCMP_A1(SCMP_CMP_EQ, CLONE_NEWNET));
        if (r < 0)
                return cnr_errf(err, -r, "seccomp: allow `setns(CLONE_NEWNET)`");
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags, 0));
        if (r < 0)
                return cnr_errf(err, -r, "seccomp: allow `clone` without namespace flags");
        /* clone3 keeps its flags in memory a filter cannot read: ENOSYS makes
         * glibc and Go fall back to clone, which is checked */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r < 0)
                return cnr_errf(err, -r, "seccomp: clone3 -> ENOSYS");
        /* the netns handle: a plain bind mount of an nsfs file, and its removal */
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mount), 1, SCMP_A3(SCMP_CMP_EQ, MS_BIND));
        if (r < 0)
                return cnr_errf(err, -r, "seccomp: allow `mount(MS_BIND)`");
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(umount2), 1,
                             SCMP_A1(SCMP_CMP_EQ, MNT_DETACH | UMOUNT_NOFOLLOW));
        if (r < 0)
                return cnr_errf(err, -r, "seccomp: allow `umount2(MNT_DETACH|UMOUNT_NOFOLLOW)`");
        return 0;
}
