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
