/* Errors: one convention for the whole tree.
 *
 * A fallible function takes `struct cnr_err **err` last and returns a value
 * >= 0 on success.  On failure it returns -1 with *err set, made by the same
 * call that records the errno and the message:
 *
 *     if (fd < 0)
 *             return cnr_errf(err, errno, "open `%s`", path);
 *
 * User values go in backquotes.  A caller that adds context wraps:
 *
 *     return cnr_err_wrap(err, "start helper `%s`", name);
 *
 * which prefixes "start helper `x`: " to the message and returns -1.  Never
 * both log and return an error.
 */
#ifndef CNR_ERR_H
#define CNR_ERR_H

#include <stddef.h>

struct cnr_err {
        int code;  /* an errno value, 0 if none applies */
        char *msg; /* owned */
        char *full; /* cache of cnr_err_str() */
};

int cnr_errf(struct cnr_err **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cnr_err_wrap(struct cnr_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cnr_err_free(struct cnr_err **err);
/* "message: strerror(code)", or the message alone when code is 0; valid
 * until the error is freed or wrapped. */
const char *cnr_err_str(struct cnr_err *err);

#endif
