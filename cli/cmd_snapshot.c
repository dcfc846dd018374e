/* containr snapshot ls, inspect, rm, diff, export, import, verify.
 *
 * Files the operator names are opened here with the operator's own
 * credentials and passed as fds; containrd takes regular files (or
 * memfds) only, so output to a pipe goes through an unlinked temporary
 * file, and so does input from one. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/util.h"
#include "common/util.h"

#define LONG_TIMEOUT_MS (6 * 3600 * 1000)

/* ---- ls ---- */

static int
snap_ls(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"filter", required_argument, NULL, 'f'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"format", required_argument, NULL, 'F'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        static const char *const headers[] = {"KEY", "PARENT", "KIND"};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__SnapshotList q = CNR__API__SNAPSHOT_LIST__INIT;
        Cnr__Api__Reply *rep = NULL;
        enum cnr_cli_format fmt = CNR_FORMAT_TEXT;
        char **filters = NULL;
        size_t nf = 0, i;
        bool quiet = false;
        struct cnr_table *t;
        json_t *a, *v;
        int o, fd = -1;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":f:qh", opts)) != -1) {
                switch (o) {
                case 'f':
                        filters = xrealloc(filters, (nf + 1) * sizeof(char *));
                        filters[nf++] = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'F':
                        if (cnr_cli_parse_format(cli, optarg, &fmt) != 0) {
                                free(filters);
                                return CNR_EXIT_USAGE;
                        }
                        break;
                default:
                        free(filters);
                        return cnr_cli_help_or_usage(cli, cmd, o);
                }
        }
        if (cnr_cli_no_args(cli, argc, argv)) {
                free(filters);
                return CNR_EXIT_USAGE;
        }
        q.filters = filters;
        q.n_filters = nf;
        req.op_case = CNR__API__REQUEST__OP_SNAPSHOT_LIST;
        req.snapshot_list = &q;
        o = cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_SNAPSHOT_LIST, &rep, &fd, 1, LONG_TIMEOUT_MS);
        free(filters);
        if (o < 0)
                return CNR_EXIT_FAIL;
        cnr__api__reply__free_unpacked(rep, NULL);
        a = cnr_cli_read_json(fd);
        if (a == NULL)
                return CNR_EXIT_FAIL;
        if (fmt == CNR_FORMAT_JSON) {
                cnr_cli_print_json(a, 0);
                return CNR_EXIT_OK;
        }
        t = cnr_table_new(3, headers);
        json_array_foreach(a, i, v)
        {
                const char *cells[] = {json_string_value(json_object_get(v, "Name")),
                                       json_string_value(json_object_get(v, "Parent")),
                                       json_string_value(json_object_get(v, "Kind"))};
                if (quiet)
                        printf("%s\n", cells[0]);
                else
                        cnr_table_add(t, cells);
        }
        if (!quiet)
                cnr_table_print(t, stdout);
        cnr_table_free(t);
        json_decref(a);
        return CNR_EXIT_OK;
}

/* ---- inspect ---- */

static int
snap_inspect(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__SnapshotInspect q = CNR__API__SNAPSHOT_INSPECT__INIT;
        Cnr__Api__Reply *rep = NULL;
        json_t *j;
        int o, fd = -1;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1)
                return cnr_cli_help_or_usage(cli, cmd, o);
        if (argc - optind != 1)
                return cnr_cli_usage_error(cli, "want KEY");
        q.key = argv[optind];
        req.op_case = CNR__API__REQUEST__OP_SNAPSHOT_INSPECT;
        req.snapshot_inspect = &q;
        if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_SNAPSHOT_INSPECT, &rep, &fd, 1, LONG_TIMEOUT_MS) < 0)
                return CNR_EXIT_FAIL;
        cnr__api__reply__free_unpacked(rep, NULL);
        j = cnr_cli_read_json(fd);
        if (j == NULL)
                return CNR_EXIT_FAIL;
        json_dumpf(j, stdout, JSON_INDENT(4));
        putchar('\n');
        json_decref(j);
        return CNR_EXIT_OK;
}

/* ---- rm ---- */

