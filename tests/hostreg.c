/* hostreg: a hostile registry for the registry client's tests.
 *
 *     hostreg LOGFILE STATEDIR
 *
 * Listens on 127.0.0.1 and 127.0.0.2 (the "other host" of redirects and
 * token realms), both on ephemeral ports, prints "PORT1 PORT2\n" and
 * serves, one forked child per connection.  Host 1 wants Basic u:p on
 * every request (else 401 Basic).  The repository name picks the
 * misbehaviour; every request is logged as "host method path auth=yes|no".
 *
 *   good        a valid one-layer image (an uncompressed tar)
 *   baddigest   the layer's bytes differ (same size)
 *   short       the manifest says one byte more than the layer has
 *   long        the manifest says one byte less
 *   truncated   Content-Length is right, the body stops halfway, then EOF
 *   stall       half the layer, then silence for 120 s
 *   flaky       the layer answers 503 twice, then works
 *   bigmanifest a manifest over 4 MiB
 *   both        a manifest with both `layers` and `manifests`
 *   redirect    the layer redirects to host 2 (which serves it)
 *   loop        the manifest redirects to itself forever
 *   bearer      Bearer auth with its realm on host 2 over http
 *   baddcd      the manifest's Docker-Content-Digest header lies
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/util.h"

#define LAYER_DATA (64 * 1024)

static char layer[LAYER_DATA + 2048];
static size_t layer_len;
static char config[1024];
static const char *logpath, *statedir;
static int port2;

static void
octal(char *dst, size_t n, unsigned long long v)
{
        snprintf(dst, n, "%0*llo", (int)n - 1, v);
}

/* One regular file "hello" in a ustar archive, then the two zero blocks. */
static void
make_layer(void)
{
        char *h = layer;
        unsigned sum = 0;

        memset(layer, 0, sizeof(layer));
        memcpy(h, "hello", 5);
        octal(h + 100, 8, 0644);
        octal(h + 108, 8, 0);
        octal(h + 116, 8, 0);
        octal(h + 124, 12, LAYER_DATA);
        octal(h + 136, 12, 0);
        memset(h + 148, ' ', 8);
        h[156] = '0';
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        for (int i = 0; i < 512; i++)
                sum += (unsigned char)h[i];
        snprintf(h + 148, 8, "%06o", sum);
        for (size_t i = 0; i < LAYER_DATA; i++)
                layer[512 + i] = (char)('a' + i % 26);
        layer_len = 512 + LAYER_DATA + 1024;
}

static void
logline(const char *host, const char *method, const char *path, bool auth)
{
        FILE *f = fopen(logpath, "ae");

        if (f) {
                fprintf(f, "%s %s %s auth=%s\n", host, method, path, auth ? "yes" : "no");
                fclose(f);
        }
}

static int
bump(const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", statedir, name);
        FILE *f = fopen(p, "re");
        int n = 0;

        if (f) {
                if (fscanf(f, "%d", &n) != 1)
                        n = 0;
                fclose(f);
        }
        f = fopen(p, "we");
        if (f) {
                fprintf(f, "%d\n", n + 1);
                fclose(f);
        }
        return n;
}

static void
send_all(int fd, const void *buf, size_t n)
{
        (void)cnr_write_all(fd, buf, n);
}

static void
respond(int fd, int status, const char *reason, const char *extra, const void *body, size_t len, size_t clen)
{
        char hdr[2048];
        int n = snprintf(hdr, sizeof(hdr),
                         "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status, reason,
                         clen, extra ? extra : "");

        send_all(fd, hdr, (size_t)n);
        if (body && len)
                send_all(fd, body, len);
}

static void
not_found(int fd)
{
        static const char b[] = "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"no such thing\"}]}";
        respond(fd, 404, "Not Found", "Content-Type: application/json\r\n", b, sizeof(b) - 1, sizeof(b) - 1);
}

