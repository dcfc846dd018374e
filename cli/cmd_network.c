/* containr network create, ls, inspect, rm, connect, disconnect
 * (man/containr-network.1). */
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

/* A chain of CNI plugins can take a while (iptables under load). */
#define NET_TIMEOUT_MS 180000

static int
net_create(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"subnet", required_argument, NULL, 's'}, {"gateway", required_argument, NULL, 'g'},
                {"ipv6", no_argument, NULL, '6'},         {"label", required_argument, NULL, 'l'},
                {"opt", required_argument, NULL, 'o'},    {"driver", required_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__NetworkCreate nc = CNR__API__NETWORK_CREATE__INIT;
        Cnr__Api__Reply *rep = NULL;
        _cleanup_free_ char **labels = NULL, **options = NULL;
        size_t nl = 0, no = 0;
        int o;

        nc.subnet = "";
        nc.gateway = "";
        nc.subnet6 = "";
        nc.gateway6 = "";
        while ((o = cnr_cli_getopt(cli, argc, argv, ":d:l:o:h", opts)) != -1) {
                /* --subnet and --gateway once per family: an IPv6 one has a colon */
                bool v6 = optarg && strchr(optarg, ':');

                switch (o) {
                case 's':
                case 'g': {
                        char **slot = o == 's' ? (v6 ? &nc.subnet6 : &nc.subnet) : (v6 ? &nc.gateway6 : &nc.gateway);

                        if ((*slot)[0])
                                return cnr_cli_usage_error(cli, "--%s: one IPv4 and one IPv6 at most",
                                                           o == 's' ? "subnet" : "gateway");
                        *slot = optarg;
                        break;
                }
                case '6':
                        nc.ipv6 = true;
                        break;
                case 'l':
                        labels = xrealloc(labels, (nl + 1) * sizeof(char *));
                        labels[nl++] = optarg;
                        break;
                case 'o':
                        options = xrealloc(options, (no + 1) * sizeof(char *));
                        options[no++] = optarg;
                        break;
                case 'd':
                        if (strcmp(optarg, "bridge") != 0)
                                return cnr_cli_usage_error(cli, "driver `%s`: only `bridge` exists", optarg);
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (argc - optind != 1)
                return cnr_cli_usage_error(cli, "want exactly one NAME");
        nc.name = argv[optind];
        nc.labels = labels;
        nc.n_labels = nl;
        nc.options = options;
        nc.n_options = no;
        req.op_case = CNR__API__REQUEST__OP_NETWORK_CREATE;
        req.network_create = &nc;
        if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_NETWORK_CREATE, &rep, NULL, 0, NET_TIMEOUT_MS) < 0)
                return CNR_EXIT_FAIL;
        printf("%s\n", rep->network_create->id);
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

static int
net_ls(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"no-trunc", no_argument, NULL, 'T'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        static const char *const headers[] = {"NETWORK ID", "NAME", "DRIVER", "SUBNET", "GATEWAY", "BRIDGE"};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__NetworkList nl = CNR__API__NETWORK_LIST__INIT;
        enum cnr_cli_format fmt = CNR_FORMAT_TEXT;
        Cnr__Api__Reply *rep = NULL;
        bool quiet = false, notrunc = false;
        struct cnr_table *t;
        json_t *arr, *n;
        size_t i;
        int o, fd = -1;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":qf:h", opts)) != -1) {
                if (o == 'q') {
                        quiet = true;
                } else if (o == 'T') {
                        notrunc = true;
                } else if (o == 'f') {
                        if (cnr_cli_parse_format(cli, optarg, &fmt) < 0)
                                return CNR_EXIT_USAGE;
                } else if (o == 'h') {
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                } else {
                        return CNR_EXIT_USAGE;
                }
        }
        if (optind != argc)
                return cnr_cli_usage_error(cli, "takes no arguments");
        req.op_case = CNR__API__REQUEST__OP_NETWORK_LIST;
        req.network_list = &nl;
        if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_NETWORK_LIST, &rep, &fd, 1, NET_TIMEOUT_MS) < 0)
                return CNR_EXIT_FAIL;
        cnr__api__reply__free_unpacked(rep, NULL);
        arr = cnr_cli_read_json(fd);
        if (arr == NULL)
                return CNR_EXIT_FAIL;
        if (fmt == CNR_FORMAT_JSON) {
                cnr_cli_print_json(arr, 0);
                return CNR_EXIT_OK;
        }
        t = cnr_table_new(CNR_ARRAY_LEN(headers), headers);
        json_array_foreach(arr, i, n)
        {
                char id[65], sub[128], gw[96];
                const char *row[6], *s6 = json_string_value(json_object_get(n, "Subnet6"));
                const char *g6 = json_string_value(json_object_get(n, "Gateway6"));

                snprintf(id, sizeof(id), notrunc ? "%s" : "%.12s", json_string_value(json_object_get(n, "Id")));
                if (quiet) {
                        printf("%s\n", id);
                        continue;
                }
                row[0] = id;
                row[1] = json_string_value(json_object_get(n, "Name"));
                row[2] = json_string_value(json_object_get(n, "Driver"));
                row[3] = json_string_value(json_object_get(n, "Subnet"));
                row[4] = json_string_value(json_object_get(n, "Gateway"));
                if (s6) { /* dual stack: both families in one cell */
                        snprintf(sub, sizeof(sub), "%s,%s", row[3] ? row[3] : "", s6);
                        snprintf(gw, sizeof(gw), "%s,%s", row[4] ? row[4] : "", g6 ? g6 : "");
                        row[3] = sub;
                        row[4] = gw;
                }
                row[5] = json_string_value(json_object_get(n, "Bridge"));
                cnr_table_add(t, row);
        }
        if (!quiet)
                cnr_table_print(t, stdout);
        cnr_table_free(t);
        json_decref(arr);
        return CNR_EXIT_OK;
}

