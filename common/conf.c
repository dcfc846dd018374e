#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "common/conf.h"
#include "common/util.h"

void
cnr_config_init(struct cnr_config *c)
{
        c->root = xstrdup(LOCALSTATEDIR "/lib/containr");
        c->run_root = xstrdup(RUNSTATEDIR "/containr");
        c->log_dir = xstrdup(LOCALSTATEDIR "/log/containr");
        c->helper_dir = xstrdup(LIBEXECDIR);
        c->user = xstrdup("containr");
        c->socket_group = xstrdup("containr");
        c->log_level = CNR_LOG_INFO;
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                c->helper_user[i] = xstrdup(cnr_helpers[i].default_user);
        c->restart_initial_ms = 100;
        c->restart_max_ms = 30000;
}

void
cnr_config_free(struct cnr_config *c)
{
        free(c->root);
        free(c->run_root);
        free(c->log_dir);
        free(c->helper_dir);
        free(c->user);
        free(c->socket_group);
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                free(c->helper_user[i]);
}

int
cnr_config_parse(struct cnr_config *c, const char *name, const char *buf, size_t len, struct cnr_err **err)
{
        return cnr_errf(err, ENOSYS, "%s: the YAML parser is not built yet", name);
}

int
cnr_config_load(struct cnr_config *c, const char *path, int must_exist, struct cnr_err **err)
{
        if (!must_exist)
                return 0;
        return cnr_errf(err, ENOSYS, "%s: the YAML parser is not built yet", path);
}
