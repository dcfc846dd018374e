/* containr-netd: isolation between containr's networks.
 *
 * The host routes between its bridges, so without a rule a container on
 * one network reaches every other network's containers.  netd owns two
 * chains per containrd instance, in the mangle table of IPv4 and IPv6:
 *
 *   FORWARD      -j CNR-ISO1-<h>   (first rule; comment names the run root)
 *   CNR-ISO1-<h> -i BR ! -o BR -j CNR-ISO2-<h>   one per bridge
 *   CNR-ISO2-<h> -o BR -j DROP                  one per bridge
 *
 * <h> is a hash of netd's run root, so two instances on one host (the
 * test suites) never rewrite each other's rules.  mangle FORWARD runs
 * before filter FORWARD, where the CNI plugins (CNI-FORWARD) and Docker
 * insert their ACCEPT rules, so the order in which others insert theirs
 * does not matter.  Traffic within one bridge (-i BR -o BR) and traffic
 * to and from the host (INPUT, OUTPUT: -p from 127.0.0.1) never meet
 * these chains.
 *
 * Each sync rewrites both chains in one iptables-restore --noflush
 * transaction (declaring a chain flushes it) with the full list the
 * supervisor sends, so a rule of a removed network cannot survive a crash:
 * the next start sends the list again.  The same transaction makes the
 * jump the first rule of mangle FORWARD again (an ACCEPT inserted above it
 * would end the mangle table before it).  Only bridge names netd would use
 * (cnr-*, containr*) are written. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/log.h"
#include "helpers/netd/netd.h"

#define IPT_TIMEOUT_MS 30000
/* what a comment may carry unquoted through iptables-restore */
#define SAFE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+-"

static uint32_t
fnv1a(const char *s)
{
        uint32_t h = 2166136261u;

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 16777619u;
        }
        return h;
}

/* An iptables binary: root's, writable by root only (through the
 * Debian alternatives symlinks, which stat follows). */
static char *
find_tool(const char *name, struct cnr_err **err)
{
        static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
        int e = ENOENT;

        for (size_t i = 0; i < CNR_ARRAY_LEN(dirs); i++) {
                char *p = xasprintf("%s/%s", dirs[i], name);
                struct stat st;

                if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                        if (st.st_uid == 0 && !(st.st_mode & 022) && (st.st_mode & 0111))
                                return p;
                        e = EPERM;
                }
                free(p);
        }
        cnr_errf(err, e, "`%s`: %s", name,
                 e == EPERM ? "not root's or writable by others" : "not found in /usr/sbin, /sbin (package iptables)");
        return NULL;
}

/* Run an iptables tool; exit 0 is success, and with `missing` so is exit
 * 1 (-C: the rule is not there), reported in *missing. */
static int
run_tool(const char *tool, char *const argv[], const char *in, bool *missing, struct cnr_err **err)
{
        _cleanup_free_ char *path = find_tool(tool, err);
        _cleanup_free_ char *lock = NULL;
        char *envp[3], *nl;
        struct netd_out po;
        int rc, code;

        if (path == NULL)
                return -1;
        lock = xasprintf("XTABLES_LOCKFILE=%s/xtables.lock", netd.cni_dir);
        envp[0] = lock;
        envp[1] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
        envp[2] = NULL;
        rc = netd_run(path, argv, envp, in, IPT_TIMEOUT_MS, &po, err);
        free(po.out);
        if (rc < 0)
                return -1;
        code = WIFEXITED(po.status) ? WEXITSTATUS(po.status) : 128 + WTERMSIG(po.status);
        if (missing)
                *missing = code == 1;
        if (code == 0 || (missing && code == 1))
                return 0;
        while ((nl = strrchr(po.err, '\n')) && nl[1] == '\0')
                *nl = '\0';
        return cnr_errf(err, EIO, "%s: exit %d%s%s", tool, code, po.errlen ? ": " : "", po.err);
}

/* One family, in one iptables-restore transaction: both chains rewritten
 * (declaring a chain flushes it) and the jump made the first rule of
 * mangle FORWARD (moved there if something was inserted above it since,
 * added if missing: iptables -C says which, any failure meaning missing;
 * a real problem then fails the transaction). */
