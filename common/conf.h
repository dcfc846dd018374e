/* containr.yaml: the daemon's configuration (see containr.yaml(5)).
 *
 * Keys (all optional):
 *   root, run_root, log_dir, helper_dir   paths
 *   log_level                             error | warn | info | debug
 *   user                                  the supervisor's identity: name, uid or uid:gid
 *   socket_group                          group owning the API socket: name or gid
 *   helpers: { <name>: { user: ... } }    each helper's identity
 *   restart: { initial_ms: N, max_ms: N } restart backoff of dead children
 *
 * An unknown key, a wrong type or a bad value is an error naming file:line.
 * Command-line flags override the file.
 */
#ifndef CNR_CONF_H
#define CNR_CONF_H

#include "common/err.h"
#include "common/helpers.h"
#include "common/log.h"

#define CNR_DEFAULT_CONFIG SYSCONFDIR "/containr/containr.yaml"

struct cnr_config {
        char *root;       /* default LOCALSTATEDIR/lib/containr */
        char *run_root;   /* default RUNSTATEDIR/containr */
        char *log_dir;    /* default LOCALSTATEDIR/log/containr */
        char *helper_dir; /* default LIBEXECDIR */
        char *user;       /* default "containr" */
        char *socket_group; /* default "containr" */
        enum cnr_log_level log_level; /* default info */
        char *helper_user[CNR_HELPER_COUNT]; /* default cnr_helpers[i].default_user */
        unsigned restart_initial_ms;  /* default 100 */
        unsigned restart_max_ms;      /* default 30000 */
};

/* Fill defaults. */
void cnr_config_init(struct cnr_config *c);
/* Parse a YAML file over the current values.  A missing file is an error
 * only if `must_exist`. */
int cnr_config_load(struct cnr_config *c, const char *path, int must_exist, struct cnr_err **err);
/* Parse YAML from memory (`name` is used in messages as the file name). */
int cnr_config_parse(struct cnr_config *c, const char *name, const char *buf, size_t len, struct cnr_err **err);
void cnr_config_free(struct cnr_config *c);

#endif
