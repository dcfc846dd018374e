/* containr-netd's system calls beyond cnr_base_syscalls.  The ones that
 * could do more than netd's job are allowed only with the arguments it
 * uses. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "helpers/netd/netd.h"

const char *const netd_syscalls[] = {
        "bind",        /* the rtnetlink socket (mnl_socket_bind) */
        "getsockname", /* its port id (mnl_socket_bind) */
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
                /* netlink only: links and addresses, no other socket family */
                {"socket(AF_NETLINK)", SCMP_SYS(socket), AF_NETLINK},
                /* a new network namespace, nothing else */
                {"unshare(CLONE_NEWNET)", SCMP_SYS(unshare), CLONE_NEWNET},
        };
        int r;

        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, rules[i].nr, 1, SCMP_A0(SCMP_CMP_EQ, rules[i].a0));
                if (r < 0)
                        return cnr_errf(err, -r, "seccomp: allow `%s`", rules[i].name);
        }
        /* setns(fd, CLONE_NEWNET): back to the original namespace */
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setns), 1, SCMP_A1(SCMP_CMP_EQ, CLONE_NEWNET));
        if (r < 0)
                return cnr_errf(err, -r, "seccomp: allow `setns(CLONE_NEWNET)`");
        return 0;
}
