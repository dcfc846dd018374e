/* Small helpers every process uses: allocation that aborts on failure,
 * cleanup attributes, fd hygiene. */
#ifndef CNR_UTIL_H
#define CNR_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <unistd.h>

#define CNR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

void cnr_freep(void *p);
void cnr_closep(int *fd);
void cnr_fclosep(FILE **f);
void cnr_closedirp(DIR **d);

#define _cleanup_free_ __attribute__((cleanup(cnr_freep)))
#define _cleanup_close_ __attribute__((cleanup(cnr_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cnr_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cnr_closedirp)))

/* Move ownership out of a cleanup variable: `return steal_fd(&fd);` */
static inline int
steal_fd(int *fd)
{
        int r = *fd;
        *fd = -1;
        return r;
}

static inline void *
steal_ptr(void *pp)
{
        void **p = pp;
        void *r = *p;
        *p = NULL;
        return r;
}

/* Zero then free; for anything that held a secret. */
void cnr_free_secret(void *p, size_t n);

/* Monotonic and wall clock helpers. */
uint64_t cnr_now_ms(void);       /* CLOCK_MONOTONIC */
uint64_t cnr_now_us(void);       /* CLOCK_MONOTONIC */
void cnr_rfc3339(char *buf, size_t n); /* wall clock, UTC, microseconds */

/* Parse a non-negative decimal integer that fits in max; -1 on anything else. */
int cnr_parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* Write all of buf (retries short writes and EINTR). */
int cnr_write_all(int fd, const void *buf, size_t len);

/* "Did you mean": the candidate closest to `word` by edit distance (a swap
 * of neighbours costs 1; case counts), or NULL when none is close enough
 * to be a plausible typo; failing that, the only candidate that `word` (2
 * characters or more) is a prefix of.  For the config parser and the
 * CLI's command words. */
const char *cnr_suggest(const char *word, const char *const *cands, size_t n);

#endif
