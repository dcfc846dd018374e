#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

static const char *log_ident = "containr";
static enum cnr_log_level log_max = CNR_LOG_INFO;
static cnr_log_sink log_sink = cnr_log_stderr_sink;
static void *log_arg;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
cnr_log_init(const char *ident, enum cnr_log_level max, cnr_log_sink sink, void *arg)
{
        log_ident = ident;
        log_max = max;
        log_sink = sink ? sink : cnr_log_stderr_sink;
        log_arg = arg;
}

const char *
cnr_log_level_name(enum cnr_log_level lvl)
{
        if ((unsigned)lvl < CNR_ARRAY_LEN(level_names))
                return level_names[lvl];
        return "debug";
}

int
cnr_log_level_parse(const char *s, enum cnr_log_level *out)
{
        for (size_t i = 0; i < CNR_ARRAY_LEN(level_names); i++) {
                if (strcasecmp(s, level_names[i]) == 0) {
                        *out = (enum cnr_log_level)i;
                        return 0;
                }
        }
        return -1;
}

void
cnr_log(enum cnr_log_level lvl, const char *fmt, ...)
{
        va_list ap;
        char buf[2048];

        if (lvl > log_max)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        log_sink(lvl, buf, log_arg);
}

void
cnr_log_relay(const char *ident, int pid, enum cnr_log_level lvl, const char *msg)
{
        char ts[40];

        cnr_rfc3339(ts, sizeof(ts));
        fprintf(stderr, "%s %s[%d]: %s: %s\n", ts, ident, pid, cnr_log_level_name(lvl), msg);
        fflush(stderr);
}

void
cnr_log_stderr_sink(enum cnr_log_level lvl, const char *msg, void *arg)
{
        cnr_log_relay(log_ident, (int)getpid(), lvl, msg);
}
