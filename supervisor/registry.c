/* The registry client's transport: libcurl's multi-socket API on the
 * supervisor's libevent loop, authentication, redirects, retries, and the
 * distribution-spec requests (see registry.h for the rules).
 *
 * One `struct xfer` is one logical request.  An attempt is one curl easy
 * transfer; after it ends, xfer_finished() decides: done, follow a
 * redirect, answer a 401 (token or Basic), retry later, try the next
 * endpoint (mirrors), or fail.  Callbacks into the rest of the supervisor
 * only ever run from libevent callbacks, never from inside curl's. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/util.h"
#include "supervisor/manifest.h"
#include "supervisor/registry.h"

#define MAX_ATTEMPTS 4
#define MAX_REDIRECTS 10
#define MAX_AUTH_ROUNDS 2
#define ERR_BODY_MAX (64 * 1024)
#define TOKEN_BODY_MAX (1 << 20)
#define CONNECT_TIMEOUT_S 15
#define STALL_TIMEOUT_S 30
#define MAX_ENDPOINTS 9

struct sockctx {
        struct cnr_reg *r;
        curl_socket_t fd;
        struct event *ev;
};

struct fetch; /* a blob download in flight, shared by every asker */

struct cnr_reg {
        struct event_base *base;
        struct cnr_content *content;
        const struct cnr_config *cfg;
        CURLM *multi;
        struct event *timer;
        LIST_HEAD(, cnr_reg_sess) sessions;
        LIST_HEAD(, fetch) fetches;
};

struct endpoint {
        char *base;  /* "https://host:port" */
        bool creds;  /* the registry itself: credentials may be used */
        unsigned timeout_s;
};

struct token {
        char *origin;
        char *scope;
        char *token;
};

struct xfer;

/* A callback deferred to the next loop turn (never run from inside the
 * call that asked for it); owned by its session, or by the client when
 * sess is NULL. */
struct later {
        LIST_ENTRY(later) entry;
        struct event *ev;
        void (*fn)(void *arg);
        void (*drop)(void *arg);
        void *arg;
        bool linked;
};

struct cnr_reg_sess {
        LIST_ENTRY(cnr_reg_sess) entry;
        struct cnr_reg *r;
        char *domain;
        char *repo;
        char *user;
        char *pass;
        char *scope; /* "repository:<repo>:pull[,push]" */
        struct endpoint eps[MAX_ENDPOINTS];
        size_t neps;
        size_t first_ep; /* 0 with mirrors, else the registry's index */
        bool basic;      /* the registry asked for Basic */
        struct token *tokens;
        size_t ntokens;
        LIST_HEAD(, xfer) xfers;
        LIST_HEAD(, later) laters;
};

enum sink { SINK_NONE, SINK_MEM, SINK_INGEST };

typedef void (*xfer_done_fn)(struct xfer *x, struct cnr_err *err);

struct xfer {
        LIST_ENTRY(xfer) entry;
        struct cnr_reg_sess *s;
        CURL *easy;
        char errbuf[CURL_ERROR_SIZE];
        char *what; /* "manifest `latest` of host/repo" */
        const char *method;
        char *path; /* "/v2/..." relative to the endpoint, or NULL if url0 is absolute */
        char *url0; /* the URL of the first attempt */
        char *url;  /* current URL */
        size_t ep;
        bool mirrorable;
        bool idempotent;
        int attempt;
        int redirects;
        int auth_rounds;
        bool anon;        /* current URL is not on the endpoint's origin */
        bool sent_basic;  /* this attempt carried the session's Basic credentials */
        char *scope;      /* token scope this request uses ("" for none) */
        char *basic_realm_auth; /* token requests: "Authorization: Basic ..." or NULL */
        const char *accept;
        const char *ctype; /* request Content-Type (static or owned by the caller until done) */
        char *extra_hdr;   /* one more request header, or NULL */
        char *up_copy;     /* owned upload bytes */
        struct curl_slist *hdrs;
        /* upload */
        bool upload;
        const char *up_buf;
        int up_fd;
        uint64_t up_off, up_len, up_pos;
        /* response */
        long status;
        char *r_ctype, *r_dcd, *r_location, *r_wwwauth, *r_range;
        int64_t r_clen;
        /* sink */
        enum sink sink;
        char *body;
        size_t blen, bcap, max;
        struct cnr_ingest *ingest;
        struct cnr_digest want;
        int64_t want_size;
        uint64_t got;
        struct cnr_err *werr; /* raised inside a curl callback */
        bool werr_final;      /* never retried (mismatch, cap) */
        cnr_reg_progress_cb progress;
        void *parg;
        struct event *retry_ev;
        xfer_done_fn done;
        void *arg;
        void (*drop)(void *arg); /* free arg without calling back (session freed) */
        struct xfer *parent; /* token request: whom to resume */
};

static void xfer_start(struct xfer *x);
static void xfer_free(struct xfer *x);

/* ---- small helpers ------------------------------------------------------- */

static void
free_secret_str(char **p)
{
        if (*p) {
                cnr_free_secret(*p, strlen(*p));
                *p = NULL;
        }
}

static void
slist_free_secret(struct curl_slist *l)
{
        for (struct curl_slist *i = l; i; i = i->next)
                if (i->data)
                        explicit_bzero(i->data, strlen(i->data));
        curl_slist_free_all(l);
}

