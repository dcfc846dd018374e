/* containr.yaml: the daemon's configuration (see containr.yaml(5)).
 *
 * Keys (all optional):
 *   root, run_root, log_dir, helper_dir   paths
 *   log_level                             error | warn | info | debug
 *   user                                  the supervisor's identity: name, uid or uid:gid
 *   socket_group                          group owning the API socket: name or gid
 *   helpers: { <name>: { user: ... } }    each helper's identity
 *   restart: { initial_ms: N, max_ms: N } restart backoff of dead children
 *   overlay_mode                          auto | fsconfig | legacy (containr-mountd)
 *   registries: { "<host[:port]>": { insecure: bool, mirrors: [host, ...],
 *                 timeout_s: N } }        per-registry transport settings
 *
 * An unknown key, a wrong type or a bad value is an error naming file:line:
 *
 *     /etc/containr/containr.yaml:7: unknown key `helprs` (did you mean `helpers`?)
 *
 * Such errors carry code 0, so cnr_err_str() is the message alone; a file
 * that cannot be read carries its errno.  A key given twice is an error, the
 * top level must be a mapping, paths must be absolute.  A mapping key
 * (helpers, restart, helpers.<name>) left empty keeps its defaults.
 * Command-line flags override the file.
 */
#ifndef CNR_CONF_H
#define CNR_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"
#include "common/helpers.h"
#include "common/log.h"

#define CNR_DEFAULT_CONFIG SYSCONFDIR "/containr/containr.yaml"

/* One entry of `registries:` (the registry client reads them). */
struct cnr_config_registry {
        char *host;     /* "docker.io", "127.0.0.1:5000" */
        bool insecure;  /* plain http allowed */
        char **mirrors; /* hosts tried first for pulls, in order */
        size_t nmirrors;
        unsigned timeout_s; /* a transfer without progress for this long fails; 0 = default */
};
#define CNR_CONFIG_MIRRORS_MAX 8
#define CNR_CONFIG_TIMEOUT_MAX 3600

/* `networks:` (supervisor/networks.c): where bridge subnets come from. */
struct cnr_config_networks {
        char **pool; /* IPv4 CIDRs; default CNR_CONFIG_NET_POOL */
        size_t npool;
        unsigned subnet_prefix;    /* each network's size; default 24 */
        char *cni_plugin_dir;      /* default CNR_CONFIG_CNI_DIR */
        char *default_bridge;      /* the default network's bridge; default "containr0" */
        char *default_ipv6_subnet; /* an IPv6 prefix: the default network is dual stack; NULL: IPv4 only */
};
#define CNR_CONFIG_NET_POOL "10.88.0.0/16"
#define CNR_CONFIG_CNI_DIR "/usr/lib/cni"
#define CNR_CONFIG_POOL_MAX 16

struct cnr_config {
        char *root;                             /* default LOCALSTATEDIR/lib/containr */
        char *run_root;                         /* default RUNSTATEDIR/containr */
        char *log_dir;                          /* default LOCALSTATEDIR/log/containr */
        char *helper_dir;                       /* default LIBEXECDIR */
        char *user;                             /* default "containr" */
        char *socket_group;                     /* default "containr" */
        enum cnr_log_level log_level;           /* default info */
        char *helper_user[CNR_HELPER_COUNT];    /* default cnr_helpers[i].default_user */
        unsigned restart_initial_ms;            /* default 100 */
        unsigned restart_max_ms;                /* default 30000 */
        struct cnr_config_registry *registries; /* default none */
        size_t nregistries;
        struct cnr_config_networks net;
        const char *overlay_mode; /* "auto" (default), "fsconfig" or "legacy": a literal, never freed */
};

/* Bounds of restart.initial_ms and restart.max_ms. */
#define CNR_CONFIG_RESTART_MIN_MS 1
#define CNR_CONFIG_RESTART_MAX_MS 86400000u /* one day */
/* Largest config file read (a config is a few hundred bytes). */
#define CNR_CONFIG_MAX_SIZE (1024 * 1024)

/* Fill defaults. */
void cnr_config_init(struct cnr_config *c);
/* Parse a YAML file over the current values.  Returns 1 when the file was
 * read, 0 when it does not exist and !must_exist, -1 with *err otherwise.
 * On error *c is left as it was (the file applies entirely or not at all). */
int cnr_config_load(struct cnr_config *c, const char *path, int must_exist, struct cnr_err **err);
/* Parse YAML from memory (`name` is used in messages as the file name).
 * 0 or -1 with *err; on error *c is left as it was. */
int cnr_config_parse(struct cnr_config *c, const char *name, const char *buf, size_t len, struct cnr_err **err);
void cnr_config_free(struct cnr_config *c);
/* Write the configuration as YAML that cnr_config_parse reads back to the
 * same values (`containrd --print-config`, golden tests). */
void cnr_config_dump(const struct cnr_config *c, FILE *f);

/* Validators shared with command-line flags (--user, --root...): 0 if `s`
 * is acceptable, -1 with a message naming what was expected otherwise. */
int cnr_config_check_path(const char *s, struct cnr_err **err);
int cnr_config_check_user(const char *s, struct cnr_err **err);  /* name, uid or uid:gid */
int cnr_config_check_group(const char *s, struct cnr_err **err); /* name or gid */

#endif