static int
sync_family(bool v6, char **bridges, size_t n, const char *c1, const char *c2, const char *comment,
            struct cnr_err **err)
{
        const char *ipt = v6 ? "ip6tables" : "iptables";
        _cleanup_free_ char *restore = xasprintf("%s-restore", ipt);
        _cleanup_free_ char *in = NULL;
        size_t len = 0;
        FILE *m;
        bool missing = true;
        char *check[] = {
                (char *)ipt,  (char *)"-w",      (char *)"-t",        (char *)"mangle", (char *)"-C", (char *)"FORWARD",
                (char *)"-m", (char *)"comment", (char *)"--comment", (char *)comment,  (char *)"-j", (char *)c1,
                NULL};
        char *argv[] = {restore, (char *)"--noflush", (char *)"-w", NULL};
        struct cnr_err *ce = NULL;

        if (run_tool(ipt, check, "", &missing, &ce) < 0) {
                missing = true; /* the chain itself is missing (first sync) */
                cnr_err_free(&ce);
        }
        m = open_memstream(&in, &len);
        fprintf(m, "*mangle\n:%s - [0:0]\n:%s - [0:0]\n", c1, c2);
        for (size_t i = 0; i < n; i++)
                fprintf(m, "-A %s -i %s ! -o %s -j %s\n", c1, bridges[i], bridges[i], c2);
        for (size_t i = 0; i < n; i++)
                fprintf(m, "-A %s -o %s -j DROP\n", c2, bridges[i]);
        if (!missing)
                fprintf(m, "-D FORWARD -m comment --comment \"%s\" -j %s\n", comment, c1);
        fprintf(m, "-I FORWARD 1 -m comment --comment \"%s\" -j %s\n", comment, c1);
        fputs("COMMIT\n", m);
        fclose(m);
        return run_tool(restore, argv, in, NULL, err);
}

int
netd_isolation_sync(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__IsolationSync *q = r->req->isolation_sync;
        char c1[32], c2[32];
        _cleanup_free_ char *comment = NULL;
        json_t *names = json_array();
        struct cnr_err *e6 = NULL;
        uint32_t h;

        json_object_set_new(r->args, "bridges", names);
        if (q->n_bridges > 1024) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "isolation: %zu bridges, at most 1024", q->n_bridges);
        }
        for (size_t i = 0; i < q->n_bridges; i++) {
                json_array_append_new(names, json_string(q->bridges[i]));
                if (!netd_valid_bridge(q->bridges[i])) {
                        r->deny = true;
                        return cnr_errf(err, EPERM,
                                        "isolation: bridge `%s`: netd uses only bridges named cnr-* or containr*",
                                        q->bridges[i]);
                }
        }
        if (netd_need_run_root(err) < 0)
                return -1;
        h = fnv1a(netd.cni_dir);
        snprintf(c1, sizeof(c1), "CNR-ISO1-%08x", h);
        snprintf(c2, sizeof(c2), "CNR-ISO2-%08x", h);
        /* the run root tells an operator (and the tests) whose chains these are */
        comment = strlen(netd.cni_dir) < 200 && strspn(netd.cni_dir, SAFE) == strlen(netd.cni_dir)
                          ? xasprintf("containr isolation %s", netd.cni_dir)
                          : xasprintf("containr isolation %08x", h);
        json_object_set_new(r->args, "chain", json_string(c1));
        if (sync_family(false, q->bridges, q->n_bridges, c1, c2, comment, err) < 0)
                return cnr_err_wrap(err, "isolation between networks (IPv4)");
        /* A host without IPv6 netfilter has no IPv6 network either. */
        if (sync_family(true, q->bridges, q->n_bridges, c1, c2, comment, &e6) < 0) {
                log_warn("isolation between networks (IPv6): %s", cnr_err_str(e6));
                json_object_set_new(r->args, "ipv6", json_string(cnr_err_str(e6)));
                cnr_err_free(&e6);
        }
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_DONE;
        cnr__helper__done__init(&r->reply.done);
        return 0;
}