static char *
b64(const char *in)
{
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(in), o = 0;
        char *out = xmalloc(4 * ((n + 2) / 3) + 1);
        const unsigned char *s = (const unsigned char *)in;

        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                             (i + 2 < n ? s[i + 2] : 0);
                out[o++] = tbl[(v >> 18) & 63];
                out[o++] = tbl[(v >> 12) & 63];
                out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                out[o++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        out[o] = '\0';
        return out;
}

static char *
basic_header(const char *user, const char *pass)
{
        size_t n = strlen(user) + strlen(pass) + 2;
        char *plain = xmalloc(n), *enc, *hdr;

        snprintf(plain, n, "%s:%s", user, pass);
        enc = b64(plain);
        cnr_free_secret(plain, n);
        hdr = xasprintf("Authorization: Basic %s", enc);
        cnr_free_secret(enc, strlen(enc));
        return hdr;
}

const char *
cnr_reg_api_host(const char *domain)
{
        if (strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0)
                return "registry-1.docker.io";
        return domain;
}

static const struct cnr_config_registry *
host_conf(const struct cnr_reg *r, const char *host)
{
        if (r->cfg == NULL)
                return NULL;
        for (size_t i = 0; i < r->cfg->nregistries; i++)
                if (strcmp(r->cfg->registries[i].host, host) == 0)
                        return &r->cfg->registries[i];
        return NULL;
}

/* host without the port ("[::1]:5000" -> "::1"). */
static void
host_only(const char *host, char *buf, size_t n)
{
        const char *end;

        if (host[0] == '[') {
                end = strchr(host, ']');
                host++;
        } else {
                end = strrchr(host, ':');
        }
        if (end == NULL)
                end = host + strlen(host);
        snprintf(buf, n, "%.*s", (int)(end - host), host);
}

bool
cnr_reg_host_insecure(const struct cnr_reg *r, const char *host)
{
        const struct cnr_config_registry *hc = r ? host_conf(r, host) : NULL;
        struct in_addr a4;
        char h[256];

        if (hc && hc->insecure)
                return true;
        host_only(host, h, sizeof(h));
        if (strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0)
                return true;
        if (inet_pton(AF_INET, h, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127)
                return true;
        return false;
}

/* ---- pure helpers: challenges, redirects, error bodies ------------------- */

void
cnr_reg_challenge_clear(struct cnr_reg_challenge *c)
{
        free(c->realm);
        free(c->service);
        free(c->scope);
        memset(c, 0, sizeof(*c));
}

static const char *
skip_ws(const char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static bool
is_token_char(char c)
{
        /* strchr finds the terminator too: '\0' is never a token char */
        return c != '\0' && (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~/", c) != NULL);
}

/* One auth-param value (token or quoted-string) into a new string. */
static const char *
param_value(const char *p, char **out)
{
        size_t cap = 64, n = 0;
        char *v = xmalloc(cap);

        if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                        if (*p == '\\' && p[1])
                                p++;
                        if (n + 2 > cap)
                                v = xrealloc(v, cap *= 2);
                        v[n++] = *p++;
                }
                if (*p != '"') {
                        free(v);
                        return NULL;
                }
                p++;
        } else {
                while (*p && is_token_char(*p) && *p != ',') {
                        if (n + 2 > cap)
                                v = xrealloc(v, cap *= 2);
                        v[n++] = *p++;
                }
                if (*p == '=') { /* token68 padding */
                        while (*p == '=') {
                                if (n + 2 > cap)
                                        v = xrealloc(v, cap *= 2);
                                v[n++] = *p++;
                        }
                }
        }
        v[n] = '\0';
        *out = v;
        return p;
}

int
cnr_reg_parse_challenge(const char *hdr, struct cnr_reg_challenge *out, struct cnr_err **err)
{
        const char *p = hdr;

        memset(out, 0, sizeof(*out));
        while (*p) {
                char scheme[16];
                size_t n = 0;
                struct cnr_reg_challenge c = {0};

                p = skip_ws(p);
                while (*p == ',')
                        p = skip_ws(p + 1);
                if (*p == '\0')
                        break;
                while (is_token_char(*p) && *p != '=') {
                        if (n + 1 < sizeof(scheme))
                                scheme[n++] = (char)tolower((unsigned char)*p);
                        p++;
                }
                scheme[n] = '\0';
                if (n == 0)
                        return cnr_errf(err, EBADMSG, "malformed WWW-Authenticate `%.100s`", hdr);
                snprintf(c.scheme, sizeof(c.scheme), "%s", scheme);
                /* params: name=value pairs until the next scheme */
                for (;;) {
                        const char *save = p, *q;
                        char name[32];
                        char *val = NULL;

                        p = skip_ws(p);
                        while (*p == ',')
                                p = skip_ws(p + 1);
                        q = p;
                        n = 0;
                        while (is_token_char(*q) && *q != '=') {
                                if (n + 1 < sizeof(name))
                                        name[n++] = (char)tolower((unsigned char)*q);
                                q++;
                        }
                        name[n] = '\0';
                        q = skip_ws(q);
                        if (n == 0 || *q != '=') {
                                /* not a param: the next challenge starts (or the end) */
                                p = n == 0 ? p : save;
                                break;
                        }
                        q = skip_ws(q + 1);
                        q = param_value(q, &val);
                        if (q == NULL) {
                                cnr_reg_challenge_clear(&c);
                                return cnr_errf(err, EBADMSG, "malformed WWW-Authenticate `%.100s`: unterminated "
                                                              "quoted string",
                                                hdr);
                        }
                        if (strcmp(name, "realm") == 0 && c.realm == NULL)
                                c.realm = val;
                        else if (strcmp(name, "service") == 0 && c.service == NULL)
                                c.service = val;
                        else if (strcmp(name, "scope") == 0 && c.scope == NULL)
                                c.scope = val;
                        else
                                free(val);
                        p = q;
                        if (*p == '\0')
                                break;
                }
                if (strcmp(c.scheme, "bearer") == 0 || strcmp(c.scheme, "basic") == 0) {
                        if (strcmp(c.scheme, "bearer") == 0 && (c.realm == NULL || c.realm[0] == '\0')) {
                                cnr_reg_challenge_clear(&c);
                                return cnr_errf(err, EBADMSG, "Bearer challenge without a realm in `%.100s`", hdr);
                        }
                        *out = c;
                        return 0;
                }
                cnr_reg_challenge_clear(&c);
        }
        return cnr_errf(err, EBADMSG, "no Bearer or Basic challenge in WWW-Authenticate `%.100s`", hdr);
}

static int
url_parts(const char *url, char **scheme, char **host, char **port)
{
        CURLU *u = curl_url();
        int r = -1;

        if (u == NULL)
                return -1;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
                goto out;
        if (curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK)
                goto out;
        if (curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK) {
                curl_free(*scheme);
                goto out;
        }
        if (curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
                curl_free(*scheme);
                curl_free(*host);
                goto out;
        }
        r = 0;
out:
        curl_url_cleanup(u);
        return r;
}

bool
cnr_reg_same_origin(const char *a, const char *b)
{
        char *s1, *h1, *p1, *s2, *h2, *p2;
        bool same;

        if (url_parts(a, &s1, &h1, &p1) < 0)
                return false;
        if (url_parts(b, &s2, &h2, &p2) < 0) {
                curl_free(s1);
                curl_free(h1);
                curl_free(p1);
                return false;
        }
        same = strcasecmp(s1, s2) == 0 && strcasecmp(h1, h2) == 0 && strcmp(p1, p2) == 0;
        curl_free(s1);
        curl_free(h1);
        curl_free(p1);
        curl_free(s2);
        curl_free(h2);
        curl_free(p2);
        return same;
}

int
cnr_reg_redirect_target(const char *from, const char *location, char **out, struct cnr_err **err)
{
        CURLU *u = curl_url();
        char *full = NULL, *s_from = NULL, *s_to = NULL;
        int r = -1;

        if (u == NULL)
                return cnr_errf(err, ENOMEM, "curl_url");
        if (curl_url_set(u, CURLUPART_URL, from, 0) != CURLUE_OK) {
                cnr_errf(err, EPERM, "bad URL `%.200s`", from);
                goto out;
        }
        if (curl_url_get(u, CURLUPART_SCHEME, &s_from, 0) != CURLUE_OK) {
                cnr_errf(err, EPERM, "bad URL `%.200s`", from);
                goto out;
        }
        /* Relative references resolve against `from`. */
        if (curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &s_to, 0) != CURLUE_OK) {
                cnr_errf(err, EPERM, "redirect to a malformed location `%.200s` refused", location);
                goto out;
        }
        if (strcasecmp(s_to, "http") != 0 && strcasecmp(s_to, "https") != 0) {
                cnr_errf(err, EPERM, "redirect to `%.200s` refused: only http and https are followed", full);
                goto out;
        }
        if (strcasecmp(s_from, "https") == 0 && strcasecmp(s_to, "http") == 0) {
                cnr_errf(err, EPERM, "redirect from https to plain http (`%.200s`) refused", full);
                goto out;
        }
        *out = xstrdup(full);
        r = 0;
out:
        curl_free(full);
        curl_free(s_from);
        curl_free(s_to);
        curl_url_cleanup(u);
        return r;
}

char *
cnr_reg_error_body(const char *body, size_t len)
{
        json_t *doc, *errs, *e;
        size_t i;
        char *out = NULL;
        size_t olen = 0;

        if (body == NULL || len == 0)
                return NULL;
        doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        if (doc == NULL)
                return NULL;
        errs = json_object_get(doc, "errors");
        json_array_foreach(errs, i, e)
        {
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *msg = json_string_value(json_object_get(e, "message"));
                char *part;

                if (i >= 4)
                        break;
                part = xasprintf("%s%s%s%s", olen ? "; " : "", code ? code : "ERROR", msg ? ": " : "",
                                 msg ? msg : "");
                for (char *c = part; *c; c++)
                        if ((unsigned char)*c < 0x20 || *c == 0x7f)
                                *c = '?';
                out = xrealloc(out, olen + strlen(part) + 1);
                memcpy(out + olen, part, strlen(part) + 1);
                olen += strlen(part);
                free(part);
        }
        json_decref(doc);
        return out;
}

/* ---- curl multi on libevent ---------------------------------------------- */

static void check_done(struct cnr_reg *r);

static void
on_sock_event(evutil_socket_t fd, short what, void *arg)
{
        struct cnr_reg *r = arg;
        int running, flags = 0;

        if (what & EV_READ)
                flags |= CURL_CSELECT_IN;
        if (what & EV_WRITE)
                flags |= CURL_CSELECT_OUT;
        curl_multi_socket_action(r->multi, fd, flags, &running);
        check_done(r);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
        struct cnr_reg *r = arg;
        int running;

        curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(r);
}

static int
sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
        struct cnr_reg *r = userp;
        struct sockctx *sc = sockp;
        short ev = EV_PERSIST;

        if (what == CURL_POLL_REMOVE) {
                if (sc) {
                        event_free(sc->ev);
                        free(sc);
                }
                curl_multi_assign(r->multi, fd, NULL);
                return 0;
        }
        if (what & CURL_POLL_IN)
                ev |= EV_READ;
        if (what & CURL_POLL_OUT)
                ev |= EV_WRITE;
        if (sc == NULL) {
                sc = xcalloc(1, sizeof(*sc));
                sc->r = r;
                sc->fd = fd;
                curl_multi_assign(r->multi, fd, sc);
        } else {
                event_free(sc->ev);
        }
        sc->ev = event_new(r->base, fd, ev, on_sock_event, r);
        event_add(sc->ev, NULL);
        return 0;
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
        struct cnr_reg *r = userp;
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};

        if (timeout_ms < 0)
                evtimer_del(r->timer);
        else
                evtimer_add(r->timer, &tv);
        return 0;
}

