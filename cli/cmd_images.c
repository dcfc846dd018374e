/* containr images, rmi, tag, image inspect/prune/..., save, load, import,
 * system prune.
 *
 * Files the operator names are opened here, with the operator's own
 * credentials, and passed to containrd as fds.  containrd only accepts a
 * regular file (or memfd) for an archive, so that it never waits on a
 * slow reader or writer: when stdin/stdout is a pipe, the CLI goes through
 * an unlinked temporary file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/util.h"
#include "common/ref.h"
#include "common/util.h"

#define LONG_TIMEOUT_MS (6 * 3600 * 1000)

/* ---- helpers ---- */

static void
fmt_ago(const char *rfc3339, char *buf, size_t n)
{
        struct tm tm = {0};
        time_t t, now = time(NULL);
        long long d;

        if (rfc3339 == NULL || strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm) == NULL) {
                snprintf(buf, n, "N/A");
                return;
        }
        t = timegm(&tm);
        d = (long long)(now - t);
        if (d < 0)
                d = 0;
        if (d < 60)
                snprintf(buf, n, "%lld seconds ago", d);
        else if (d < 3600)
                snprintf(buf, n, "%lld minutes ago", d / 60);
        else if (d < 2 * 86400)
                snprintf(buf, n, "%lld hours ago", d / 3600);
        else if (d < 60 * 86400)
                snprintf(buf, n, "%lld days ago", d / 86400);
        else if (d < 2 * 365 * 86400)
                snprintf(buf, n, "%lld months ago", d / (30 * 86400));
        else
                snprintf(buf, n, "%lld years ago", d / (365 * 86400));
}

/* ---- images ---- */

static void
add_rows(struct cnr_table *t, json_t *img, bool no_trunc)
{
        json_t *tags = json_object_get(img, "RepoTags");
        const char *id = json_string_value(json_object_get(img, "Id"));
        char idcell[80], created[64], size[32];
        size_t i;
        json_t *tag;

        snprintf(idcell, sizeof(idcell), "%s", id ? id : "?");
        if (!no_trunc && id && strncmp(id, "sha256:", 7) == 0)
                snprintf(idcell, sizeof(idcell), "%.12s", id + 7);
        fmt_ago(json_string_value(json_object_get(img, "Created")), created, sizeof(created));
        cnr_cli_fmt_size((uint64_t)json_integer_value(json_object_get(img, "Size")), size, sizeof(size));
        if (json_array_size(tags) == 0) {
                const char *cells[] = {"<none>", "<none>", idcell, created, size};
                cnr_table_add(t, cells);
                return;
        }
        json_array_foreach(tags, i, tag)
        {
                _cleanup_free_ char *repo = xstrdup(json_string_value(tag));
                char *colon = strrchr(repo, ':');
                const char *tg = "<none>";

                if (colon && !strchr(colon, '/')) {
                        *colon = '\0';
                        tg = colon + 1;
                }
                {
                        const char *cells[] = {repo, tg, idcell, created, size};
                        cnr_table_add(t, cells);
                }
        }
}

/* Does the image match a `containr images REPO[:TAG]` filter? */
static bool
matches(json_t *img, const struct cnr_ref *want, bool has_tag)
{
        size_t i;
        json_t *n;

        json_array_foreach(json_object_get(img, "Names"), i, n)
        {
                struct cnr_ref r;

                if (cnr_ref_parse(json_string_value(n), &r, NULL) < 0)
                        continue;
                if (strcmp(r.name, want->name) == 0 && (!has_tag || strcmp(r.tag, want->tag) == 0))
                        return true;
        }
        return false;
}

