/* containr-netd's privileged work: the only code in this helper that
 * uses CAP_SYS_ADMIN (unshare, setns, the nsfs bind mounts of netns
 * handles) and CAP_NET_ADMIN (links).  cni.c runs the CNI plugins. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/rtnetlink.h>

#include "common/audit.h"
#include "common/log.h"
#include "helpers/netd/netd.h"

/* The namespace netd started in, opened before the drop: every request
 * that enters another namespace comes back here before it answers. */
static int orig_netns = -1;

struct netd_state netd;

/* <run_root>/netns and <run_root>/cni, owned by netd's user, made while
 * netd is still root: after the drop it can write nowhere else. */
static int
own_dir(struct cnr_helper_env *env, const char *path, mode_t mode, struct cnr_err **err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return cnr_errf(err, errno, "mkdir `%s`", path);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cnr_errf(err, errno, "open `%s`", path);
        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "stat `%s`", path);
        if (fchown(fd, env->uid, env->gid) < 0 || fchmod(fd, mode) < 0)
                return cnr_errf(err, errno, "`%s`: owner %u:%u, mode %04o", path, (unsigned)env->uid,
                                (unsigned)env->gid, (unsigned)mode);
        return 0;
}

int
netd_setup(struct cnr_helper_env *env, struct cnr_err **err)
{
        _cleanup_free_ char *tuning = NULL;

        orig_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (orig_netns < 0)
                return cnr_errf(err, errno, "open the original network namespace `/proc/thread-self/ns/net`");
        if (env->run_root == NULL)
                return 0; /* NetnsCreate only: every other op says why it cannot run */
        netd.netns_dir = xasprintf("%s/netns", env->run_root);
        netd.cni_dir = xasprintf("%s/cni", env->run_root);
        netd.ipam_dir = xasprintf("%s/cni/ipam", env->run_root);
        tuning = xasprintf("%s/cni/tuning", env->run_root);
        /* made here: the tuning plugin would make it 0600, which only root can use */
        if (own_dir(env, netd.netns_dir, 0711, err) < 0 || own_dir(env, netd.cni_dir, 0700, err) < 0 ||
            own_dir(env, netd.ipam_dir, 0700, err) < 0 || own_dir(env, tuning, 0700, err) < 0)
                return cnr_err_wrap(err, "netd state directories");
        return 0;
}

int
netd_need_run_root(struct cnr_err **err)
{
        if (netd.netns_dir == NULL)
                return cnr_errf(err, ENOTSUP, "netd was started without --run-root: no netns handles, no CNI");
        return 0;
}

/* A container id: the CNI rule [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128
 * bytes, so it is always one path component and never `.` or `..`. */
bool
netd_valid_id(const char *id)
{
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > 128 || !isalnum((unsigned char)id[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '.' && id[i] != '-')
                        return false;
        return true;
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

/* ---- persistent handles ---------------------------------------------- */

/* The handle of container `id`: an nsfs bind mount on an empty file in
 * <run_root>/netns.  It lives in the host's mount namespace (netd shares
 * it), keeps the namespace alive after the container is gone, and gives
 * the CNI plugins a path (CNI_NETNS) for DEL. */
static char *
handle_path(const char *id)
{
        return xasprintf("%s/%s", netd.netns_dir, id);
}

/* Open an existing handle: it must be an nsfs file of a network namespace. */
static int
open_handle(const char *path, struct cnr_err **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct statfs sfs;

        if (fd < 0)
                return cnr_errf(err, errno, "open the netns handle `%s`", path);
        if (fstatfs(fd, &sfs) < 0)
                return cnr_errf(err, errno, "statfs `%s`", path);
        if (sfs.f_type != NSFS_MAGIC)
                return cnr_errf(err, ENOTSUP, "`%s` is not a namespace handle (no nsfs mount on it)", path);
        return steal_fd(&fd);
}

int
netd_netns_open(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__NetnsOpen *q = r->req->netns_open;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int nsfd = -1, file = -1;
        bool created = false;

        json_object_set_new(r->args, "id", json_string(q->id));
        if (!netd_valid_id(q->id)) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "container id `%s`: not [A-Za-z0-9][A-Za-z0-9_.-]{0,127}", q->id);
        }
        if (netd_need_run_root(err) < 0)
                return -1;
        path = handle_path(q->id);
        file = open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (file < 0 && errno == EEXIST) {
                /* Already there (a second attach, a retry): the same namespace. */
                nsfd = open_handle(path, err);
                if (nsfd < 0)
                        return -1;
        } else if (file < 0) {
                return cnr_errf(err, errno, "create the netns handle `%s`", path);
        } else {
                created = true;
                if (unshare(CLONE_NEWNET) < 0) {
                        cnr_errf(err, errno, "unshare a new network namespace");
                        goto fail;
                }
                if (loopback_up(err) < 0) {
                        restore_netns();
                        cnr_err_wrap(err, "new network namespace");
                        goto fail;
                }
                if (mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL) < 0) {
                        cnr_errf(err, errno, "bind-mount the new network namespace on `%s`", path);
                        restore_netns();
                        goto fail;
                }
                restore_netns();
                nsfd = open_handle(path, err);
                if (nsfd < 0)
                        goto fail;
        }
        json_object_set_new(r->args, "created", json_boolean(created));
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_NETNS;
        cnr__helper__netns__init(&r->reply.netns);
        r->fds[0] = steal_fd(&nsfd);
        r->nfds = 1;
        return 0;