int
cnr_reg_global_init(struct cnr_err **err)
{
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return cnr_errf(err, EIO, "curl_global_init failed");
        return 0;
}

int
cnr_reg_new(struct event_base *base, struct cnr_content *content, const struct cnr_config *cfg,
            struct cnr_reg **out, struct cnr_err **err)
{
        struct cnr_reg *r;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return cnr_errf(err, EIO, "curl_global_init failed");
        r = xcalloc(1, sizeof(*r));
        r->base = base;
        r->content = content;
        r->cfg = cfg;
        r->multi = curl_multi_init();
        if (r->multi == NULL) {
                free(r);
                return cnr_errf(err, ENOMEM, "curl_multi_init failed");
        }
        r->timer = evtimer_new(base, on_timer, r);
        LIST_INIT(&r->sessions);
        LIST_INIT(&r->fetches);
        curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
        curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
        curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 6L);
        *out = r;
        return 0;
}

/* ---- sessions ------------------------------------------------------------ */

static void
add_endpoint(struct cnr_reg_sess *s, const char *host, bool creds)
{
        const struct cnr_config_registry *hc = host_conf(s->r, host);
        struct endpoint *ep;

        if (s->neps >= MAX_ENDPOINTS)
                return;
        ep = &s->eps[s->neps++];
        ep->base = xasprintf("%s://%s", cnr_reg_host_insecure(s->r, host) ? "http" : "https", host);
        ep->creds = creds;
        ep->timeout_s = hc && hc->timeout_s ? hc->timeout_s : STALL_TIMEOUT_S;
}

struct cnr_reg_sess *
cnr_reg_sess_new(struct cnr_reg *r, const char *domain, const char *repo, const char *user, const char *password,
                 bool push)
{
        struct cnr_reg_sess *s = xcalloc(1, sizeof(*s));
        const struct cnr_config_registry *hc = host_conf(r, domain);

        s->r = r;
        s->domain = xstrdup(domain);
        s->repo = xstrdup(repo);
        if (user && *user && password) {
                s->user = xstrdup(user);
                s->pass = xstrdup(password);
        }
        s->scope = xasprintf("repository:%s:%s", repo, push ? "pull,push" : "pull");
        if (hc)
                for (size_t i = 0; i < hc->nmirrors; i++)
                        add_endpoint(s, hc->mirrors[i], false);
        s->first_ep = s->neps; /* mirrors off until asked for */
        add_endpoint(s, cnr_reg_api_host(domain), true);
        LIST_INIT(&s->xfers);
        LIST_INIT(&s->laters);
        LIST_INSERT_HEAD(&r->sessions, s, entry);
        return s;
}

void
cnr_reg_sess_use_mirrors(struct cnr_reg_sess *s, bool on)
{
        s->first_ep = on ? 0 : s->neps - 1;
}

static void xfer_fail(struct xfer *x, struct cnr_err *err);

static void fetch_detach(struct cnr_reg_sess *s);
static void later_free(struct later *l);

void
cnr_reg_sess_free(struct cnr_reg_sess *s)
{
        struct xfer *x;
        struct later *l;

        if (s == NULL)
                return;
        /* Downloads other sessions wait for move to one of them. */
        fetch_detach(s);
        /* The rest is dropped without calling back: the owner is freeing us. */
        while ((x = LIST_FIRST(&s->xfers)) != NULL) {
                if (x->drop)
                        x->drop(x->arg);
                xfer_free(x);
        }
        while ((l = LIST_FIRST(&s->laters)) != NULL) {
                if (l->drop)
                        l->drop(l->arg);
                later_free(l);
        }
        LIST_REMOVE(s, entry);
        free_secret_str(&s->user);
        free_secret_str(&s->pass);
        for (size_t i = 0; i < s->ntokens; i++) {
                free(s->tokens[i].origin);
                free(s->tokens[i].scope);
                free_secret_str(&s->tokens[i].token);
        }
        free(s->tokens);
        for (size_t i = 0; i < s->neps; i++)
                free(s->eps[i].base);
        free(s->domain);
        free(s->repo);
        free(s->scope);
        free(s);
}

static const char *
token_for(struct cnr_reg_sess *s, const char *origin, const char *scope)
{
        for (size_t i = 0; i < s->ntokens; i++)
                if (strcmp(s->tokens[i].origin, origin) == 0 && strcmp(s->tokens[i].scope, scope) == 0)
                        return s->tokens[i].token;
        return NULL;
}

static void
token_set(struct cnr_reg_sess *s, const char *origin, const char *scope, char *token)
{
        for (size_t i = 0; i < s->ntokens; i++)
                if (strcmp(s->tokens[i].origin, origin) == 0 && strcmp(s->tokens[i].scope, scope) == 0) {
                        free_secret_str(&s->tokens[i].token);
                        s->tokens[i].token = token;
                        return;
                }
        s->tokens = xrealloc(s->tokens, (s->ntokens + 1) * sizeof(*s->tokens));
        s->tokens[s->ntokens].origin = xstrdup(origin);
        s->tokens[s->ntokens].scope = xstrdup(scope);
        s->tokens[s->ntokens].token = token;
        s->ntokens++;
}

/* ---- transfers ----------------------------------------------------------- */

static struct xfer *
xfer_new(struct cnr_reg_sess *s, const char *method, const char *path, xfer_done_fn done, void *arg)
{
        struct xfer *x = xcalloc(1, sizeof(*x));

        x->s = s;
        x->method = method;
        x->ep = s->neps - 1; /* the registry */
        x->path = path ? xstrdup(path) : NULL;
        x->done = done;
        x->arg = arg;
        x->up_fd = -1;
        x->r_clen = -1;
        x->want_size = -1;
        x->idempotent = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
        x->scope = xstrdup(s->scope);
        x->sink = SINK_MEM;
        x->max = ERR_BODY_MAX;
        LIST_INSERT_HEAD(&s->xfers, x, entry);
        return x;
}

static void
reset_response(struct xfer *x)
{
        free(x->r_ctype);
        free(x->r_dcd);
        free(x->r_location);
        free(x->r_wwwauth);
        free(x->r_range);
        x->r_ctype = x->r_dcd = x->r_location = x->r_wwwauth = x->r_range = NULL;
        x->r_clen = -1;
        x->status = 0;
        free(x->body);
        x->body = NULL;
        x->blen = x->bcap = 0;
        if (x->ingest) {
                cnr_ingest_abort(x->ingest);
                x->ingest = NULL;
        }
        x->got = 0;
        x->up_pos = 0;
        cnr_err_free(&x->werr);
        x->werr_final = false;
}

static void
xfer_free(struct xfer *x)
{
        if (x->easy) {
                curl_multi_remove_handle(x->s->r->multi, x->easy);
                curl_easy_cleanup(x->easy);
        }
        if (x->retry_ev)
                event_free(x->retry_ev);
        reset_response(x);
        slist_free_secret(x->hdrs);
        free_secret_str(&x->basic_realm_auth);
        if (x->up_fd >= 0)
                close(x->up_fd);
        LIST_REMOVE(x, entry);
        free(x->what);
        free(x->path);
        free(x->url0);
        free(x->url);
        free(x->scope);
        free(x->extra_hdr);
        free(x->up_copy);
        free(x);
}