static int
snap_rm(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        int o, rc = CNR_EXIT_OK;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1)
                return cnr_cli_help_or_usage(cli, cmd, o);
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want KEY...");
        for (int i = optind; i < argc; i++) {
                Cnr__Api__Request req = CNR__API__REQUEST__INIT;
                Cnr__Api__SnapshotRemove q = CNR__API__SNAPSHOT_REMOVE__INIT;
                Cnr__Api__Reply *rep = NULL;

                q.key = argv[i];
                req.op_case = CNR__API__REQUEST__OP_SNAPSHOT_REMOVE;
                req.snapshot_remove = &q;
                if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_SNAPSHOT_REMOVE, &rep, NULL, 0,
                                 LONG_TIMEOUT_MS) < 0) {
                        rc = CNR_EXIT_FAIL;
                        continue;
                }
                printf("%s\n", rep->snapshot_remove->key);
                cnr__api__reply__free_unpacked(rep, NULL);
        }
        return rc;
}

/* ---- diff, export ---- */

static int
diff_or_export(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv, bool export)
{
        static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                             {"gzip", no_argument, NULL, 'z'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        const char *what = export ? "export" : "diff";
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__SnapshotDiff qd = CNR__API__SNAPSHOT_DIFF__INIT;
        Cnr__Api__SnapshotExport qe = CNR__API__SNAPSHOT_EXPORT__INIT;
        Cnr__Api__Reply *rep = NULL;
        Cnr__Api__SnapshotDiffReply *r;
        const char *output = NULL;
        bool gzip = false, via_tmp;
        int o, fd, rc = CNR_EXIT_FAIL;

        while ((o = cnr_cli_getopt(cli, argc, argv, export ? ":o:h" : ":o:zh", opts)) != -1) {
                if (o == 'o')
                        output = optarg;
                else if (o == 'z' && !export)
                        gzip = true;
                else
                        return cnr_cli_help_or_usage(cli, cmd, o);
        }
        if (argc - optind != 1)
                return cnr_cli_usage_error(cli, "want KEY");
        fd = cnr_cli_open_output(output, what, "containr-snapshot", &via_tmp);
        if (fd < 0)
                return CNR_EXIT_FAIL;
        if (export) {
                qe.key = argv[optind];
                req.op_case = CNR__API__REQUEST__OP_SNAPSHOT_EXPORT;
                req.snapshot_export = &qe;
        } else {
                qd.key = argv[optind];
                qd.gzip = gzip;
                req.op_case = CNR__API__REQUEST__OP_SNAPSHOT_DIFF;
                req.snapshot_diff = &qd;
        }
        if (cnr_cli_call(cli, &req, &fd, 1,
                         export ? CNR__API__REPLY__MSG_SNAPSHOT_EXPORT : CNR__API__REPLY__MSG_SNAPSHOT_DIFF, &rep, NULL,
                         0, LONG_TIMEOUT_MS) < 0) {
                if (output && strcmp(output, "-") != 0)
                        unlink(output);
                goto out;
        }
        r = export ? rep->snapshot_export : rep->snapshot_diff;
        if (via_tmp && (lseek(fd, 0, SEEK_SET) < 0 || cnr_cli_copy_fd(fd, 1) < 0)) {
                cnr_cli_error("%s: writing to stdout: %s", what, strerror(errno));
        } else {
                fprintf(stderr, "%s %s: %llu entries, diff_id %s\n", what, argv[optind], (unsigned long long)r->entries,
                        r->diff_id);
                rc = CNR_EXIT_OK;
        }
        cnr__api__reply__free_unpacked(rep, NULL);
out:
        close(fd);
        return rc;
}

static int
snap_diff(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return diff_or_export(cli, cmd, argc, argv, false);
}

static int
snap_export(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return diff_or_export(cli, cmd, argc, argv, true);
}

/* ---- import ---- */

static int
snap_import(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"parent", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__SnapshotImport q = CNR__API__SNAPSHOT_IMPORT__INIT;
        Cnr__Api__Reply *rep = NULL;
        Cnr__Api__SnapshotImportReply *r;
        int o, fd;

        q.parent = "";
        while ((o = cnr_cli_getopt(cli, argc, argv, ":p:h", opts)) != -1) {
                if (o == 'p')
                        q.parent = optarg;
                else
                        return cnr_cli_help_or_usage(cli, cmd, o);
        }
        if (argc - optind != 2)
                return cnr_cli_usage_error(cli, "want FILE|- NAME");
        fd = cnr_cli_open_input(argv[optind], "import", NULL, "containr-snapshot");
        if (fd < 0)
                return CNR_EXIT_FAIL;
        q.name = argv[optind + 1];
        req.op_case = CNR__API__REQUEST__OP_SNAPSHOT_IMPORT;
        req.snapshot_import = &q;
        o = cnr_cli_call(cli, &req, &fd, 1, CNR__API__REPLY__MSG_SNAPSHOT_IMPORT, &rep, NULL, 0, LONG_TIMEOUT_MS);
        close(fd);
        if (o < 0)
                return CNR_EXIT_FAIL;
        r = rep->snapshot_import;
        for (size_t i = 0; i < r->n_ignored; i++)
                fprintf(stderr, "import: ignored archive member `%s`\n", r->ignored[i]);
        for (size_t i = 0; i < r->n_dropped_labels; i++)
                fprintf(stderr, "import: dropped reserved label `%s`\n", r->dropped_labels[i]);
        printf("%s\n", r->name);
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

/* ---- verify ---- */

static int
snap_verify(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__SnapshotVerify q = CNR__API__SNAPSHOT_VERIFY__INIT;
        Cnr__Api__Reply *rep = NULL;
        int o, rc;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1)
                return cnr_cli_help_or_usage(cli, cmd, o);
        if (argc - optind != 1)
                return cnr_cli_usage_error(cli, "want KEY");
        q.key = argv[optind];
        req.op_case = CNR__API__REQUEST__OP_SNAPSHOT_VERIFY;
        req.snapshot_verify = &q;
        if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_SNAPSHOT_VERIFY, &rep, NULL, 0, LONG_TIMEOUT_MS) < 0)
                return CNR_EXIT_FAIL;
        if (rep->snapshot_verify->ok) {
                printf("%s: OK %s\n", q.key, rep->snapshot_verify->computed);
                rc = CNR_EXIT_OK;
        } else {
                printf("%s: MISMATCH recorded %s, now %s\n", q.key, rep->snapshot_verify->recorded,
                       rep->snapshot_verify->computed);
                rc = CNR_EXIT_FAIL;
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return rc;
}

