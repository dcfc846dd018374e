/* Audit records: one JSON line per request a process served, appended to
 * its audit log (fd 5 in helpers, opened O_APPEND by the monitor).  Each
 * line is written with a single write(2), so lines never interleave.
 *
 * {"time":"…Z","process":"snapd","pid":123,"reqid":7,"op":"snap_mkdir",
 *  "args":{"name":"x"},"decision":"allow","result":"ok","errno":0,
 *  "error":"…","duration_us":41}
 */
#ifndef CNR_AUDIT_H
#define CNR_AUDIT_H

#include <stdint.h>

#include <jansson.h>

struct cnr_audit {
        const char *op;
        uint32_t reqid;
        json_t *args;          /* borrowed; may be NULL */
        const char *decision;  /* "allow" or "deny" */
        int err_code;          /* 0 on success */
        const char *error;     /* NULL on success */
        uint64_t started_us;   /* cnr_now_us() when the request arrived */
};

void cnr_audit_init(int fd, const char *process);
int cnr_audit_fd(void);
/* Returns 0, or -1 if the line could not be written (reported in the log). */
int cnr_audit_write(const struct cnr_audit *a);
/* Shortcut for events that are not requests (restarts, refusals). */
int cnr_audit_event(const char *op, const char *decision, json_t *args, int err_code, const char *error);

#endif
