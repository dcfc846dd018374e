#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"

int
cnr_errf(struct cnr_err **err, int code, const char *fmt, ...)
{
        va_list ap;
        char *msg;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (err == NULL) {
                free(msg);
                return -1;
        }
        if (*err != NULL)
                cnr_err_free(err);
        *err = xcalloc(1, sizeof(**err));
        (*err)->code = code;
        (*err)->msg = msg;
        return -1;
}

int
cnr_err_wrap(struct cnr_err **err, const char *fmt, ...)
{
        va_list ap;
        char *prefix, *msg;

        if (err == NULL || *err == NULL)
                return -1;
        va_start(ap, fmt);
        prefix = xvasprintf(fmt, ap);
        va_end(ap);
        msg = xasprintf("%s: %s", prefix, (*err)->msg);
        free(prefix);
        free((*err)->msg);
        free((*err)->full);
        (*err)->full = NULL;
        (*err)->msg = msg;
        return -1;
}

void
cnr_err_free(struct cnr_err **err)
{
        if (err == NULL || *err == NULL)
                return;
        free((*err)->msg);
        free((*err)->full);
        free(*err);
        *err = NULL;
}

const char *
cnr_err_str(struct cnr_err *err)
{
        if (err == NULL)
                return "unknown error";
        if (err->code == 0)
                return err->msg;
        if (err->full == NULL)
                err->full = xasprintf("%s: %s", err->msg, strerror(err->code));
        return err->full;
}