fail:
        umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
        unlink(path);
        return -1;
}

int
netd_netns_remove(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__NetnsRemove *q = r->req->netns_remove;
        _cleanup_free_ char *path = NULL;

        json_object_set_new(r->args, "id", json_string(q->id));
        if (!netd_valid_id(q->id)) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "container id `%s`: not [A-Za-z0-9][A-Za-z0-9_.-]{0,127}", q->id);
        }
        if (netd_need_run_root(err) < 0)
                return -1;
        path = handle_path(q->id);
        /* EINVAL: nothing mounted there (a crash between create and mount). */
        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
                return cnr_errf(err, errno, "unmount the netns handle `%s`", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return cnr_errf(err, errno, "remove the netns handle `%s`", path);
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_DONE;
        cnr__helper__done__init(&r->reply.done);
        return 0;
}

/* ---- rtnetlink queries ------------------------------------------------ */

struct nl {
        struct mnl_socket *sock;
        unsigned portid, seq;
};

static void
nl_close(struct nl *n)
{
        if (n->sock)
                mnl_socket_close(n->sock);
        n->sock = NULL;
}

static int
nl_open(struct nl *n, struct cnr_err **err)
{
        n->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (n->sock == NULL)
                return cnr_errf(err, errno, "open an rtnetlink socket");
        if (mnl_socket_bind(n->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                int e = errno;
                nl_close(n);
                return cnr_errf(err, e, "bind the rtnetlink socket");
        }
        n->portid = mnl_socket_get_portid(n->sock);
        n->seq = (unsigned)time(NULL);
        return 0;
}

/* Send one request and run cb over every reply until done or error. */
static int
nl_talk(struct nl *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data, const char *what, struct cnr_err **err)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        ssize_t len;
        int r = MNL_CB_OK;

        nlh->nlmsg_seq = ++n->seq;
        if (mnl_socket_sendto(n->sock, nlh, nlh->nlmsg_len) < 0)
                return cnr_errf(err, errno, "%s: send", what);
        while (r > MNL_CB_STOP) {
                len = mnl_socket_recvfrom(n->sock, buf, sizeof(buf));
                if (len < 0)
                        return cnr_errf(err, errno, "%s: receive", what);
                r = mnl_cb_run(buf, (size_t)len, n->seq, n->portid, cb, data);
        }
        if (r < 0)
                return cnr_errf(err, errno, "%s", what);
        return 0;
}

struct routes {
        char **v;
        size_t n;
        size_t *bytes; /* shared by both families: the reply must fit a frame */
        bool truncated;
};

/* Route text in one Routes reply, both families: well under the 64 KiB
 * helper frame (each string costs a few bytes of protobuf framing too). */
#define ROUTES_BYTES_MAX (40 * 1024)

static int
route_attr(const struct nlattr *a, void *data)
{
        const struct nlattr **tb = data;
        int type = mnl_attr_get_type(a);

        if (mnl_attr_type_valid(a, RTA_MAX) < 0)
                return MNL_CB_OK;
        tb[type] = a;
        return MNL_CB_OK;
}