static void
xfer_succeed(struct xfer *x)
{
        x->done(x, NULL);
}

static void
xfer_fail(struct xfer *x, struct cnr_err *err)
{
        x->done(x, err);
}

/* Write bytes of the body: to the ingest on success statuses, into memory
 * (capped) otherwise. */
static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
        struct xfer *x = arg;
        size_t n = size * nmemb;
        bool ok = x->status >= 200 && x->status < 300;

        if (ok && x->sink == SINK_INGEST) {
                if (x->ingest == NULL) {
                        x->ingest = cnr_ingest_begin(x->s->r->content, &x->want, x->want_size, &x->werr);
                        if (x->ingest == NULL)
                                return 0;
                }
                if (cnr_ingest_write(x->ingest, ptr, n, &x->werr) < 0) {
                        cnr_err_wrap(&x->werr, "size mismatch");
                        x->werr->code = EBADMSG;
                        x->werr_final = true;
                        return 0;
                }
                x->got += n;
                if (x->progress)
                        x->progress(x->got, (uint64_t)x->want_size, x->parg);
                return n;
        }
        if (ok && x->sink == SINK_NONE)
                return n;
        if (x->blen + n > x->max) {
                if (ok) {
                        cnr_errf(&x->werr, EFBIG, "the answer is over the %zu byte limit", x->max);
                        x->werr_final = true;
                        return 0;
                }
                n = x->blen < x->max ? x->max - x->blen : 0; /* keep the start of an error body */
                if (n == 0)
                        return size * nmemb;
        }
        if (x->blen + n + 1 > x->bcap) {
                x->bcap = (x->blen + n + 1) * 2;
                if (x->bcap > x->max + 1)
                        x->bcap = x->max + 1;
                x->body = xrealloc(x->body, x->bcap);
        }
        memcpy(x->body + x->blen, ptr, n);
        x->blen += n;
        x->body[x->blen] = '\0';
        return size * nmemb;
}

static char *
header_value(const char *line, size_t len, const char *name)
{
        size_t nl = strlen(name);
        const char *v, *end = line + len;

        if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
                return NULL;
        v = line + nl + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        return xstrndup(v, (size_t)(end - v));
}

static size_t
header_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
        struct xfer *x = arg;
        size_t n = size * nmemb;
        char *v;

        if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
                const char *sp = memchr(buf, ' ', n);
                free(x->r_ctype);
                free(x->r_dcd);
                free(x->r_location);
                free(x->r_wwwauth);
                free(x->r_range);
                x->r_ctype = x->r_dcd = x->r_location = x->r_wwwauth = x->r_range = NULL;
                x->r_clen = -1;
                x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
                return n;
        }
        if ((v = header_value(buf, n, "content-type")) != NULL) {
                free(x->r_ctype);
                x->r_ctype = v;
        } else if ((v = header_value(buf, n, "docker-content-digest")) != NULL) {
                free(x->r_dcd);
                x->r_dcd = v;
        } else if ((v = header_value(buf, n, "location")) != NULL) {
                free(x->r_location);
                x->r_location = v;
        } else if ((v = header_value(buf, n, "www-authenticate")) != NULL) {
                if (x->r_wwwauth == NULL)
                        x->r_wwwauth = v;
                else
                        free(v);
        } else if ((v = header_value(buf, n, "range")) != NULL) {
                free(x->r_range);
                x->r_range = v;
        } else if ((v = header_value(buf, n, "content-length")) != NULL) {
                unsigned long long cl;
                x->r_clen = cnr_parse_uint(v, INT64_MAX, &cl) == 0 ? (int64_t)cl : -1;
                free(v);
        } else if (n <= 2 && x->status >= 200 && x->status < 300 && x->sink == SINK_INGEST && x->want_size >= 0 &&
                   x->r_clen >= 0 && x->r_clen != x->want_size && strcmp(x->method, "GET") == 0) {
                /* end of headers: the registry announces another size */
                cnr_errf(&x->werr, EBADMSG, "size mismatch: the registry sends %lld bytes, the manifest says %lld",
                         (long long)x->r_clen, (long long)x->want_size);
                x->werr_final = true;
                return 0;
        }
        return n;
}

static size_t
read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
        struct xfer *x = arg;
        size_t want = size * nmemb;
        uint64_t left = x->up_len - x->up_pos;
        ssize_t n;

        if (want > left)
                want = (size_t)left;
        if (want == 0)
                return 0;
        if (x->up_buf) {
                memcpy(buf, x->up_buf + x->up_pos, want);
                n = (ssize_t)want;
        } else {
                n = pread(x->up_fd, buf, want, (off_t)(x->up_off + x->up_pos));
                if (n <= 0) {
                        cnr_errf(&x->werr, n < 0 ? errno : EIO, "read the blob to upload");
                        return CURL_READFUNC_ABORT;
                }
        }
        x->up_pos += (uint64_t)n;
        if (x->progress)
                x->progress(x->up_off + x->up_pos, (uint64_t)x->want_size, x->parg);
        return (size_t)n;
}

static int
seek_cb(void *arg, curl_off_t off, int origin)
{
        struct xfer *x = arg;

        if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->up_len)
                return CURL_SEEKFUNC_FAIL;
        x->up_pos = (uint64_t)off;
        return CURL_SEEKFUNC_OK;
}

static const char *
origin_base(struct xfer *x)
{
        return x->s->eps[x->ep].base;
}

static void
xfer_start(struct xfer *x)
{
        struct cnr_reg_sess *s = x->s;
        struct endpoint *ep = &s->eps[x->ep];
        char *h;

        reset_response(x);
        if (x->url == NULL) {
                if (x->path)
                        x->url0 = xasprintf("%s%s", ep->base, x->path);
                x->url = xstrdup(x->url0);
                x->anon = !cnr_reg_same_origin(x->url, ep->base);
        }
        if (x->easy == NULL)
                x->easy = curl_easy_init();
        else
                curl_easy_reset(x->easy);
        slist_free_secret(x->hdrs);
        x->hdrs = NULL;
        x->sent_basic = false;
        if (x->accept) {
                h = xasprintf("Accept: %s", x->accept);
                x->hdrs = curl_slist_append(x->hdrs, h);
                free(h);
        }
        if (x->ctype) {
                h = xasprintf("Content-Type: %s", x->ctype);
                x->hdrs = curl_slist_append(x->hdrs, h);
                free(h);
        }
        x->hdrs = curl_slist_append(x->hdrs, "Expect:");
        if (x->extra_hdr)
                x->hdrs = curl_slist_append(x->hdrs, x->extra_hdr);
        if (x->basic_realm_auth) {
                /* a token request: credentials only to the realm's origin */
                if (!x->anon)
                        x->hdrs = curl_slist_append(x->hdrs, x->basic_realm_auth);
        } else if (!x->anon) {
                const char *tok = token_for(s, ep->base, x->scope);
                if (tok) {
                        h = xasprintf("Authorization: Bearer %s", tok);
                        x->hdrs = curl_slist_append(x->hdrs, h);
                        cnr_free_secret(h, strlen(h));
                } else if (s->basic && ep->creds && s->user) {
                        x->sent_basic = true;
                        h = basic_header(s->user, s->pass);
                        x->hdrs = curl_slist_append(x->hdrs, h);
                        cnr_free_secret(h, strlen(h));
                }
        }
        curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
        curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
        curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME, (long)ep->timeout_s);
        curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "containr/" PACKAGE_VERSION);
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
        curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
        curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
        x->errbuf[0] = '\0';
        if (strcmp(x->method, "HEAD") == 0) {
                curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
        } else if (strcmp(x->method, "POST") == 0) {
                curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
                if (x->upload) {
                        curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, read_cb);
                        curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
                        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->up_len);
                } else {
                        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, "");
                        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, 0L);
                }
        } else if (strcmp(x->method, "PUT") == 0 || strcmp(x->method, "PATCH") == 0) {
                curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, read_cb);
                curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
                curl_easy_setopt(x->easy, CURLOPT_SEEKFUNCTION, seek_cb);
                curl_easy_setopt(x->easy, CURLOPT_SEEKDATA, x);
                curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(x->upload ? x->up_len : 0));
                if (strcmp(x->method, "PATCH") == 0)
                        curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, "PATCH");
        }
        log_debug("registry: %s %s%s", x->method, x->url, x->anon ? " (no credentials: other origin)" : "");
        curl_multi_add_handle(s->r->multi, x->easy);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
        xfer_start(arg);
}

