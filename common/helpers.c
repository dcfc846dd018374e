#include "config.h"

#include <string.h>

#include "common/helpers.h"
#include "common/util.h"

/* Why each helper holds what it holds: see man/containr-helpers.7. */
static const cap_value_t mountd_caps[] = {
        CAP_SYS_ADMIN,    /* fsopen/fsmount/open_tree: building detached mounts */
        CAP_CHOWN,        /* overlayfs copy-up runs with the mounter's credentials: */
        CAP_DAC_OVERRIDE, /*   it must read and recreate files of any owner */
        CAP_FOWNER,       /*   and set their times and modes */
        CAP_FSETID,       /*   keeping setuid/setgid bits */
        CAP_MKNOD,        /*   whiteouts are 0/0 character devices */
        CAP_SETFCAP,      /*   and file capabilities survive copy-up */
};
static const cap_value_t netd_caps[] = {
        CAP_NET_ADMIN, /* links, addresses, routes, iptables via CNI plugins */
        CAP_NET_RAW,   /* iptables, ARP/ND from the bridge plugin */
        CAP_SYS_ADMIN, /* unshare(CLONE_NEWNET), setns, netns handles */
};
static const cap_value_t snapd_caps[] = {
        CAP_CHOWN,        /* layer files keep their owners */
        CAP_DAC_OVERRIDE, /* snapshot trees hold files of every owner and mode */
        CAP_FOWNER,       /* utimes/chmod on files it does not own */
        CAP_FSETID,       /* setuid/setgid bits survive */
        CAP_MKNOD,        /* device nodes and overlay whiteouts */
        CAP_SETFCAP,      /* security.capability xattrs from layers */
        CAP_SYS_ADMIN,    /* trusted.overlay.* xattrs; btrfs subvolume ioctls */
};

const struct cnr_helper_desc cnr_helpers[CNR_HELPER_COUNT] = {
        [CNR_HELPER_MOUNTD] = {"mountd", "containr-mountd", "containr-mountd",
                               "builds detached mounts (overlay, tmpfs, bind) for containers and views",
                               mountd_caps, CNR_ARRAY_LEN(mountd_caps)},
        [CNR_HELPER_NETD] = {"netd", "containr-netd", "containr-netd",
                             "network namespaces, CNI plugins, loopback and link queries", netd_caps,
                             CNR_ARRAY_LEN(netd_caps)},
        [CNR_HELPER_SNAPD] = {"snapd", "containr-snapd", "containr-snapd",
                              "snapshot directories and layer unpacking under the snapshot root", snapd_caps,
                              CNR_ARRAY_LEN(snapd_caps)},
        [CNR_HELPER_BUILDD] = {"buildd", "containr-buildd", "containr-buildd",
                               "Dockerfile parsing, build graph and cache keys (no privilege)", NULL, 0},
        [CNR_HELPER_CRID] = {"crid", "containr-crid", "containr-crid",
                             "Kubernetes CRI gateway (no privilege)", NULL, 0},
};

int
cnr_helper_lookup(const char *name)
{
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                if (strcmp(cnr_helpers[i].name, name) == 0)
                        return i;
        return -1;
}

unsigned long long
cnr_helper_capmask(const struct cnr_helper_desc *h)
{
        unsigned long long m = 0;

        for (size_t i = 0; i < h->ncaps; i++)
                m |= 1ULL << h->caps[i];
        return m;
}
