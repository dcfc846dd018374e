/* The container's log: one JSON object per line of output,
 *
 *   {"time":"2026-11-29T10:00:00.123456Z","stream":"stdout","log":"hello\n"}
 *
 * containr's own format (the CRI format comes with the CRI gateway).
 * Output is cut into lines; a line longer than 16 KiB is written in parts,
 * the parts without a trailing newline, as is the last partial line when
 * the container exits. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "helpers/shim/shim.h"

#define LINE_MAX_BYTES (16 * 1024)

struct shim_log {
        int fd;
        struct {
                char buf[LINE_MAX_BYTES];
                size_t len;
        } s[3];
};

struct shim_log *
shim_log_new(int fd)
{
        struct shim_log *l = xcalloc(1, sizeof(*l));

        l->fd = fd;
        return l;
}

static void
emit(struct shim_log *l, int stream, const char *p, size_t n)
{
        char ts[64];
        json_t *o;
        char *line;

        cnr_rfc3339(ts, sizeof(ts));
        o = json_pack("{s:s,s:s,s:s%}", "time", ts, "stream", stream == 2 ? "stderr" : "stdout", "log", p, n);
        if (!o)
                return;
        line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(o);
        if (!line)
                return;
        {
                size_t len = strlen(line);
                line = xrealloc(line, len + 2);
                line[len] = '\n';
                line[len + 1] = '\0';
                if (cnr_write_all(l->fd, line, len + 1) < 0)
                        log_warn("write the container log: %s", strerror(errno));
        }
        free(line);
}

void
shim_log_data(struct shim_log *l, int stream, const char *buf, size_t n)
{
        int k = stream == 2 ? 2 : 1;

        while (n > 0) {
                const char *nl = memchr(buf, '\n', n);
                size_t take = nl ? (size_t)(nl - buf) + 1 : n;
                size_t room = LINE_MAX_BYTES - l->s[k].len;

                if (take > room)
                        take = room;
                memcpy(l->s[k].buf + l->s[k].len, buf, take);
                l->s[k].len += take;
                buf += take;
                n -= take;
                if (l->s[k].buf[l->s[k].len - 1] == '\n' || l->s[k].len == LINE_MAX_BYTES) {
                        emit(l, k, l->s[k].buf, l->s[k].len);
                        l->s[k].len = 0;
                }
        }
}

void
shim_log_flush(struct shim_log *l)
{
        for (int k = 1; k < 3; k++)
                if (l->s[k].len) {
                        emit(l, k, l->s[k].buf, l->s[k].len);
                        l->s[k].len = 0;
                }
}

void
shim_log_free(struct shim_log *l)
{
        if (l)
                close(l->fd);
        free(l);
}