static int
route_cb(const struct nlmsghdr *nlh, void *data)
{
        struct routes *rs = data;
        const struct rtmsg *rm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[RTA_MAX + 1] = {0};
        char addr[INET6_ADDRSTRLEN];
        uint32_t table;

        if ((rm->rtm_family != AF_INET && rm->rtm_family != AF_INET6) || rm->rtm_dst_len == 0)
                return MNL_CB_OK; /* the default route overlaps everything: not a claim */
        mnl_attr_parse(nlh, sizeof(*rm), route_attr, tb);
        table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rm->rtm_table;
        if (table == RT_TABLE_LOCAL || tb[RTA_DST] == NULL)
                return MNL_CB_OK; /* local and broadcast addresses: their subnet is in main */
        if (inet_ntop(rm->rtm_family, mnl_attr_get_payload(tb[RTA_DST]), addr, sizeof(addr)) == NULL)
                return MNL_CB_OK;
        if (rs->n >= 4096 || *rs->bytes + strlen(addr) + 8 > ROUTES_BYTES_MAX) {
                rs->truncated = true;
                return MNL_CB_OK;
        }
        rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
        rs->v[rs->n++] = xasprintf("%s/%u", addr, (unsigned)rm->rtm_dst_len);
        *rs->bytes += strlen(rs->v[rs->n - 1]) + 4;
        return MNL_CB_OK;
}

/* The reply owns nothing: the strings of the previous answer are freed on
 * the next call. */
static struct routes last_routes, last_routes6;

static void
routes_clear(struct routes *rs)
{
        for (size_t i = 0; i < rs->n; i++)
                free(rs->v[i]);
        free(rs->v);
        *rs = (struct routes){0};
}

static int
routes_dump(struct nl *n, int family, struct routes *rs, struct cnr_err **err)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct rtmsg *rm;

        nlh->nlmsg_type = RTM_GETROUTE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
        rm->rtm_family = (unsigned char)family;
        return nl_talk(n, nlh, route_cb, rs, family == AF_INET ? "dump the IPv4 routes" : "dump the IPv6 routes", err);
}

int
netd_route_list(struct cnr_helper_req *r, struct cnr_err **err)
{
        struct nl n = {0};
        struct cnr_err *e6 = NULL;
        size_t bytes = 0;
        int rc;

        routes_clear(&last_routes);
        routes_clear(&last_routes6);
        last_routes.bytes = last_routes6.bytes = &bytes;
        if (nl_open(&n, err) < 0)
                return -1;
        rc = routes_dump(&n, AF_INET, &last_routes, err);
        /* a kernel without IPv6 has no IPv6 route to avoid */
        if (rc == 0 && routes_dump(&n, AF_INET6, &last_routes6, &e6) < 0) {
                json_object_set_new(r->args, "ipv6", json_string(cnr_err_str(e6)));
                cnr_err_free(&e6);
        }
        nl_close(&n);
        if (rc < 0)
                return -1;
        json_object_set_new(r->args, "routes", json_integer((json_int_t)last_routes.n));
        json_object_set_new(r->args, "routes6", json_integer((json_int_t)last_routes6.n));
        if (last_routes.truncated || last_routes6.truncated) {
                /* the ones the kernel listed first are kept */
                log_warn("RouteList: more routes than one answer holds (%zu IPv4, %zu IPv6 sent)", last_routes.n,
                         last_routes6.n);
                json_object_set_new(r->args, "truncated", json_true());
        }
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_ROUTES;
        cnr__helper__routes__init(&r->reply.routes);
        r->reply.routes.n_prefixes = last_routes.n;
        r->reply.routes.prefixes = last_routes.v;
        r->reply.routes.n_prefixes6 = last_routes6.n;
        r->reply.routes.prefixes6 = last_routes6.v;
        return 0;
}

/* A bridge netd may remove: one the supervisor names, never another's. */
bool
netd_valid_bridge(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n >= IFNAMSIZ)
                return false;
        if (strncmp(name, "cnr-", 4) != 0 && strncmp(name, "containr", 8) != 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
                        return false;
        return true;
}

struct linkinfo {
        bool found;
        int index;
        char kind[32];
};

static int
link_cb(const struct nlmsghdr *nlh, void *data)
{
        struct linkinfo *li = data;
        const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a, *b;

        li->found = true;
        li->index = ifm->ifi_index;
        mnl_attr_for_each(a, nlh, sizeof(*ifm))
        {
                if (mnl_attr_get_type(a) != IFLA_LINKINFO)
                        continue;
                mnl_attr_for_each_nested(b, a)
                {
                        if (mnl_attr_get_type(b) == IFLA_INFO_KIND)
                                snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(b));
                }
        }
        return MNL_CB_OK;
}

