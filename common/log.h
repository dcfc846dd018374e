/* Diagnostic logging.  Each process picks a sink once at start: the
 * supervisor and the monitor write lines to stderr (the log file when
 * detached), helpers send records over their log channel (fd 4), the CLI
 * writes to stderr.  Audit records are not logs: see audit.h. */
#ifndef CNR_LOG_H
#define CNR_LOG_H

enum cnr_log_level { CNR_LOG_ERROR = 0, CNR_LOG_WARN, CNR_LOG_INFO, CNR_LOG_DEBUG };

typedef void (*cnr_log_sink)(enum cnr_log_level lvl, const char *msg, void *arg);

void cnr_log_init(const char *ident, enum cnr_log_level max, cnr_log_sink sink, void *arg);
void cnr_log(enum cnr_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *cnr_log_level_name(enum cnr_log_level lvl);
int cnr_log_level_parse(const char *s, enum cnr_log_level *out);
/* The default sink: "time ident[pid]: level: msg" on stderr. */
void cnr_log_stderr_sink(enum cnr_log_level lvl, const char *msg, void *arg);
/* Write one pre-formatted line as if from `ident` (used by the supervisor to
 * relay helper records into its own log). */
void cnr_log_relay(const char *ident, int pid, enum cnr_log_level lvl, const char *msg);

#define log_error(...) cnr_log(CNR_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) cnr_log(CNR_LOG_WARN, __VA_ARGS__)
#define log_info(...) cnr_log(CNR_LOG_INFO, __VA_ARGS__)
#define log_debug(...) cnr_log(CNR_LOG_DEBUG, __VA_ARGS__)

#endif