const struct cnr_cli_cmd cnr_cmd_snapshot[] = {
        {"ls", snap_ls, "List snapshots", "[OPTIONS]",
         "Options:\n"
         "  -f, --filter F        containerd's filters: name==K, parent==P, kind==committed|active|view,\n"
         "                        labels.K==V, != and bare presence; comma = AND, repeated = OR\n"
         "  -q, --quiet           Print only keys\n"
         "      --format FORMAT   table (default) or json\n",
         NULL},
        {"inspect", snap_inspect, "Show a snapshot and its usage as JSON", "KEY", NULL, NULL},
        {"rm", snap_rm, "Remove snapshots (leaves only)", "KEY...",
         "A snapshot another snapshot was made from cannot be removed: remove the child first.\n", NULL},
        {"diff", snap_diff, "Write a snapshot's changes as an OCI layer tar", "[OPTIONS] KEY",
         "The changes of KEY against its parent, from its overlay upper dir.\n"
         "\n"
         "Options:\n"
         "  -o, --output FILE     Write to FILE (opened by containr as you) instead of stdout\n"
         "  -z, --gzip            Compress with gzip (the diff_id printed is of the tar)\n",
         NULL},
        {"export", snap_export, "Write a committed snapshot to an archive", "[OPTIONS] KEY",
         "The archive holds snapshot.json and layer.tar (docs/snapshots.md).\n"
         "\n"
         "Options:\n"
         "  -o, --output FILE     Write to FILE instead of stdout\n",
         NULL},
        {"import", snap_import, "Make a committed snapshot from an archive", "[OPTIONS] FILE|- NAME",
         "Only snapshot.json and layer.tar are read; other members are ignored,\n"
         "reserved labels dropped, and no image or tag is ever created.\n"
         "\n"
         "Options:\n"
         "  -p, --parent P        Apply onto committed snapshot P (default: the archive's parent)\n",
         NULL},
        {"verify", snap_verify, "Recompute a committed snapshot's diff_id and compare", "KEY", NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
};