int
cnr_cmd_images(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"all", no_argument, NULL, 'a'},    {"quiet", no_argument, NULL, 'q'},
                {"format", required_argument, NULL, 'F'}, {"no-trunc", no_argument, NULL, 'T'},
                {"help", no_argument, NULL, 'h'},   {NULL, 0, NULL, 0},
        };
        static const char *const headers[] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ImageList q = CNR__API__IMAGE_LIST__INIT;
        Cnr__Api__Reply *rep = NULL;
        enum cnr_cli_format format = CNR_FORMAT_TEXT;
        bool quiet = false, no_trunc = false, filter = false, has_tag = false;
        struct cnr_ref want;
        json_t *arr, *out, *img;
        int fd = -1, o;
        size_t i;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":aqh", opts)) != -1) {
                switch (o) {
                case 'a':
                        q.all = 1;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'T':
                        no_trunc = true;
                        break;
                case 'F':
                        if (strcmp(optarg, "table") == 0)
                                format = CNR_FORMAT_TEXT;
                        else if (cnr_cli_parse_format(cli, optarg, &format) != 0)
                                return CNR_EXIT_USAGE;
                        break;
                default:
                        return cnr_cli_help_or_usage(cli, cmd, o);
                }
        }
        if (argc - optind > 1)
                return cnr_cli_usage_error(cli, "at most one REPOSITORY[:TAG]");
        if (argc - optind == 1) {
                struct cnr_err *err = NULL;

                if (cnr_ref_parse_name(argv[optind], &want, &err) < 0) {
                        cnr_cli_error("%s", cnr_err_str(err));
                        cnr_err_free(&err);
                        return CNR_EXIT_USAGE;
                }
                filter = true;
                has_tag = want.tag[0] != '\0';
        }
        req.op_case = CNR__API__REQUEST__OP_IMAGE_LIST;
        req.image_list = &q;
        if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_IMAGE_LIST, &rep, &fd, 1, 0) < 0)
                return CNR_EXIT_FAIL;
        cnr__api__reply__free_unpacked(rep, NULL);
        arr = cnr_cli_read_json(fd);
        if (arr == NULL)
                return CNR_EXIT_FAIL;
        out = json_array();
        json_array_foreach(arr, i, img) if (!filter || matches(img, &want, has_tag)) json_array_append(out, img);
        json_decref(arr);
        if (quiet) {
                json_array_foreach(out, i, img)
                {
                        const char *id = json_string_value(json_object_get(img, "Id"));
                        if (id)
                                printf("%.*s\n", no_trunc ? 200 : 12, no_trunc ? id : id + 7);
                }
        } else if (format == CNR_FORMAT_JSON) {
                json_dumpf(out, stdout, JSON_INDENT(2));
                putchar('\n');
        } else {
                struct cnr_table *t = cnr_table_new(CNR_ARRAY_LEN(headers), headers);

                json_array_foreach(out, i, img) add_rows(t, img, no_trunc);
                cnr_table_print(t, stdout);
                cnr_table_free(t);
        }
        json_decref(out);
        return CNR_EXIT_OK;
}

/* ---- image inspect ---- */

int
cnr_cmd_image_inspect(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ImageInspect q = CNR__API__IMAGE_INSPECT__INIT;
        Cnr__Api__Reply *rep = NULL;
        int fd = -1, o, rc = CNR_EXIT_OK;
        json_t *arr;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1) {
                if (o == 'h') {
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                }
                return CNR_EXIT_USAGE;
        }
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "name at least one IMAGE");
        q.names = argv + optind;
        q.n_names = (size_t)(argc - optind);
        req.op_case = CNR__API__REQUEST__OP_IMAGE_INSPECT;
        req.image_inspect = &q;
        if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_IMAGE_INSPECT, &rep, &fd, 1, 0) < 0)
                return CNR_EXIT_FAIL;
        for (size_t i = 0; i < rep->image_inspect->n_missing; i++) {
                cnr_cli_error("%s", rep->image_inspect->missing[i]);
                rc = CNR_EXIT_FAIL;
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        arr = cnr_cli_read_json(fd);
        if (arr == NULL)
                return CNR_EXIT_FAIL;
        json_dumpf(arr, stdout, JSON_INDENT(4));
        putchar('\n');
        json_decref(arr);
        return rc;
}

/* ---- rmi, tag ---- */