static void
retry_later(struct xfer *x, const char *why)
{
        unsigned ms = 250u << x->attempt;
        struct timeval tv;

        if (ms > 4000)
                ms = 4000;
        ms += (unsigned)(cnr_now_us() % 100);
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
        x->attempt++;
        log_info("registry: %s: %s; retrying in %u ms (attempt %d of %d)", x->what, why, ms, x->attempt + 1,
                 MAX_ATTEMPTS);
        /* back to the first URL: storage redirects may have expired */
        free(x->url);
        x->url = NULL;
        x->redirects = 0;
        if (x->retry_ev == NULL)
                x->retry_ev = evtimer_new(x->s->r->base, on_retry, x);
        evtimer_add(x->retry_ev, &tv);
}

/* A failure of this endpoint: try the next one (mirrors) if there is one. */
static void
endpoint_fail(struct xfer *x, struct cnr_err *err)
{
        if (x->mirrorable && x->ep + 1 < x->s->neps && err->code != ECANCELED) {
                log_info("registry: %s: mirror %s failed (%s); trying %s", x->what, x->s->eps[x->ep].base,
                         cnr_err_str(err), x->s->eps[x->ep + 1].base);
                cnr_err_free(&err);
                x->ep++;
                x->attempt = 0;
                x->redirects = 0;
                x->auth_rounds = 0;
                free(x->url);
                free(x->url0);
                x->url = x->url0 = NULL;
                xfer_start(x);
                return;
        }
        xfer_fail(x, err);
}

