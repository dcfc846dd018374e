/* containr-netd's privileged work: the only code in this helper that
 * uses CAP_SYS_ADMIN (unshare, setns) and CAP_NET_ADMIN (links). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "common/audit.h"
#include "common/log.h"
#include "helpers/netd/netd.h"

/* The namespace netd started in, opened before the drop: every request
 * that enters another namespace comes back here before it answers. */
static int orig_netns = -1;

int
netd_setup(struct cnr_helper_env *env, struct cnr_err **err)
{
        orig_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (orig_netns < 0)
                return cnr_errf(err, errno, "open the original network namespace `/proc/thread-self/ns/net`");
        return 0;
}

/* Back to the original namespace.  If that fails netd would serve the
 * next request from the wrong place: it cannot go on. */
static void
restore_netns(void)
{
        int e;

        if (setns(orig_netns, CLONE_NEWNET) == 0)
                return;
        e = errno;
        log_error("setns back to the original network namespace: %s; exiting", strerror(e));
        cnr_audit_event("netns_restore", "allow", NULL, e, "setns back to the original network namespace");
        exit(CNR_HELPER_EXIT_SETUP);
}

/* RTM_NEWLINK ifindex 1 (lo in a fresh namespace) with IFF_UP, acked. */
static int
loopback_up(struct cnr_err **err)
{
        struct mnl_socket *nl;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifm;
        unsigned seq = (unsigned)time(NULL), portid;
        ssize_t n;
        int r, e;

        nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (nl == NULL)
                return cnr_errf(err, errno, "open an rtnetlink socket");
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                e = errno;
                mnl_socket_close(nl);
                return cnr_errf(err, e, "bind the rtnetlink socket");
        }
        portid = mnl_socket_get_portid(nl);
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_NEWLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = seq;
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_index = 1; /* lo is always index 1 in a new namespace */
        ifm->ifi_flags = IFF_UP;
        ifm->ifi_change = IFF_UP;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
                e = errno;
                mnl_socket_close(nl);
                return cnr_errf(err, e, "send RTM_NEWLINK for `lo`");
        }
        r = MNL_CB_OK;
        while (r > MNL_CB_STOP) {
                n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                if (n < 0) {
                        e = errno;
                        mnl_socket_close(nl);
                        return cnr_errf(err, e, "read the RTM_NEWLINK acknowledgement");
                }
                r = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
        }
        e = errno;
        mnl_socket_close(nl);
        if (r < 0)
                return cnr_errf(err, e, "set `lo` up");
        return 0;
}

int
netd_netns_create(struct cnr_helper_req *r, struct cnr_err **err)
{
        _cleanup_close_ int nsfd = -1;

        if (unshare(CLONE_NEWNET) < 0)
                return cnr_errf(err, errno, "unshare a new network namespace");
        /* From here on netd is inside the new namespace until restore. */
        nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) {
                cnr_errf(err, errno, "open the new network namespace `/proc/thread-self/ns/net`");
                restore_netns();
                return -1;
        }
        if (loopback_up(err) < 0) {
                restore_netns();
                return cnr_err_wrap(err, "new network namespace");
        }
        restore_netns();
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_NETNS;
        cnr__helper__netns__init(&r->reply.netns);
        r->fds[0] = steal_fd(&nsfd);
        r->nfds = 1;
        return 0;
}