int
cnr_cmd_rmi(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ImageRemove q = CNR__API__IMAGE_REMOVE__INIT;
        Cnr__Api__Reply *rep = NULL;
        int o, rc = CNR_EXIT_OK;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":fh", opts)) != -1) {
                switch (o) {
                case 'f':
                        q.force = 1;
                        break;
                default:
                        return cnr_cli_help_or_usage(cli, cmd, o);
                }
        }
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "name at least one IMAGE");
        q.names = argv + optind;
        q.n_names = (size_t)(argc - optind);
        req.op_case = CNR__API__REQUEST__OP_IMAGE_REMOVE;
        req.image_remove = &q;
        if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_IMAGE_REMOVE, &rep, NULL, 0, 0) < 0)
                return CNR_EXIT_FAIL;
        for (size_t i = 0; i < rep->image_remove->n_results; i++) {
                Cnr__Api__ImageRemoveResult *r = rep->image_remove->results[i];

                if (r->errno_code) {
                        cnr_cli_error("%s", r->error);
                        rc = CNR_EXIT_FAIL;
                        continue;
                }
                for (size_t j = 0; j < r->n_untagged; j++) {
                        struct cnr_ref ref;
                        char fam[sizeof(ref.str)];

                        if (cnr_ref_parse(r->untagged[j], &ref, NULL) == 0)
                                cnr_ref_familiar(&ref, fam, sizeof(fam));
                        else
                                snprintf(fam, sizeof(fam), "%s", r->untagged[j]);
                        printf("Untagged: %s\n", fam);
                }
                for (size_t j = 0; j < r->n_deleted; j++)
                        printf("Deleted: %s\n", r->deleted[j]);
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return rc;
}

int
cnr_cmd_tag(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ImageTag q = CNR__API__IMAGE_TAG__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct cnr_err *err = NULL;
        struct cnr_ref r;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1) {
                if (o == 'h') {
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                }
                return CNR_EXIT_USAGE;
        }
        if (argc - optind != 2)
                return cnr_cli_usage_error(cli, "want SOURCE_IMAGE TARGET_IMAGE[:TAG]");
        /* Check the target here too: a typo is a usage error. */
        if (cnr_ref_parse(argv[optind + 1], &r, &err) < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return CNR_EXIT_USAGE;
        }
        q.source = argv[optind];
        q.target = argv[optind + 1];
        req.op_case = CNR__API__REQUEST__OP_IMAGE_TAG;
        req.image_tag = &q;
        if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_IMAGE_TAG, &rep, NULL, 0, 0) < 0)
                return CNR_EXIT_FAIL;
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

/* ---- prune ---- */

static int
prune(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv, bool system)
{
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ImagePrune ip = CNR__API__IMAGE_PRUNE__INIT;
        Cnr__Api__SystemPrune sp = CNR__API__SYSTEM_PRUNE__INIT;
        Cnr__Api__Reply *rep = NULL;
        Cnr__Api__PruneReply *r;
        size_t nblobs = 0, nimages = 0, nother = 0;
        char total[32];
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":afh", opts)) != -1) {
                switch (o) {
                case 'a':
                        ip.all = sp.all = 1;
                        break;
                case 'f':
                        break; /* containr does not ask */
                default:
                        return cnr_cli_help_or_usage(cli, cmd, o);
                }
        }
        if (cnr_cli_no_args(cli, argc, argv) != 0)
                return CNR_EXIT_USAGE;
        if (system) {
                req.op_case = CNR__API__REQUEST__OP_SYSTEM_PRUNE;
                req.system_prune = &sp;
        } else {
                req.op_case = CNR__API__REQUEST__OP_IMAGE_PRUNE;
                req.image_prune = &ip;
        }
        if (cnr_cli_call(cli, &req, NULL, 0,
                         system ? CNR__API__REPLY__MSG_SYSTEM_PRUNE : CNR__API__REPLY__MSG_IMAGE_PRUNE, &rep, NULL, 0,
                         LONG_TIMEOUT_MS) < 0)
                return CNR_EXIT_FAIL;
        r = system ? rep->system_prune : rep->image_prune;
        for (size_t i = 0; i < r->n_items; i++) {
                if (strcmp(r->items[i]->kind, "image") == 0) {
                        if (nimages++ == 0)
                                printf("Deleted Images:\n");
                        printf("deleted: %s\n", r->items[i]->id);
                }
        }
        for (size_t i = 0; i < r->n_items; i++) {
                if (strcmp(r->items[i]->kind, "image") == 0)
                        continue;
                if (strcmp(r->items[i]->kind, "blob") == 0)
                        nblobs++;
                else
                        nother++;
                if (nblobs + nother == 1)
                        printf("%sDeleted content:\n", nimages ? "\n" : "");
                printf("%s: %s\n", r->items[i]->kind, r->items[i]->id);
        }
        cnr_cli_fmt_size(r->bytes, total, sizeof(total));
        printf("%sTotal reclaimed space: %s (%zu image%s, %zu blob%s, %zu other)\n", r->n_items ? "\n" : "", total,
               nimages, nimages == 1 ? "" : "s", nblobs, nblobs == 1 ? "" : "s", nother);
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

