/* containr volume create, ls, rm, inspect, prune. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/container.h"
#include "cli/util.h"
#include "common/util.h"

static int
vol_create(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"label", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__VolumeCreate vc = CNR__API__VOLUME_CREATE__INIT;
        Cnr__Api__Reply *rep = NULL;
        char **labels = NULL;
        size_t n = 0;
        int o, rc;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":l:h", opts)) != -1) {
                if (o == 'l') {
                        labels = xrealloc(labels, (n + 1) * sizeof(char *));
                        labels[n++] = optarg;
                } else {
                        free(labels);
                        if (o == 'h') {
                                cnr_cli_help(stdout, cli, cmd);
                                return CNR_EXIT_OK;
                        }
                        return CNR_EXIT_USAGE;
                }
        }
        if (argc - optind > 1) {
                free(labels);
                return cnr_cli_usage_error(cli, "want [NAME]");
        }
        vc.name = optind < argc ? argv[optind] : "";
        vc.labels = labels;
        vc.n_labels = n;
        req.op_case = CNR__API__REQUEST__OP_VOLUME_CREATE;
        req.volume_create = &vc;
        rc = ctr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_VOLUME_CREATE, &rep, NULL, 0);
        free(labels);
        if (rc < 0)
                return CNR_EXIT_FAIL;
        printf("%s\n", rep->volume_create->name);
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

static json_t *
vol_json(struct cnr_cli *cli, Cnr__Api__Request *req, int want)
{
        Cnr__Api__Reply *rep = NULL;
        int fd = -1;

        if (ctr_cli_call(cli, req, NULL, 0, want, &rep, &fd, 1) < 0)
                return NULL;
        cnr__api__reply__free_unpacked(rep, NULL);
        return ctr_cli_read_json(fd);
}

static int
vol_ls(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"filter", required_argument, NULL, 'f'},
                                             {"format", required_argument, NULL, 'F'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        static const char *const headers[] = {"DRIVER", "VOLUME NAME"};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__VolumeList vl = CNR__API__VOLUME_LIST__INIT;
        enum cnr_cli_format fmt = CNR_FORMAT_TEXT;
        bool quiet = false;
        struct cnr_table *t;
        char **filters = NULL;
        json_t *a, *v;
        size_t i;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":qf:h", opts)) != -1) {
                switch (o) {
                case 'q':
                        quiet = true;
                        break;
                case 'f':
                        filters = xrealloc(filters, (vl.n_filters + 1) * sizeof(char *));
                        filters[vl.n_filters++] = optarg;
                        break;
                case 'F':
                        if (cnr_cli_parse_format(cli, optarg, &fmt) == 0)
                                break;
                        free(filters);
                        return CNR_EXIT_USAGE;
                case 'h':
                        free(filters);
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                default:
                        free(filters);
                        return CNR_EXIT_USAGE;
                }
        }
        if (cnr_cli_no_args(cli, argc, argv)) {
                free(filters);
                return CNR_EXIT_USAGE;
        }
        vl.filters = filters;
        req.op_case = CNR__API__REQUEST__OP_VOLUME_LIST;
        req.volume_list = &vl;
        a = vol_json(cli, &req, CNR__API__REPLY__MSG_VOLUME_LIST);
        free(filters);
        if (!a)
                return CNR_EXIT_FAIL;
        if (fmt == CNR_FORMAT_JSON) {
                cnr_cli_print_json(a, 0);
                return CNR_EXIT_OK;
        }
        t = cnr_table_new(2, headers);
        json_array_foreach(a, i, v)
        {
                const char *name = json_string_value(json_object_get(v, "Name"));
                const char *cells[] = {"local", name};
                if (quiet)
                        printf("%s\n", name);
                else
                        cnr_table_add(t, cells);
        }
        if (!quiet)
                cnr_table_print(t, stdout);
        cnr_table_free(t);
        json_decref(a);
        return CNR_EXIT_OK;
}

static int
vol_inspect(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__VolumeInspect vi = CNR__API__VOLUME_INSPECT__INIT;
        json_t *a;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1) {
                if (o == 'h') {
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                }
                return CNR_EXIT_USAGE;
        }
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want VOLUME...");
        vi.names = argv + optind;
        vi.n_names = (size_t)(argc - optind);
        req.op_case = CNR__API__REQUEST__OP_VOLUME_INSPECT;
        req.volume_inspect = &vi;
        a = vol_json(cli, &req, CNR__API__REPLY__MSG_VOLUME_INSPECT);
        if (!a)
                return CNR_EXIT_FAIL;
        json_dumpf(a, stdout, JSON_INDENT(4));
        putchar('\n');
        json_decref(a);
        return CNR_EXIT_OK;
}

static int
vol_rm(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__VolumeRemove vr = CNR__API__VOLUME_REMOVE__INIT;
        Cnr__Api__Reply *rep = NULL;
        int o, rc = CNR_EXIT_OK;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":fh", opts)) != -1) {
                if (o == 'f') {
                        vr.force = true;
                        continue;
                }
                if (o == 'h') {
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                }
                return CNR_EXIT_USAGE;
        }
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want VOLUME...");
        vr.names = argv + optind;
        vr.n_names = (size_t)(argc - optind);
        req.op_case = CNR__API__REQUEST__OP_VOLUME_REMOVE;
        req.volume_remove = &vr;
        if (ctr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_VOLUME_REMOVE, &rep, NULL, 0) < 0)
                return CNR_EXIT_FAIL;
        for (size_t i = 0; i < rep->volume_remove->n_removed; i++)
                printf("%s\n", rep->volume_remove->removed[i]);
        for (size_t i = 0; i < rep->volume_remove->n_errors; i++) {
                cnr_cli_error("%s", rep->volume_remove->errors[i]);
                rc = CNR_EXIT_FAIL;
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return rc;
}

static int
vol_prune(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                             {"filter", required_argument, NULL, 'F'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__VolumeList vl = CNR__API__VOLUME_LIST__INIT;
        Cnr__Api__Reply *rep = NULL;
        char **filters = NULL;
        int o, rc;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":fh", opts)) != -1) {
                if (o == 'f')
                        continue;
                if (o == 'F') {
                        filters = xrealloc(filters, (vl.n_filters + 1) * sizeof(char *));
                        filters[vl.n_filters++] = optarg;
                        continue;
                }
                free(filters);
                if (o == 'h') {
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                }
                return CNR_EXIT_USAGE;
        }
        if (cnr_cli_no_args(cli, argc, argv)) {
                free(filters);
                return CNR_EXIT_USAGE;
        }
        vl.filters = filters;
        req.op_case = CNR__API__REQUEST__OP_VOLUME_PRUNE;
        req.volume_prune = &vl;
        rc = ctr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_VOLUME_PRUNE, &rep, NULL, 0);
        free(filters);
        if (rc < 0)
                return CNR_EXIT_FAIL;
        for (size_t i = 0; i < rep->volume_prune->n_items; i++)
                printf("Deleted volume: %s\n", rep->volume_prune->items[i]->id);
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

const struct cnr_cli_cmd cnr_cmd_volume[] = {
        {"create", vol_create, "Create a named volume", "[OPTIONS] [NAME]",
         "A volume is a directory containr-snapd makes under the snapshot root (an\n"
         "active snapshot without a parent); -v NAME:/path mounts it.\n"
         "\n"
         "Options:\n"
         "  -l, --label K=V       Set a label\n",
         NULL},
        {"ls", vol_ls, "List volumes", "[OPTIONS]",
         "Options:\n"
         "  -q, --quiet           Print only names\n"
         "  -f, --filter K=V      dangling=true|false (no container uses it),\n"
         "                        name=SUBSTRING, label=KEY[=VALUE]; repeatable\n"
         "      --format FORMAT   table (default) or json\n",
         NULL},
        {"inspect", vol_inspect, "Show volumes as JSON", "VOLUME...", NULL, NULL},
        {"rm", vol_rm, "Remove volumes", "[OPTIONS] VOLUME...",
         "A volume a container (running or not) names is not removed.\n"
         "\n"
         "Options:\n"
         "  -f, --force           Accepted for compatibility\n",
         NULL},
        {"prune", vol_prune, "Remove every volume no container uses", "[OPTIONS]",
         "Dangling volumes go: named ones no container names, and anonymous\n"
         "ones whose container was removed without -v.\n"
         "\n"
         "Options:\n"
         "  -f, --force           Do not ask (containr never asks)\n"
         "      --filter K=V      Only among the volumes that match (as volume ls)\n",
         NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
};
