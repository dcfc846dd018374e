/* containr version */
#include "config.h"

#include <jansson.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "common/util.h"
#include "ipc/frame.h"

int
cnr_cmd_version(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        enum cnr_cli_format format = CNR_FORMAT_TEXT;
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__Version v = CNR__API__VERSION__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        int o, r;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1) {
                switch (o) {
                case 'f':
                        if (cnr_cli_parse_format(cli, optarg, &format) != 0)
                                return CNR_EXIT_USAGE;
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (cnr_cli_no_args(cli, argc, argv) != 0)
                return CNR_EXIT_USAGE;

        if (format == CNR_FORMAT_TEXT)
                printf("Client:\n Version:    %s\n Protocol:   %d\n", PACKAGE_VERSION, CNR_IPC_PROTOCOL);
        r = cnr_client_open(&cl, cli->host, &err);
        if (r == 0) {
                req.op_case = CNR__API__REQUEST__OP_VERSION;
                req.version = &v;
                r = cnr_client_call(&cl, &req, CNR__API__REPLY__MSG_VERSION, &rep, NULL, 0, &err);
        }
        cnr_client_close(&cl);
        if (r < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return CNR_EXIT_FAIL;
        }
        if (format == CNR_FORMAT_JSON) {
                json_t *libs = json_array(), *root;

                for (size_t i = 0; i < rep->version->n_libraries; i++)
                        json_array_append_new(libs, json_string(rep->version->libraries[i]));
                root = json_pack("{s:{s:s,s:i},s:{s:s,s:I,s:s,s:o}}", "client", "version", PACKAGE_VERSION,
                                 "protocol", CNR_IPC_PROTOCOL, "server", "version", rep->version->version,
                                 "protocol", (json_int_t)rep->version->protocol, "kernel", rep->version->kernel,
                                 "libraries", libs);
                if (root == NULL) {
                        cnr__api__reply__free_unpacked(rep, NULL);
                        cnr_cli_error("containrd's answer is not valid UTF-8");
                        return CNR_EXIT_FAIL;
                }
                json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                putchar('\n');
                json_decref(root);
        } else {
                printf("Server:\n Version:    %s\n Protocol:   %u\n Kernel:     %s\n", rep->version->version,
                       rep->version->protocol, rep->version->kernel);
                for (size_t i = 0; i < rep->version->n_libraries; i++)
                        printf(" %-11s %s\n", i == 0 ? "Libraries:" : "", rep->version->libraries[i]);
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}