static struct cnr_err *
status_error(struct xfer *x)
{
        _cleanup_free_ char *detail = cnr_reg_error_body(x->body, x->blen);
        struct cnr_err *e = NULL;
        const char *at = x->anon ? " (at a redirect target on another host, which gets no credentials)" : "";

        switch (x->status) {
        case 401:
                cnr_errf(&e, EACCES, "%s: unauthorized%s%s%s%s", x->what, detail ? " (" : "", detail ? detail : "",
                         detail ? ")" : "", at);
                break;
        case 403:
                cnr_errf(&e, EACCES, "%s: denied%s%s%s", x->what, detail ? " (" : "", detail ? detail : "",
                         detail ? ")" : "");
                break;
        case 404:
                cnr_errf(&e, ENOENT, "%s: not found%s%s%s", x->what, detail ? " (" : "", detail ? detail : "",
                         detail ? ")" : "");
                break;
        default:
                cnr_errf(&e, EIO, "%s: the registry answered HTTP %ld%s%s%s", x->what, x->status,
                         detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
        }
        return e;
}

static bool
curl_transient(CURLcode rc)
{
        switch (rc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

static struct cnr_err *
curl_error(struct xfer *x, CURLcode rc)
{
        struct cnr_err *e = NULL;
        const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
        int code = EIO;
        const char *kind = "transfer failed";

        switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
                code = ETIMEDOUT;
                kind = "timeout";
                break;
        case CURLE_COULDNT_CONNECT:
                code = ECONNREFUSED;
                kind = "cannot connect";
                break;
        case CURLE_COULDNT_RESOLVE_HOST:
                code = EHOSTUNREACH;
                kind = "cannot resolve the host";
                break;
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
                code = ECONNRESET;
                kind = "the connection broke (truncated answer)";
                break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_USE_SSL_FAILED:
                code = EPROTO;
                kind = "TLS";
                break;
        case CURLE_UNSUPPORTED_PROTOCOL:
                code = EPERM;
                kind = "protocol refused";
                break;
        default:
                break;
        }
        cnr_errf(&e, code, "%s: %s (%s)", x->what, kind, detail);
        return e;
}

static void start_token(struct xfer *x, const struct cnr_reg_challenge *ch);

static void
xfer_finished(struct xfer *x, CURLcode rc)
{
        struct cnr_reg_sess *s = x->s;
        struct cnr_err *e = NULL;

        curl_multi_remove_handle(s->r->multi, x->easy);
        if (x->werr) {
                e = steal_ptr(&x->werr);
                if (!x->werr_final && x->idempotent && x->attempt + 1 < MAX_ATTEMPTS) {
                        retry_later(x, cnr_err_str(e));
                        cnr_err_free(&e);
                        return;
                }
                cnr_err_wrap(&e, "%s", x->what);
                endpoint_fail(x, e);
                return;
        }
        if (rc != CURLE_OK) {
                e = curl_error(x, rc);
                if (curl_transient(rc) && (x->idempotent || rc == CURLE_COULDNT_CONNECT) &&
                    x->attempt + 1 < MAX_ATTEMPTS) {
                        retry_later(x, cnr_err_str(e));
                        cnr_err_free(&e);
                        return;
                }
                endpoint_fail(x, e);
                return;
        }
        if ((x->status == 301 || x->status == 302 || x->status == 303 || x->status == 307 || x->status == 308) &&
            x->r_location) {
                char *to = NULL;

                if (++x->redirects > MAX_REDIRECTS) {
                        cnr_errf(&e, ELOOP, "%s: more than %d redirects (last to `%.200s`)", x->what, MAX_REDIRECTS,
                                 x->r_location);
                        xfer_fail(x, e);
                        return;
                }
                if (cnr_reg_redirect_target(x->url, x->r_location, &to, &e) < 0) {
                        cnr_err_wrap(&e, "%s", x->what);
                        xfer_fail(x, e);
                        return;
                }
                if (x->status == 303 && strcmp(x->method, "HEAD") != 0)
                        x->method = "GET";
                free(x->url);
                x->url = to;
                /* Only the endpoint's own origin gets credentials. */
                x->anon = !cnr_reg_same_origin(to, x->basic_realm_auth ? x->url0 : origin_base(x));
                xfer_start(x);
                return;
        }
        if (x->status == 401 && !x->anon && x->basic_realm_auth == NULL && x->auth_rounds < MAX_AUTH_ROUNDS &&
            x->r_wwwauth) {
                struct cnr_reg_challenge ch;
                struct endpoint *ep = &s->eps[x->ep];

                if (cnr_reg_parse_challenge(x->r_wwwauth, &ch, &e) < 0) {
                        cnr_err_wrap(&e, "%s", x->what);
                        endpoint_fail(x, e);
                        return;
                }
                x->auth_rounds++;
                if (strcmp(ch.scheme, "basic") == 0) {
                        cnr_reg_challenge_clear(&ch);
                        if (!ep->creds || s->user == NULL || x->sent_basic) {
                                e = status_error(x);
                                if (s->user == NULL && ep->creds)
                                        cnr_err_wrap(&e, "no credentials for %s (containr login %s)", s->domain,
                                                     s->domain);
                                endpoint_fail(x, e);
                                return;
                        }
                        s->basic = true;
                        xfer_start(x);
                        return;
                }
                free(x->scope);
                x->scope = xstrdup(ch.scope ? ch.scope : "");
                if (x->auth_rounds > 1 && token_for(s, ep->base, x->scope)) {
                        /* a fresh token for this scope was refused too */
                        cnr_reg_challenge_clear(&ch);
                        endpoint_fail(x, status_error(x));
                        return;
                }
                start_token(x, &ch);
                cnr_reg_challenge_clear(&ch);
                return;
        }
        if (x->status >= 200 && x->status < 300) {
                xfer_succeed(x);
                return;
        }
        if ((x->status == 429 || x->status >= 500) && (x->idempotent || strcmp(x->method, "POST") == 0) &&
            x->attempt + 1 < MAX_ATTEMPTS) {
                _cleanup_free_ char *why = xasprintf("HTTP %ld", x->status);
                retry_later(x, why);
                return;
        }
        endpoint_fail(x, status_error(x));
}

static void
check_done(struct cnr_reg *r)
{
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(r->multi, &left)) != NULL) {
                struct xfer *x = NULL;

                if (m->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                if (x)
                        xfer_finished(x, m->data.result);
        }
}

void
cnr_reg_free(struct cnr_reg *r)
{
        struct cnr_reg_sess *s;

        if (r == NULL)
                return;
        while ((s = LIST_FIRST(&r->sessions)) != NULL)
                cnr_reg_sess_free(s);
        curl_multi_cleanup(r->multi);
        event_free(r->timer);
        free(r);
        curl_global_cleanup();
}

/* ---- tokens -------------------------------------------------------------- */

static char *
url_escape(const char *s)
{
        char *e = curl_easy_escape(NULL, s, 0);
        char *r = xstrdup(e ? e : "");

        curl_free(e);
        return r;
}

static void
on_token(struct xfer *t, struct cnr_err *err)
{
        struct xfer *x = t->parent;
        struct cnr_reg_sess *s = x->s;
        json_t *doc;
        const char *tok;
        struct cnr_err *e = NULL;

        if (err) {
                if (t->status == 401 || t->status == 403)
                        cnr_errf(&e, EACCES, "%s: unauthorized: the token service refused %s", x->what,
                                 s->user ? "the credentials" : "anonymous access");
                else {
                        e = err;
                        err = NULL;
                        cnr_err_wrap(&e, "%s: token", x->what);
                }
                cnr_err_free(&err);
                xfer_free(t);
                endpoint_fail(x, e);
                return;
        }
        doc = json_loadb(t->body ? t->body : "", t->blen, 0, NULL);
        tok = json_string_value(json_object_get(doc, "token"));
        if (tok == NULL || *tok == '\0')
                tok = json_string_value(json_object_get(doc, "access_token"));
        if (tok == NULL || *tok == '\0' || strpbrk(tok, "\r\n") != NULL) {
                json_decref(doc);
                if (t->body)
                        explicit_bzero(t->body, t->blen);
                xfer_free(t);
                cnr_errf(&e, EBADMSG, "%s: the token service answered without a usable token", x->what);
                endpoint_fail(x, e);
                return;
        }
        token_set(s, s->eps[x->ep].base, x->scope, xstrdup(tok));
        json_decref(doc);
        explicit_bzero(t->body, t->blen);
        xfer_free(t);
        xfer_start(x);
}

static void
start_token(struct xfer *x, const struct cnr_reg_challenge *ch)
{
        struct cnr_reg_sess *s = x->s;
        struct endpoint *ep = &s->eps[x->ep];
        struct xfer *t;
        _cleanup_free_ char *svc = url_escape(ch->service ? ch->service : "");
        _cleanup_free_ char *sc = url_escape(x->scope);
        char *scheme = NULL, *host = NULL, *port = NULL;
        bool creds_ok;

        t = xfer_new(s, "GET", NULL, on_token, NULL);
        t->parent = x;
        t->what = xasprintf("token from `%.200s`", ch->realm);
        t->url0 = xasprintf("%s%sservice=%s%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?", svc,
                            x->scope[0] ? "&scope=" : "", sc);
        t->max = TOKEN_BODY_MAX;
        t->ep = x->ep;
        /* Credentials go to the realm when the registry itself (an endpoint
         * that may have them, not a redirect target) asked, and the realm
         * is on the registry's origin or reached over https. */
        creds_ok = ep->creds && s->user != NULL && url_parts(ch->realm, &scheme, &host, &port) == 0 &&
                   (cnr_reg_same_origin(ch->realm, ep->base) || strcasecmp(scheme, "https") == 0);
        if (scheme) {
                curl_free(scheme);
                curl_free(host);
                curl_free(port);
        }
        if (creds_ok)
                t->basic_realm_auth = basic_header(s->user, s->pass);
        else
                t->basic_realm_auth = xstrdup("X-Containr-Anonymous: 1");
        t->url = xstrdup(t->url0);
        t->anon = false;
        {
                char *to = NULL;
                struct cnr_err *e = NULL;

                /* the realm must be http(s); plain http only for an insecure host */
                if (cnr_reg_redirect_target(ep->base, ch->realm, &to, &e) < 0) {
                        cnr_err_wrap(&e, "%s: token realm", x->what);
                        xfer_free(t);
                        endpoint_fail(x, e);
                        return;
                }
                free(to);
        }
        xfer_start(t);
}

/* ---- deferred completion ------------------------------------------------- */

static void
later_free(struct later *l)
{
        if (l->linked)
                LIST_REMOVE(l, entry);
        event_free(l->ev);
        free(l);
}

static void
on_later(evutil_socket_t fd, short what, void *arg)
{
        struct later *l = arg;
        void (*fn)(void *) = l->fn;
        void *a = l->arg;

        later_free(l);
        fn(a);
}

static void
run_later(struct cnr_reg *r, struct cnr_reg_sess *s, void (*fn)(void *), void (*drop)(void *), void *arg)
{
        struct later *l = xcalloc(1, sizeof(*l));
        struct timeval tv = {0, 0};

        l->fn = fn;
        l->drop = drop;
        l->arg = arg;
        l->ev = evtimer_new(r->base, on_later, l);
        if (s) {
                LIST_INSERT_HEAD(&s->laters, l, entry);
                l->linked = true;
        }
        evtimer_add(l->ev, &tv);
}

/* ---- check auth ---------------------------------------------------------- */

struct simple {
        cnr_reg_done_cb cb;
        void *arg;
};

static void
on_simple(struct xfer *x, struct cnr_err *err)
{
        struct simple *sp = x->arg;

        xfer_free(x);
        sp->cb(err, sp->arg);
        cnr_err_free(&err);
        free(sp);
}

void
cnr_reg_check_auth(struct cnr_reg_sess *s, cnr_reg_done_cb cb, void *arg)
{
        struct simple *sp = xcalloc(1, sizeof(*sp));
        struct xfer *x;

        sp->cb = cb;
        sp->arg = arg;
        x = xfer_new(s, "GET", "/v2/", on_simple, sp);
        x->drop = free;
        free(x->scope);
        x->scope = xstrdup("");
        x->what = xasprintf("log in to %s", s->domain);
        xfer_start(x);
}

/* ---- manifests ----------------------------------------------------------- */

struct mreq {
        cnr_reg_manifest_cb cb;
        void *arg;
        bool by_digest;
        struct cnr_digest want;
};

static void
on_manifest(struct xfer *x, struct cnr_err *err)
{
        struct mreq *mr = x->arg;
        struct cnr_reg_manifest m = {0};
        struct cnr_err *e = err;
        enum cnr_digest_alg alg = mr->by_digest ? mr->want.alg : CNR_DIGEST_SHA256;

        if (e == NULL) {
                struct cnr_digest hdr;
                struct cnr_err *pe = NULL;

                cnr_digest_buf(alg, x->body ? x->body : "", x->blen, &m.digest);
                if (mr->by_digest && !cnr_digest_equal(&m.digest, &mr->want)) {
                        cnr_errf(&e, EBADMSG, "%s: digest mismatch (want %s, got %s)", x->what, mr->want.str,
                                 m.digest.str);
                } else if (x->r_dcd && *x->r_dcd) {
                        if (cnr_digest_parse(x->r_dcd, &hdr, &pe) < 0) {
                                cnr_errf(&e, EBADMSG, "%s: bad Docker-Content-Digest header: %s", x->what,
                                         cnr_err_str(pe));
                                cnr_err_free(&pe);
                        } else {
                                struct cnr_digest mine;
                                cnr_digest_buf(hdr.alg, x->body ? x->body : "", x->blen, &mine);
                                if (!cnr_digest_equal(&mine, &hdr))
                                        cnr_errf(&e, EBADMSG,
                                                 "%s: digest mismatch (Docker-Content-Digest says %s, the bytes "
                                                 "hash to %s)",
                                                 x->what, hdr.str, mine.str);
                        }
                }
                if (e == NULL && x->blen == 0)
                        cnr_errf(&e, EBADMSG, "%s: empty answer", x->what);
        }
        if (e == NULL) {
                m.body = steal_ptr(&x->body);
                m.len = x->blen;
                m.media_type = xstrdup(x->r_ctype ? x->r_ctype : "");
                /* drop parameters ("; charset=utf-8") */
                m.media_type[strcspn(m.media_type, "; ")] = '\0';
        }
        xfer_free(x);
        mr->cb(e ? NULL : &m, e, mr->arg);
        free(m.body);
        free(m.media_type);
        cnr_err_free(&e);
        free(mr);
}

struct mfail {
        struct mreq *mr;
        struct cnr_err *err;
};

static void
on_manifest_fail(void *arg)
{
        struct mfail *mf = arg;

        mf->mr->cb(NULL, mf->err, mf->mr->arg);
        cnr_err_free(&mf->err);
        free(mf->mr);
        free(mf);
}

static void
drop_manifest_fail(void *arg)
{
        struct mfail *mf = arg;

        cnr_err_free(&mf->err);
        free(mf->mr);
        free(mf);
}

void
cnr_reg_get_manifest(struct cnr_reg_sess *s, const char *reference, cnr_reg_manifest_cb cb, void *arg)
{
        struct mreq *mr = xcalloc(1, sizeof(*mr));
        _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", s->repo, reference);
        struct cnr_err *e = NULL;
        struct xfer *x;

        mr->cb = cb;
        mr->arg = arg;
        if (strchr(reference, ':') != NULL) {
                if (cnr_digest_parse(reference, &mr->want, &e) < 0) {
                        /* refused before any network use */
                        struct mfail *mf = xcalloc(1, sizeof(*mf));
                        cnr_err_wrap(&e, "manifest of %s/%s", s->domain, s->repo);
                        mf->mr = mr;
                        mf->err = e;
                        run_later(s->r, s, on_manifest_fail, drop_manifest_fail, mf);
                        return;
                }
                mr->by_digest = true;
        }
        x = xfer_new(s, "GET", path, on_manifest, mr);
        x->drop = free;
        x->what = xasprintf("manifest `%s` of %s/%s", reference, s->domain, s->repo);
        x->accept = CNR_MANIFEST_ACCEPT;
        x->max = CNR_MANIFEST_MAX;
        x->mirrorable = true;
        x->ep = s->first_ep;
        xfer_start(x);
}

/* ---- blobs: download, shared by every asker ------------------------------ */

struct waiter {
        struct cnr_reg_sess *sess;
        cnr_reg_progress_cb progress;
        cnr_reg_done_cb cb;
        void *arg;
};

struct fetch {
        LIST_ENTRY(fetch) entry;
        struct cnr_reg *r;
        struct cnr_digest d;
        int64_t size;
        struct waiter *w;
        size_t nw;
        struct cnr_err *err; /* for the deferred paths */
};

static void
fetch_finish(struct fetch *f, struct cnr_err *err)
{
        LIST_REMOVE(f, entry);
        for (size_t i = 0; i < f->nw; i++)
                f->w[i].cb(err, f->w[i].arg);
        cnr_err_free(&err);
        free(f->w);
        free(f);
}

static void
fetch_progress(uint64_t done, uint64_t total, void *arg)
{
        struct fetch *f = arg;

        for (size_t i = 0; i < f->nw; i++)
                if (f->w[i].progress)
                        f->w[i].progress(done, total, f->w[i].arg);
}

static void
on_blob(struct xfer *x, struct cnr_err *err)
{
        struct fetch *f = x->arg;
        struct cnr_digest got;

        if (err == NULL) {
                struct cnr_ingest *in = steal_ptr(&x->ingest);
                if (in == NULL && f->size == 0)
                        in = cnr_ingest_begin(x->s->r->content, &f->d, 0, &err);
                if (in == NULL && err == NULL)
                        cnr_errf(&err, EBADMSG, "%s: the registry sent no bytes", x->what);
                else if (in != NULL && cnr_ingest_commit(in, &got, &err) < 0) {
                        cnr_err_wrap(&err, "%s", x->what);
                        err->code = EBADMSG;
                }
        }
        xfer_free(x);
        fetch_finish(f, err);
}

static void
fetch_start(struct fetch *f, struct cnr_reg_sess *s)
{
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", s->repo, f->d.str);
        struct xfer *x = xfer_new(s, "GET", path, on_blob, f);

        x->what = xasprintf("blob %s of %s/%s", f->d.str, s->domain, s->repo);
        x->sink = SINK_INGEST;
        x->want = f->d;
        x->want_size = f->size;
        x->progress = fetch_progress;
        x->parg = f;
        x->mirrorable = true;
        x->ep = s->first_ep;
        xfer_start(x);
}

static void
fetch_detach(struct cnr_reg_sess *s)
{
        struct fetch *f;
        struct xfer *x;
        bool again = true;

        LIST_FOREACH(f, &s->r->fetches, entry) {
                size_t k = 0;
                for (size_t i = 0; i < f->nw; i++)
                        if (f->w[i].sess != s)
                                f->w[k++] = f->w[i];
                f->nw = k;
        }
        while (again) {
                again = false;
                LIST_FOREACH(x, &s->xfers, entry) {
                        if (x->done != on_blob)
                                continue;
                        f = x->arg;
                        xfer_free(x);
                        if (f->nw > 0) {
                                log_debug("registry: blob %s: download moves to another pull", f->d.str);
                                fetch_start(f, f->w[0].sess);
                        } else {
                                LIST_REMOVE(f, entry);
                                free(f->w);
                                free(f);
                        }
                        again = true;
                        break;
                }
        }
}

static void
fetch_present(void *arg)
{
        struct fetch *f = arg;

        fetch_finish(f, steal_ptr(&f->err));
}

void
cnr_reg_fetch_blob(struct cnr_reg_sess *s, const struct cnr_digest *d, int64_t size, cnr_reg_progress_cb progress,
                   cnr_reg_done_cb cb, void *arg)
{
        struct cnr_reg *r = s->r;
        struct fetch *f;
        uint64_t have;
        struct cnr_err *e = NULL;

        LIST_FOREACH(f, &r->fetches, entry)
                if (cnr_digest_equal(&f->d, d) && f->size == size) {
                        f->w = xrealloc(f->w, (f->nw + 1) * sizeof(*f->w));
                        f->w[f->nw++] = (struct waiter){s, progress, cb, arg};
                        return;
                }
        f = xcalloc(1, sizeof(*f));
        f->r = r;
        f->d = *d;
        f->size = size;
        f->w = xcalloc(1, sizeof(*f->w));
        f->w[0] = (struct waiter){s, progress, cb, arg};
        f->nw = 1;
        LIST_INSERT_HEAD(&r->fetches, f, entry);
        if (cnr_content_stat(r->content, d, &have, &e) == 0) {
                if (size >= 0 && have != (uint64_t)size)
                        cnr_errf(&f->err, EBADMSG, "blob %s: the store has %llu bytes, the manifest says %lld",
                                 d->str, (unsigned long long)have, (long long)size);
                run_later(r, NULL, fetch_present, NULL, f);
                return;
        }
        cnr_err_free(&e);
        fetch_start(f, s);
}

/* ---- push ---------------------------------------------------------------- */

struct ereq {
        cnr_reg_exists_cb cb;
        void *arg;
};

static void
on_exists(struct xfer *x, struct cnr_err *err)
{
        struct ereq *er = x->arg;
        bool exists = err == NULL;

        if (err && err->code == ENOENT && x->status == 404)
                cnr_err_free(&err);
        xfer_free(x);
        er->cb(exists, err, er->arg);
        cnr_err_free(&err);
        free(er);
}

void
cnr_reg_blob_exists(struct cnr_reg_sess *s, const struct cnr_digest *d, cnr_reg_exists_cb cb, void *arg)
{
        struct ereq *er = xcalloc(1, sizeof(*er));
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", s->repo, d->str);
        struct xfer *x;

        er->cb = cb;
        er->arg = arg;
        x = xfer_new(s, "HEAD", path, on_exists, er);
        x->drop = free;
        x->what = xasprintf("blob %s of %s/%s", d->str, s->domain, s->repo);
        x->sink = SINK_NONE;
        xfer_start(x);
}

struct upload {
        struct cnr_reg_sess *s;
        struct cnr_digest d;
        int64_t size;
        int fd;
        uint64_t off; /* bytes the registry has */
        char *location;
        char *what;
        cnr_reg_progress_cb progress;
        cnr_reg_exists_cb cb;
        void *arg;
        bool mounted;
};

static void
upload_done(struct upload *u, struct cnr_err *err)
{
        if (u->fd >= 0)
                close(u->fd);
        u->cb(u->mounted, err, u->arg);
        cnr_err_free(&err);
        free(u->location);
        free(u->what);
        free(u);
}

static void
upload_drop(void *arg)
{
        struct upload *u = arg;

        if (u->fd >= 0)
                close(u->fd);
        free(u->location);
        free(u->what);
        free(u);
}

static void
upload_progress(uint64_t done, uint64_t total, void *arg)
{
        struct upload *u = arg;

        if (u->progress)
                u->progress(done, (uint64_t)u->size, u->arg);
}

/* The absolute URL of a Location header (relative ones resolve against the
 * request that returned it). */
static int
take_location(struct upload *u, struct xfer *x, struct cnr_err **err)
{
        char *to = NULL;

        if (x->r_location == NULL || *x->r_location == '\0')
                return cnr_errf(err, EBADMSG, "%s: the registry answered HTTP %ld without a Location", u->what,
                                x->status);
        if (cnr_reg_redirect_target(x->url, x->r_location, &to, err) < 0)
                return cnr_err_wrap(err, "%s: upload location", u->what);
        free(u->location);
        u->location = to;
        return 0;
}

static void upload_next(struct upload *u);

static void
on_upload_step(struct xfer *x, struct cnr_err *err)
{
        struct upload *u = x->arg;
        long status = x->status;
        const char *method = x->method;
        bool final = strcmp(method, "PUT") == 0;
        bool mounted = strcmp(method, "POST") == 0 && status == 201;

        if (err == NULL && !final && !mounted && take_location(u, x, &err) < 0) {
                xfer_free(x);
                upload_done(u, err);
                return;
        }
        if (err == NULL && strcmp(method, "PATCH") == 0)
                u->off += x->up_len;
        xfer_free(x);
        if (err != NULL || final || mounted) {
                u->mounted = err == NULL && mounted;
                if (err == NULL && mounted)
                        log_debug("registry: %s: mounted from another repository", u->what);
                upload_done(u, err);
                return;
        }
        upload_next(u);
}

static struct xfer *
upload_xfer(struct upload *u, const char *method, const char *url)
{
        struct xfer *x = xfer_new(u->s, method, NULL, on_upload_step, u);

        x->drop = upload_drop;

        x->what = xstrdup(u->what);
        x->url0 = xstrdup(url);
        x->url = xstrdup(url);
        x->anon = !cnr_reg_same_origin(url, origin_base(x));
        x->progress = upload_progress;
        x->parg = u;
        x->want_size = u->size;
        return x;
}

/* After POST: PUT the whole blob, or PATCH the next chunk, or PUT to close. */
static void
upload_next(struct upload *u)
{
        uint64_t left = (uint64_t)u->size - u->off;
        struct xfer *x;

        if (u->size <= (int64_t)CNR_REG_CHUNK || left == 0) {
                _cleanup_free_ char *url = xasprintf("%s%sdigest=%s", u->location,
                                                     strchr(u->location, '?') ? "&" : "?", u->d.str);
                x = upload_xfer(u, "PUT", url);
                x->ctype = "application/octet-stream";
                x->upload = left > 0;
                x->up_fd = left > 0 ? fcntl(u->fd, F_DUPFD_CLOEXEC, 3) : -1;
                x->up_off = u->off;
                x->up_len = left;
                x->idempotent = false;
        } else {
                uint64_t n = left > CNR_REG_CHUNK ? CNR_REG_CHUNK : left;

                x = upload_xfer(u, "PATCH", u->location);
                x->ctype = "application/octet-stream";
                x->upload = true;
                x->up_fd = fcntl(u->fd, F_DUPFD_CLOEXEC, 3);
                x->up_off = u->off;
                x->up_len = n;
                x->idempotent = false;
                x->extra_hdr = xasprintf("Content-Range: %llu-%llu", (unsigned long long)u->off,
                                         (unsigned long long)(u->off + n - 1));
                free(x->what);
                x->what = xasprintf("%s (bytes %llu-%llu)", u->what, (unsigned long long)u->off,
                                    (unsigned long long)(u->off + n - 1));
        }
        if (x->up_fd < 0 && x->upload) {
                struct cnr_err *e = NULL;
                cnr_errf(&e, errno, "%s: dup", u->what);
                xfer_free(x);
                upload_done(u, e);
                return;
        }
        xfer_start(x);
}

struct deferred_pushfail {
        cnr_reg_exists_cb cb;
        void *arg;
        struct cnr_err *err;
};

static void
on_deferred_pushfail(void *arg)
{
        struct deferred_pushfail *df = arg;

        df->cb(false, df->err, df->arg);
        cnr_err_free(&df->err);
        free(df);
}

static void
drop_deferred_pushfail(void *arg)
{
        struct deferred_pushfail *df = arg;

        cnr_err_free(&df->err);
        free(df);
}

void
cnr_reg_push_blob(struct cnr_reg_sess *s, const struct cnr_digest *d, int64_t size, const char *mount_from,
                  cnr_reg_progress_cb progress, cnr_reg_exists_cb cb, void *arg)
{
        struct upload *u = xcalloc(1, sizeof(*u));
        struct cnr_err *e = NULL;
        _cleanup_free_ char *path = NULL;
        struct xfer *x;

        u->s = s;
        u->d = *d;
        u->size = size;
        u->progress = progress;
        u->cb = cb;
        u->arg = arg;
        u->what = xasprintf("upload of blob %s to %s/%s", d->str, s->domain, s->repo);
        u->fd = cnr_content_open_blob(s->r->content, d, &e);
        if (u->fd < 0) {
                cnr_err_wrap(&e, "%s", u->what);
                struct deferred_pushfail *df = xcalloc(1, sizeof(*df));
                free(u->what);
                free(u);
                df->cb = cb;
                df->arg = arg;
                df->err = e;
                run_later(s->r, s, on_deferred_pushfail, drop_deferred_pushfail, df);
                return;
        }
        if (mount_from && strcmp(mount_from, s->repo) != 0) {
                _cleanup_free_ char *from = url_escape(mount_from);
                path = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", s->repo, d->str, from);
        } else {
                path = xasprintf("/v2/%s/blobs/uploads/", s->repo);
        }
        x = xfer_new(s, "POST", path, on_upload_step, u);
        x->drop = upload_drop;
        x->what = xstrdup(u->what);
        xfer_start(x);
}

void
cnr_reg_put_manifest(struct cnr_reg_sess *s, const char *reference, const void *buf, size_t len,
                     const char *media_type, cnr_reg_done_cb cb, void *arg)
{
        struct simple *sp = xcalloc(1, sizeof(*sp));
        _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", s->repo, reference);
        struct xfer *x;

        sp->cb = cb;
        sp->arg = arg;
        x = xfer_new(s, "PUT", path, on_simple, sp);
        x->drop = free;
        x->what = xasprintf("manifest `%s` to %s/%s", reference, s->domain, s->repo);
        x->up_copy = xmalloc(len + strlen(media_type) + 1);
        memcpy(x->up_copy, buf, len);
        memcpy(x->up_copy + len, media_type, strlen(media_type) + 1);
        x->ctype = x->up_copy + len;
        x->upload = true;
        x->up_buf = x->up_copy;
        x->up_len = len;
        x->idempotent = true;
        xfer_start(x);
}