static char *
manifest_for(const char *repo, size_t *len)
{
        struct cnr_digest cd, ld;
        long long lsize = (long long)layer_len;

        cnr_digest_buf(CNR_DIGEST_SHA256, config, strlen(config), &cd);
        cnr_digest_buf(CNR_DIGEST_SHA256, layer, layer_len, &ld);
        if (strcmp(repo, "short") == 0)
                lsize++;
        if (strcmp(repo, "long") == 0)
                lsize--;
        if (strcmp(repo, "bigmanifest") == 0) {
                size_t n = (5u << 20);
                char *m = xmalloc(n + 1);
                int k = snprintf(m, n, "{\"schemaVersion\":2,\"annotations\":{\"pad\":\"");
                memset(m + k, 'x', n - (size_t)k - 3);
                memcpy(m + n - 3, "\"}}", 3);
                m[n] = '\0';
                *len = n;
                return m;
        }
        {
                char *m = xasprintf(
                        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
                        "\"size\":%zu},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                        "\"digest\":\"%s\",\"size\":%lld}]%s}",
                        cd.str, strlen(config), ld.str, lsize,
                        strcmp(repo, "both") == 0
                                ? ",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                                  "\"digest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
                                  "\"size\":1}]"
                                : "");
                *len = strlen(m);
                return m;
        }
}

static void
serve_blob(int fd, const char *repo, const char *digest)
{
        struct cnr_digest cd, ld;

        cnr_digest_buf(CNR_DIGEST_SHA256, config, strlen(config), &cd);
        cnr_digest_buf(CNR_DIGEST_SHA256, layer, layer_len, &ld);
        if (strcmp(digest, cd.str) == 0) {
                respond(fd, 200, "OK", "Content-Type: application/octet-stream\r\n", config, strlen(config),
                        strlen(config));
                return;
        }
        if (strcmp(digest, ld.str) != 0) {
                not_found(fd);
                return;
        }
        if (strcmp(repo, "baddigest") == 0) {
                char *copy = xmalloc(layer_len);
                memcpy(copy, layer, layer_len);
                copy[600] ^= 1;
                respond(fd, 200, "OK", NULL, copy, layer_len, layer_len);
                free(copy);
        } else if (strcmp(repo, "truncated") == 0) {
                respond(fd, 200, "OK", NULL, layer, layer_len / 2, layer_len);
        } else if (strcmp(repo, "stall") == 0) {
                respond(fd, 200, "OK", NULL, layer, layer_len / 2, layer_len);
                sleep(120);
        } else if (strcmp(repo, "flaky") == 0 && bump("flaky") < 2) {
                respond(fd, 503, "Service Unavailable", NULL, NULL, 0, 0);
        } else if (strcmp(repo, "redirect") == 0) {
                _cleanup_free_ char *loc =
                        xasprintf("Location: http://127.0.0.2:%d/storage/%s\r\n", port2, ld.str);
                respond(fd, 307, "Temporary Redirect", loc, NULL, 0, 0);
        } else {
                respond(fd, 200, "OK", "Content-Type: application/octet-stream\r\n", layer, layer_len, layer_len);
        }
}