/* host-local's directory of a network: its lock, last_reserved_ip.N and
 * any lease the network still held.  Only regular files, one level. */
static int
ipam_remove(struct cnr_helper_req *r, const char *network, struct cnr_err **err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int dfd, n = 0;

        if (!netd_valid_id(network)) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "network `%s`: not a valid network name", network);
        }
        if (netd_need_run_root(err) < 0)
                return -1;
        json_object_set_new(r->args, "network", json_string(network));
        path = xasprintf("%s/%s", netd.ipam_dir, network);
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0 && errno == ENOENT)
                return 0;
        if (dfd < 0)
                return cnr_errf(err, errno, "open the IPAM directory `%s`", path);
        d = fdopendir(dfd);
        if (d == NULL) {
                close(dfd);
                return cnr_errf(err, errno, "read the IPAM directory `%s`", path);
        }
        while ((de = readdir(d)) != NULL) {
                if (de->d_type != DT_REG)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        return cnr_errf(err, errno, "remove `%s/%s`", path, de->d_name);
                n++;
        }
        if (rmdir(path) < 0)
                return cnr_errf(err, errno, "remove the IPAM directory `%s`", path);
        json_object_set_new(r->args, "ipam_files", json_integer(n));
        return 0;
}

int
netd_bridge_remove(struct cnr_helper_req *r, struct cnr_err **err)
{
        const char *name = r->req->bridge_remove->name;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct linkinfo li = {0};
        struct nl n = {0};
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifm;
        struct cnr_err *e2 = NULL;
        int rc;

        json_object_set_new(r->args, "name", json_string(name));
        if (!netd_valid_bridge(name)) {
                r->deny = true;
                return cnr_errf(err, EPERM, "bridge `%s`: netd removes only bridges named cnr-* or containr*", name);
        }
        if (nl_open(&n, err) < 0)
                return -1;
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK; /* the ack ends the exchange */
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        rc = nl_talk(&n, nlh, link_cb, &li, "look up the link", &e2);
        if (rc < 0 && e2->code == ENODEV) {
                cnr_err_free(&e2);
                nl_close(&n);
                json_object_set_new(r->args, "existed", json_false());
                goto done;
        }
        if (rc < 0) {
                nl_close(&n);
                *err = e2;
                return cnr_err_wrap(err, "bridge `%s`", name);
        }
        if (strcmp(li.kind, "bridge") != 0) {
                nl_close(&n);
                r->deny = true;
                return cnr_errf(err, EPERM, "link `%s` is a `%s`, not a bridge: not removed", name,
                                li.kind[0] ? li.kind : "device");
        }
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_DELLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_index = li.index;
        rc = nl_talk(&n, nlh, NULL, NULL, "delete the link", err);
        nl_close(&n);
        if (rc < 0)
                return cnr_err_wrap(err, "bridge `%s`", name);
        json_object_set_new(r->args, "existed", json_true());
done:
        if (r->req->bridge_remove->network[0] && ipam_remove(r, r->req->bridge_remove->network, err) < 0)
                return -1;
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_DONE;
        cnr__helper__done__init(&r->reply.done);
        return 0;
}

/* ---- a bridge before use ---------------------------------------------- */

struct addrs {
        int index;
        char **v; /* "a.b.c.d/len" of the link's IPv4 addresses */
        size_t n;
};

static int
addr_attr(const struct nlattr *a, void *data)
{
        const struct nlattr **tb = data;

        if (mnl_attr_type_valid(a, IFA_MAX) < 0)
                return MNL_CB_OK;
        tb[mnl_attr_get_type(a)] = a;
        return MNL_CB_OK;
}

static int
addr_cb(const struct nlmsghdr *nlh, void *data)
{
        struct addrs *as = data;
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[IFA_MAX + 1] = {0};
        char buf[INET_ADDRSTRLEN];

        if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != as->index || as->n >= 256)
                return MNL_CB_OK;
        mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, tb);
        if (tb[IFA_LOCAL] == NULL && tb[IFA_ADDRESS] == NULL)
                return MNL_CB_OK;
        if (inet_ntop(AF_INET, mnl_attr_get_payload(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS]), buf,
                      sizeof(buf)) == NULL)
                return MNL_CB_OK;
        as->v = xrealloc(as->v, (as->n + 1) * sizeof(*as->v));
        as->v[as->n++] = xasprintf("%s/%u", buf, (unsigned)ifa->ifa_prefixlen);
        return MNL_CB_OK;
}