static int
net_inspect(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__NetworkInspect ni = CNR__API__NETWORK_INSPECT__INIT;
        Cnr__Api__Reply *rep = NULL;
        int r = cnr_cli_only_help(cli, cmd, argc, argv), fd = -1, rc = CNR_EXIT_OK;
        json_t *arr;

        if (r != 0)
                return r > 0 ? CNR_EXIT_OK : CNR_EXIT_USAGE;
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want at least one NETWORK");
        ni.names = argv + optind;
        ni.n_names = (size_t)(argc - optind);
        req.op_case = CNR__API__REQUEST__OP_NETWORK_INSPECT;
        req.network_inspect = &ni;
        if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_NETWORK_INSPECT, &rep, &fd, 1, NET_TIMEOUT_MS) < 0)
                return CNR_EXIT_FAIL;
        for (size_t i = 0; i < rep->network_inspect->n_missing; i++) {
                cnr_cli_error("no such network: %s", rep->network_inspect->missing[i]);
                rc = CNR_EXIT_FAIL;
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        arr = cnr_cli_read_json(fd);
        if (arr == NULL)
                return CNR_EXIT_FAIL;
        cnr_cli_print_json(arr, 0);
        return rc;
}

static int
net_rm(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__NetworkRemove nr = CNR__API__NETWORK_REMOVE__INIT;
        Cnr__Api__Reply *rep = NULL;
        int r = cnr_cli_only_help(cli, cmd, argc, argv), rc = CNR_EXIT_OK;

        if (r != 0)
                return r > 0 ? CNR_EXIT_OK : CNR_EXIT_USAGE;
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want at least one NETWORK");
        /* One request per name: each is reported, a failure does not stop the rest. */
        for (int i = optind; i < argc; i++) {
                nr.names = &argv[i];
                nr.n_names = 1;
                req.op_case = CNR__API__REQUEST__OP_NETWORK_REMOVE;
                req.network_remove = &nr;
                if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_NETWORK_REMOVE, &rep, NULL, 0,
                                 NET_TIMEOUT_MS) < 0) {
                        rc = CNR_EXIT_FAIL;
                        continue;
                }
                printf("%s\n", argv[i]);
                cnr__api__reply__free_unpacked(rep, NULL);
        }
        return rc;
}

static int
net_connect(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv, bool connect)
{
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__NetworkConnect nc = CNR__API__NETWORK_CONNECT__INIT;
        Cnr__Api__NetworkDisconnect nd = CNR__API__NETWORK_DISCONNECT__INIT;
        Cnr__Api__Reply *rep = NULL;
        int r = cnr_cli_only_help(cli, cmd, argc, argv);

        if (r != 0)
                return r > 0 ? CNR_EXIT_OK : CNR_EXIT_USAGE;
        if (argc - optind != 2)
                return cnr_cli_usage_error(cli, "want NETWORK CONTAINER");
        if (connect) {
                nc.network = argv[optind];
                nc.container = argv[optind + 1];
                req.op_case = CNR__API__REQUEST__OP_NETWORK_CONNECT;
                req.network_connect = &nc;
                if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_NETWORK_CONNECT, &rep, NULL, 0,
                                 NET_TIMEOUT_MS) < 0)
                        return CNR_EXIT_FAIL;
                printf("%s %s\n", rep->network_connect->ifname, rep->network_connect->address);
        } else {
                nd.network = argv[optind];
                nd.container = argv[optind + 1];
                req.op_case = CNR__API__REQUEST__OP_NETWORK_DISCONNECT;
                req.network_disconnect = &nd;
                if (cnr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_NETWORK_DISCONNECT, &rep, NULL, 0,
                                 NET_TIMEOUT_MS) < 0)
                        return CNR_EXIT_FAIL;
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

static int
net_connect_cmd(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return net_connect(cli, cmd, argc, argv, true);
}

static int
net_disconnect_cmd(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return net_connect(cli, cmd, argc, argv, false);
}

const struct cnr_cli_cmd cnr_cmd_network[] = {
        {"create", net_create, "Create a bridge network", "[OPTIONS] NAME",
         "  --subnet CIDR         IPv4 subnet (default: the next free one of networks.pool);\n"
         "                        once more with an IPv6 prefix for dual stack (implies --ipv6)\n"
         "  --gateway IP          The bridge's address (default: the subnet's first); once per family\n"
         "      --ipv6            Dual stack: an IPv6 subnet too (default: a random fdXX:XXXX:XXXX::/64)\n"
         "  -l, --label K=V       A label (repeatable)\n"
         "  -o, --opt mtu=N|bridge=cnr-NAME  Bridge options (repeatable)\n"
         "  -d, --driver bridge   The only driver\n"
         "A subnet that overlaps another network or a route of the host is refused.\n",
         NULL},
        {"ls", net_ls, "List networks", "[OPTIONS]",
         "  -q, --quiet           Only ids\n"
         "      --no-trunc        Full ids\n"
         "      --format text|json\n",
         NULL},
        {"inspect", net_inspect, "Show networks, their containers and their CNI configuration", "NETWORK...", NULL,
         NULL},
        {"rm", net_rm, "Remove networks (no container may be attached)", "NETWORK...", NULL, NULL},
        {"connect", net_connect_cmd, "Attach a running container to a network", "NETWORK CONTAINER", NULL, NULL},
        {"disconnect", net_disconnect_cmd, "Detach a container from a network", "NETWORK CONTAINER", NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
};
