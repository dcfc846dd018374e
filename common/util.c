#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

static void
oom(void)
{
        static const char msg[] = "containr: out of memory\n";
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

void *
xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (p == NULL)
                oom();
        return p;
}

void *
xcalloc(size_t n, size_t sz)
{
        void *p = calloc(n ? n : 1, sz ? sz : 1);
        if (p == NULL)
                oom();
        return p;
}

void *
xrealloc(void *p, size_t n)
{
        p = realloc(p, n ? n : 1);
        if (p == NULL)
                oom();
        return p;
}

char *
xstrdup(const char *s)
{
        char *r = strdup(s);
        if (r == NULL)
                oom();
        return r;
}

char *
xstrndup(const char *s, size_t n)
{
        char *r = strndup(s, n);
        if (r == NULL)
                oom();
        return r;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
        char *r;
        if (vasprintf(&r, fmt, ap) < 0)
                oom();
        return r;
}

char *
xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *r;

        va_start(ap, fmt);
        r = xvasprintf(fmt, ap);
        va_end(ap);
        return r;
}

void
cnr_freep(void *p)
{
        free(*(void **)p);
}

void
cnr_closep(int *fd)
{
        if (*fd >= 0)
                close(*fd); /* once; never retried on EINTR */
        *fd = -1;
}

void
cnr_fclosep(FILE **f)
{
        if (*f != NULL)
                fclose(*f);
}

void
cnr_closedirp(DIR **d)
{
        if (*d != NULL)
                closedir(*d);
}

void
cnr_free_secret(void *p, size_t n)
{
        if (p == NULL)
                return;
        explicit_bzero(p, n);
        free(p);
}

uint64_t
cnr_now_ms(void)
{
        return cnr_now_us() / 1000;
}

uint64_t
cnr_now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
cnr_rfc3339(char *buf, size_t n)
{
        struct timespec ts;
        struct tm tm;
        char base[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, n, "%s.%06ldZ", base, ts.tv_nsec / 1000);
}

int
cnr_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
        unsigned long long v = 0;

        if (s == NULL || *s == '\0')
                return -1;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -1;
                if (v > (max - (unsigned)(*s - '0')) / 10)
                        return -1;
                v = v * 10 + (unsigned)(*s - '0');
        }
        *out = v;
        return 0;
}

int
cnr_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += w;
                len -= (size_t)w;
        }
        return 0;
}

/* ---- did you mean ---- */

/* Optimal string alignment distance (a transposition costs 1). */
static size_t
edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        _cleanup_free_ size_t *d = NULL;
        size_t w = lb + 1, r;

        if (la > 64 || lb > 64)
                return SIZE_MAX;
        d = xcalloc((la + 1) * (lb + 1), sizeof(*d));
        for (size_t i = 0; i <= la; i++)
                d[i * w] = i;
        for (size_t j = 0; j <= lb; j++)
                d[j] = j;
        for (size_t i = 1; i <= la; i++) {
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t v = d[(i - 1) * w + j] + 1;
                        if (d[i * w + j - 1] + 1 < v)
                                v = d[i * w + j - 1] + 1;
                        if (d[(i - 1) * w + j - 1] + cost < v)
                                v = d[(i - 1) * w + j - 1] + cost;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[(i - 2) * w + j - 2] + 1 < v)
                                v = d[(i - 2) * w + j - 2] + 1;
                        d[i * w + j] = v;
                }
        }
        r = d[la * w + lb];
        return r;
}

const char *
cnr_suggest(const char *word, const char *const *cands, size_t n)
{
        const char *best = NULL, *prefix = NULL;
        size_t best_d = SIZE_MAX, nprefix = 0, lw = strlen(word);

        for (size_t i = 0; i < n; i++) {
                size_t lc = strlen(cands[i]);
                size_t longest = lw > lc ? lw : lc;
                size_t d = edit_distance(word, cands[i]);

                if (d <= (longest + 2) / 4 && d < best_d) {
                        best = cands[i];
                        best_d = d;
                }
                if (lw >= 2 && lw < lc && strncmp(word, cands[i], lw) == 0) {
                        prefix = cands[i];
                        nprefix++;
                }
        }
        if (best == NULL && nprefix == 1)
                best = prefix;
        return best;
}