struct ports {
        int master;
        size_t n;
};

static int
port_cb(const struct nlmsghdr *nlh, void *data)
{
        struct ports *ps = data;
        const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        mnl_attr_for_each(a, nlh, sizeof(*ifm))
        {
                if (mnl_attr_get_type(a) == IFLA_MASTER && mnl_attr_get_payload_len(a) >= 4 &&
                    (int)mnl_attr_get_u32(a) == ps->master)
                        ps->n++;
        }
        return MNL_CB_OK;
}

static bool
wanted(const char *addr, char **want, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(addr, want[i]) == 0)
                        return true;
        return false;
}

int
netd_bridge_check(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__BridgeCheck *q = r->req->bridge_check;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct linkinfo li = {0};
        struct addrs as = {0};
        struct ports ps = {0};
        struct nl n = {0};
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifm;
        struct rtgenmsg *rt;
        struct cnr_err *e2 = NULL;
        const char *stale = NULL;
        int rc = -1;

        json_object_set_new(r->args, "name", json_string(q->name));
        if (!netd_valid_bridge(q->name)) {
                r->deny = true;
                return cnr_errf(err, EPERM, "bridge `%s`: netd uses only bridges named cnr-* or containr*", q->name);
        }
        if (q->n_addresses > 16) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "bridge `%s`: at most 16 addresses", q->name);
        }
        if (nl_open(&n, err) < 0)
                return -1;
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, q->name);
        if (nl_talk(&n, nlh, link_cb, &li, "look up the link", &e2) < 0) {
                if (e2->code == ENODEV) {
                        cnr_err_free(&e2);
                        json_object_set_new(r->args, "existed", json_false());
                        rc = 0;
                        goto done;
                }
                *err = e2;
                cnr_err_wrap(err, "bridge `%s`", q->name);
                goto out;
        }
        json_object_set_new(r->args, "existed", json_true());
        if (strcmp(li.kind, "bridge") != 0) {
                cnr_errf(err, EEXIST,
                         "a link named `%s` exists and is a %s, not a bridge: remove it or give the network "
                         "another bridge name",
                         q->name, li.kind[0] ? li.kind : "device");
                goto out;
        }
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETADDR;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
        rt->rtgen_family = AF_INET;
        as.index = li.index;
        if (nl_talk(&n, nlh, addr_cb, &as, "list the bridge's addresses", err) < 0)
                goto out;
        for (size_t i = 0; i < as.n && !stale; i++)
                if (!wanted(as.v[i], q->addresses, q->n_addresses))
                        stale = as.v[i];
        if (stale == NULL) {
                rc = 0;
                goto done;
        }
        json_object_set_new(r->args, "stale_address", json_string(stale));
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ps.master = li.index;
        if (nl_talk(&n, nlh, port_cb, &ps, "list the bridge's ports", err) < 0)
                goto out;
        json_object_set_new(r->args, "ports", json_integer((json_int_t)ps.n));
        if (!q->may_delete || ps.n > 0) {
                cnr_errf(err, EEXIST,
                         "bridge `%s` has the address %s, not %s (left by an earlier install?)%s%s: remove it "
                         "(ip link del %s) or give the network another bridge name",
                         q->name, stale, q->n_addresses ? q->addresses[0] : "the network's gateway",
                         ps.n ? ", and interfaces are attached to it" : "",
                         !q->may_delete ? ", and containers of containr's use it" : "", q->name);
                goto out;
        }
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_DELLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_index = li.index;
        if (nl_talk(&n, nlh, NULL, NULL, "delete the link", err) < 0) {
                cnr_err_wrap(err, "stale bridge `%s`", q->name);
                goto out;
        }
        log_info("bridge `%s` had the address %s, not the network's: removed (the CNI bridge plugin makes it again)",
                 q->name, stale);
        json_object_set_new(r->args, "removed", json_true());
        rc = 0;
done:
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_DONE;
        cnr__helper__done__init(&r->reply.done);
out:
        nl_close(&n);
        for (size_t i = 0; i < as.n; i++)
                free(as.v[i]);
        free(as.v);
        return rc;
}