int
cnr_cmd_image_prune(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return prune(cli, cmd, argc, argv, false);
}

int
cnr_cmd_system_prune(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return prune(cli, cmd, argc, argv, true);
}

/* ---- save, load, import ---- */

int
cnr_cmd_save(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                             {"format", required_argument, NULL, 'F'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ImageSave q = CNR__API__IMAGE_SAVE__INIT;
        Cnr__Api__Reply *rep = NULL;
        const char *output = NULL;
        const char *format = "docker-archive";
        _cleanup_close_ int fd = -1;
        bool through_tmp = false;
        struct stat st;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":o:h", opts)) != -1) {
                switch (o) {
                case 'o':
                        output = optarg;
                        break;
                case 'F':
                        if (strcmp(optarg, "docker-archive") != 0 && strcmp(optarg, "oci-archive") != 0)
                                return cnr_cli_usage_error(cli, "--format: `%s` is not docker-archive or oci-archive",
                                                           optarg);
                        format = optarg;
                        break;
                default:
                        return cnr_cli_help_or_usage(cli, cmd, o);
                }
        }
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "name at least one IMAGE");
        if (output) {
                fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
                if (fd < 0) {
                        cnr_cli_error("save: open `%s`: %s", output, strerror(errno));
                        return CNR_EXIT_FAIL;
                }
        } else if (isatty(1)) {
                cnr_cli_error("save: refusing to write an archive to a terminal (use -o FILE or redirect)");
                return CNR_EXIT_FAIL;
        } else if (fstat(1, &st) == 0 && S_ISREG(st.st_mode)) {
                fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
        } else {
                fd = cnr_cli_tmpfile("containr-archive");
                through_tmp = true;
        }
        if (fd < 0) {
                cnr_cli_error("save: %s", strerror(errno));
                return CNR_EXIT_FAIL;
        }
        q.names = argv + optind;
        q.n_names = (size_t)(argc - optind);
        q.format = (char *)format;
        req.op_case = CNR__API__REQUEST__OP_IMAGE_SAVE;
        req.image_save = &q;
        if (cnr_cli_call(cli, &req, &fd, 1, CNR__API__REPLY__MSG_IMAGE_SAVE, &rep, NULL, 0, LONG_TIMEOUT_MS) < 0) {
                if (output)
                        unlink(output);
                return CNR_EXIT_FAIL;
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        if (through_tmp && (lseek(fd, 0, SEEK_SET) < 0 || cnr_cli_copy_fd(fd, 1) < 0)) {
                cnr_cli_error("save: writing to stdout: %s", strerror(errno));
                return CNR_EXIT_FAIL;
        }
        return CNR_EXIT_OK;
}

