/* containr version */
#include "config.h"

#include <jansson.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/util.h"
#include "common/util.h"
#include "ipc/frame.h"

int
cnr_cmd_version(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        enum cnr_cli_format format;
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__Version v = CNR__API__VERSION__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        int r;

        r = cnr_cli_format_only(cli, cmd, argc, argv, &format);
        if (r >= 0)
                return r;

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
                cnr_cli_print_json(root, JSON_PRESERVE_ORDER);
        } else {
                printf("Server:\n Version:    %s\n Protocol:   %u\n Kernel:     %s\n", rep->version->version,
                       rep->version->protocol, rep->version->kernel);
                for (size_t i = 0; i < rep->version->n_libraries; i++)
                        printf(" %-11s %s\n", i == 0 ? "Libraries:" : "", rep->version->libraries[i]);
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}