static void
handle(int fd, int which)
{
        char req[16384];
        size_t n = 0;
        char method[16], path[4096];
        bool basic, bearer, any_auth;
        const char *host = which == 1 ? "host1" : "host2";
        char repo[64] = "", kind[16] = "", ref[256] = "";

        while (n < sizeof(req) - 1) {
                ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);
                if (r <= 0)
                        return;
                n += (size_t)r;
                req[n] = '\0';
                if (strstr(req, "\r\n\r\n"))
                        break;
        }
        if (sscanf(req, "%15s %4095s", method, path) != 2)
                return;
        any_auth = strcasestr(req, "\r\nAuthorization:") != NULL;
        basic = strstr(req, "Authorization: Basic dTpw\r\n") != NULL; /* u:p */
        bearer = strstr(req, "Authorization: Bearer tok-123\r\n") != NULL;
        logline(host, method, path, any_auth);

        if (which == 2) {
                if (strncmp(path, "/token", 6) == 0) {
                        static const char b[] = "{\"token\":\"tok-123\"}";
                        respond(fd, 200, "OK", "Content-Type: application/json\r\n", b, sizeof(b) - 1,
                                sizeof(b) - 1);
                } else if (strncmp(path, "/storage/", 9) == 0) {
                        respond(fd, 200, "OK", NULL, layer, layer_len, layer_len);
                } else {
                        not_found(fd);
                }
                return;
        }
        sscanf(path, "/v2/%63[^/]/%15[^/]/%255s", repo, kind, ref);
        if (strcmp(repo, "bearer") == 0) {
                if (!bearer) {
                        _cleanup_free_ char *ch = xasprintf(
                                "WWW-Authenticate: Bearer realm=\"http://127.0.0.2:%d/token\",service=\"hostreg\","
                                "scope=\"repository:bearer:pull\"\r\n",
                                port2);
                        respond(fd, 401, "Unauthorized", ch, NULL, 0, 0);
                        return;
                }
        } else if (!basic) {
                static const char b[] = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
                                        "required\"}]}";
                respond(fd, 401, "Unauthorized", "WWW-Authenticate: Basic realm=\"hostreg\"\r\n", b, sizeof(b) - 1,
                        sizeof(b) - 1);
                return;
        }
        if (strcmp(path, "/v2/") == 0) {
                respond(fd, 200, "OK", NULL, "{}", 2, 2);
                return;
        }
        if (strcmp(kind, "manifests") == 0) {
                size_t len;
                _cleanup_free_ char *m = NULL;
                struct cnr_digest md;
                char extra[4608];

                if (strcmp(repo, "loop") == 0) {
                        snprintf(extra, sizeof(extra), "Location: %s\r\n", path);
                        respond(fd, 302, "Found", extra, NULL, 0, 0);
                        return;
                }
                m = manifest_for(repo, &len);
                cnr_digest_buf(CNR_DIGEST_SHA256, m, len, &md);
                snprintf(extra, sizeof(extra),
                         "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: %s\r\n",
                         strcmp(repo, "baddcd") == 0
                                 ? "sha256:1111111111111111111111111111111111111111111111111111111111111111"
                                 : md.str);
                respond(fd, 200, "OK", extra, strcmp(method, "HEAD") == 0 ? NULL : m, len, len);
                return;
        }
        if (strcmp(kind, "blobs") == 0) {
                serve_blob(fd, repo, ref);
                return;
        }
        not_found(fd);
}

static int
listen_on(const char *addr, int *port)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t sl = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

        if (fd < 0)
                return -1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        inet_pton(AF_INET, addr, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
            getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
                close(fd);
                return -1;
        }
        *port = ntohs(sa.sin_port);
        return fd;
}

int
main(int argc, char **argv)
{
        struct pollfd p[2];
        int port1;

        if (argc != 3) {
                fprintf(stderr, "usage: hostreg LOGFILE STATEDIR\n");
                return 2;
        }
        logpath = argv[1];
        statedir = argv[2];
        signal(SIGCHLD, SIG_IGN); /* children reap themselves */
        make_layer();
        {
                struct cnr_digest ld;
                cnr_digest_buf(CNR_DIGEST_SHA256, layer, layer_len, &ld);
                snprintf(config, sizeof(config),
                         "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
                         "\"%s\"]}}",
                         ld.str);
        }
        p[0].fd = listen_on("127.0.0.1", &port1);
        p[1].fd = listen_on("127.0.0.2", &port2);
        if (p[0].fd < 0 || p[1].fd < 0) {
                perror("hostreg: listen");
                return 1;
        }
        p[0].events = p[1].events = POLLIN;
        printf("%d %d\n", port1, port2);
        fflush(stdout);
        for (;;) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                for (int i = 0; i < 2; i++) {
                        int c;
                        pid_t pid;

                        if (!(p[i].revents & POLLIN))
                                continue;
                        c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                continue;
                        pid = fork();
                        if (pid == 0) {
                                signal(SIGCHLD, SIG_DFL);
                                handle(c, i + 1);
                                shutdown(c, SHUT_WR);
                                close(c);
                                _exit(0);
                        }
                        close(c);
                }
        }
}