int
cnr_cmd_load(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ImageLoad q = CNR__API__IMAGE_LOAD__INIT;
        Cnr__Api__Reply *rep = NULL;
        const char *input = NULL;
        _cleanup_close_ int fd = -1;
        bool quiet = false;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":i:qh", opts)) != -1) {
                switch (o) {
                case 'i':
                        input = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                default:
                        return cnr_cli_help_or_usage(cli, cmd, o);
                }
        }
        if (cnr_cli_no_args(cli, argc, argv) != 0)
                return CNR_EXIT_USAGE;
        fd = cnr_cli_open_input(input, "load", "use -i FILE or a pipe", "containr-archive");
        if (fd < 0)
                return CNR_EXIT_FAIL;
        req.op_case = CNR__API__REQUEST__OP_IMAGE_LOAD;
        req.image_load = &q;
        if (cnr_cli_call(cli, &req, &fd, 1, CNR__API__REPLY__MSG_IMAGE_LOAD, &rep, NULL, 0, LONG_TIMEOUT_MS) < 0)
                return CNR_EXIT_FAIL;
        for (size_t i = 0; i < rep->image_load->n_warnings; i++)
                fprintf(stderr, "containr: warning: %s\n", rep->image_load->warnings[i]);
        for (size_t i = 0; i < rep->image_load->n_images && !quiet; i++) {
                Cnr__Api__LoadedImage *li = rep->image_load->images[i];

                if (li->n_names == 0)
                        printf("Loaded image ID: %s\n", li->id);
                for (size_t j = 0; j < li->n_names; j++) {
                        struct cnr_ref r;
                        char fam[sizeof(r.str)];

                        if (cnr_ref_parse(li->names[j], &r, NULL) == 0)
                                cnr_ref_familiar(&r, fam, sizeof(fam));
                        else
                                snprintf(fam, sizeof(fam), "%s", li->names[j]);
                        printf("Loaded image: %s\n", fam);
                }
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

int
cnr_cmd_import(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"message", required_argument, NULL, 'm'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ImageImport q = CNR__API__IMAGE_IMPORT__INIT;
        Cnr__Api__Reply *rep = NULL;
        _cleanup_close_ int fd = -1;
        const char *ref = "";
        const char *msg = "";
        struct cnr_err *err = NULL;
        struct cnr_ref r;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":m:h", opts)) != -1) {
                switch (o) {
                case 'm':
                        msg = optarg;
                        break;
                default:
                        return cnr_cli_help_or_usage(cli, cmd, o);
                }
        }
        if (argc - optind < 1 || argc - optind > 2)
                return cnr_cli_usage_error(cli, "want FILE|- [REPOSITORY[:TAG]]");
        if (argc - optind == 2) {
                ref = argv[optind + 1];
                if (cnr_ref_parse(ref, &r, &err) < 0) {
                        cnr_cli_error("%s", cnr_err_str(err));
                        cnr_err_free(&err);
                        return CNR_EXIT_USAGE;
                }
        }
        fd = cnr_cli_open_input(argv[optind], "import", "use -i FILE or a pipe", "containr-archive");
        if (fd < 0)
                return CNR_EXIT_FAIL;
        q.ref = (char *)ref;
        q.message = (char *)msg;
        req.op_case = CNR__API__REQUEST__OP_IMAGE_IMPORT;
        req.image_import = &q;
        if (cnr_cli_call(cli, &req, &fd, 1, CNR__API__REPLY__MSG_IMAGE_IMPORT, &rep, NULL, 0, LONG_TIMEOUT_MS) < 0)
                return CNR_EXIT_FAIL;
        printf("%s\n", rep->image_import->id);
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

/* ---- the `image` group ---- */

const struct cnr_cli_cmd cnr_cmd_image[] = {
        {"inspect", cnr_cmd_image_inspect, "Show images as JSON (config, manifest, layers, names)", "IMAGE...",
         "Prints a JSON array with one object per image: Id, Names, RepoTags,\n"
         "RepoDigests, Created, Size, Platform, the manifest's digest and media type,\n"
         "Layers (digest, media type, size, diff_id), and the Config and Manifest\n"
         "documents themselves.  Exits with status 1 if an image is not found.\n",
         NULL},
        {"ls", cnr_cmd_images, "List images (same as containr images)", "[OPTIONS] [REPOSITORY[:TAG]]", NULL, NULL},
        {"prune", cnr_cmd_image_prune, "Remove dangling images and unreferenced blobs", "[OPTIONS]",
         "Removes images without a name (all unused images with -a), then every blob\n"
         "of the content store that no image refers to, and prints what went and the\n"
         "space reclaimed.\n"
         "\n"
         "Options:\n"
         "  -a, --all      remove every image no container uses, not only dangling ones\n"
         "  -f, --force    accepted for compatibility (containr does not ask)\n",
         NULL},
        {"rm", cnr_cmd_rmi, "Remove images (same as containr rmi)", "[OPTIONS] IMAGE...", NULL, NULL},
        {"tag", cnr_cmd_tag, "Name an image (same as containr tag)", "SOURCE TARGET", NULL, NULL},
        {"save", cnr_cmd_save, "Write images to an archive (same as containr save)", "[OPTIONS] IMAGE...", NULL, NULL},
        {"load", cnr_cmd_load, "Read images from an archive (same as containr load)", "[OPTIONS]", NULL, NULL},
        {"import", cnr_cmd_import, "Make an image from a rootfs tarball (same as containr import)",
         "[OPTIONS] FILE|- [REPOSITORY[:TAG]]", NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
};
