/* containr info */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/util.h"
#include "common/util.h"

static const char *
seccomp_name(uint32_t mode)
{
        switch (mode) {
        case 0:
                return "off";
        case 1:
                return "strict";
        case 2:
                return "filter";
        default:
                return "?";
        }
}

static void
append_cap(char **s, const char *name)
{
        size_t n = *s ? strlen(*s) : 0;
        char *d;

        if (strncasecmp(name, "cap_", 4) == 0)
                name += 4;
        *s = xrealloc(*s, n + strlen(name) + 2);
        d = *s + n;
        if (n)
                *d++ = ',';
        for (; *name; name++)
                *d++ = (char)tolower((unsigned char)*name);
        *d = '\0';
}

/* "sys_admin,chown" from {"cap_sys_admin", "cap_chown"}; "none"; "all";
 * "all but sys_resource" for a root process that lacks a few. */
static char *
caps_cell(const Cnr__Api__ProcessInfo *p)
{
        unsigned long long eff, missing = 0;
        char *end = NULL, *s = NULL;
        int max = cap_max_bits();

        if (p->n_caps == 0)
                return xstrdup("none");
        errno = 0;
        eff = strtoull(p->cap_eff, &end, 16);
        if (errno == 0 && end != p->cap_eff && *end == '\0' && max > 0 && max <= 64 && (int)p->n_caps > max / 2) {
                for (int i = 0; i < max; i++)
                        if (!(eff & (1ULL << i)))
                                missing++;
                if (missing == 0)
                        return xstrdup("all");
                if (missing <= 4) {
                        for (int i = 0; i < max; i++) {
                                if (!(eff & (1ULL << i))) {
                                        _cleanup_free_ char *name = NULL;
                                        char *cn = cap_to_name((cap_value_t)i);
                                        name = xstrdup(cn ? cn : "?");
                                        cap_free(cn);
                                        append_cap(&s, name);
                                }
                        }
                        {
                                char *r = xasprintf("all but %s", s);
                                free(s);
                                return r;
                        }
                }
        }
        for (size_t i = 0; i < p->n_caps; i++)
                append_cap(&s, p->caps[i]);
        return s;
}

static void
print_text(const Cnr__Api__InfoReply *in)
{
        static const char *const hdr[] = {"NAME", "PID", "UID", "GID", "CAPS", "SECCOMP", "NNP", "RESTARTS",
                                          "UPTIME", "STATE"};
        struct cnr_table *t = cnr_table_new(CNR_ARRAY_LEN(hdr), hdr);

        printf("Version:    %s\n", in->version);
        printf("Kernel:     %s\n", in->kernel);
        printf("Root:       %s\n", in->root);
        printf("Run root:   %s\n", in->run_root);
        printf("Log dir:    %s\n", in->log_dir);
        printf("\n");
        for (size_t i = 0; i < in->n_processes; i++) {
                const Cnr__Api__ProcessInfo *p = in->processes[i];
                char pid[16], uid[16], gid[16], restarts[16], uptime[32];
                _cleanup_free_ char *caps = NULL;
                int running = p->pid > 0;

                snprintf(pid, sizeof(pid), "%d", p->pid);
                snprintf(uid, sizeof(uid), "%u", p->uid);
                snprintf(gid, sizeof(gid), "%u", p->gid);
                snprintf(restarts, sizeof(restarts), "%u", p->restarts);
                cnr_fmt_ms(p->uptime_ms, uptime, sizeof(uptime));
                caps = running ? caps_cell(p) : xstrdup("-");
                {
                        const char *row[] = {p->name,
                                             running ? pid : "-",
                                             running ? uid : "-",
                                             running ? gid : "-",
                                             caps,
                                             running ? seccomp_name(p->seccomp) : "-",
                                             running ? (p->no_new_privs ? "yes" : "no") : "-",
                                             restarts,
                                             running ? uptime : "-",
                                             p->state[0] ? p->state : "unknown"};
                        cnr_table_add(t, row);
                }
        }
        cnr_table_print(t, stdout);
        cnr_table_free(t);
}

static json_t *
to_json(const Cnr__Api__InfoReply *in)
{
        json_t *procs = json_array();

        for (size_t i = 0; i < in->n_processes; i++) {
                const Cnr__Api__ProcessInfo *p = in->processes[i];
                json_t *caps = json_array();

                for (size_t j = 0; j < p->n_caps; j++)
                        json_array_append_new(caps, json_string(p->caps[j]));
                json_array_append_new(
                        procs, json_pack("{s:s,s:s,s:i,s:I,s:I,s:s,s:o,s:s,s:b,s:I,s:I,s:s}", "name", p->name, "role",
                                         p->role, "pid", p->pid, "uid", (json_int_t)p->uid, "gid",
                                         (json_int_t)p->gid, "cap_eff", p->cap_eff, "caps", caps, "seccomp",
                                         seccomp_name(p->seccomp), "no_new_privs", p->no_new_privs, "restarts",
                                         (json_int_t)p->restarts, "uptime_ms", (json_int_t)p->uptime_ms, "state",
                                         p->state));
        }
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "version", in->version, "kernel", in->kernel, "root", in->root,
                         "run_root", in->run_root, "log_dir", in->log_dir, "processes", procs);
}

int
cnr_cmd_info(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        enum cnr_cli_format format;
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__Info info = CNR__API__INFO__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        int r;

        r = cnr_cli_format_only(cli, cmd, argc, argv, &format);
        if (r >= 0)
                return r;

        r = cnr_client_open(&cl, cli->host, &err);
        if (r == 0) {
                req.op_case = CNR__API__REQUEST__OP_INFO;
                req.info = &info;
                r = cnr_client_call(&cl, &req, CNR__API__REPLY__MSG_INFO, &rep, NULL, 0, &err);
        }
        cnr_client_close(&cl);
        if (r < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return CNR_EXIT_FAIL;
        }
        if (format == CNR_FORMAT_JSON) {
                json_t *root = to_json(rep->info);
                if (root == NULL) {
                        cnr__api__reply__free_unpacked(rep, NULL);
                        cnr_cli_error("containrd's answer is not valid UTF-8");
                        return CNR_EXIT_FAIL;
                }
                cnr_cli_print_json(root, JSON_PRESERVE_ORDER);
        } else {
                print_text(rep->info);
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}
