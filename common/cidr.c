/* IPv4 and IPv6 prefixes: see cidr.h. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/cidr.h"
#include "common/util.h"

uint32_t
cnr_cidr4_mask(unsigned len)
{
        return len == 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
}

int
cnr_cidr4_parse(const char *s, bool strict, struct cnr_cidr4 *out)
{
        const char *slash = strchr(s, '/');
        char ip[INET_ADDRSTRLEN];
        unsigned long long len;
        struct in_addr a;
        uint32_t h;

        if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
                return -1;
        memcpy(ip, s, (size_t)(slash - s));
        ip[slash - s] = '\0';
        if (inet_pton(AF_INET, ip, &a) != 1 || cnr_parse_uint(slash + 1, 32, &len) < 0)
                return -1;
        h = ntohl(a.s_addr);
        if (strict && (h & ~cnr_cidr4_mask((unsigned)len)) != 0)
                return -1;
        out->addr = h & cnr_cidr4_mask((unsigned)len);
        out->len = (unsigned)len;
        return 0;
}

char *
cnr_ip4_format(uint32_t a, char *buf, size_t n)
{
        snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
        return buf;
}

char *
cnr_cidr4_format(const struct cnr_cidr4 *c, char *buf, size_t n)
{
        char ip[INET_ADDRSTRLEN];

        snprintf(buf, n, "%s/%u", cnr_ip4_format(c->addr, ip, sizeof(ip)), c->len);
        return buf;
}

bool
cnr_cidr4_overlap(const struct cnr_cidr4 *a, const struct cnr_cidr4 *b)
{
        unsigned len = a->len < b->len ? a->len : b->len;
        uint32_t m = cnr_cidr4_mask(len);

        return (a->addr & m) == (b->addr & m);
}

/* Keep the first len bits of a, zero the rest. */
static void
mask6(uint8_t a[16], unsigned len)
{
        for (unsigned i = 0; i < 16; i++) {
                unsigned bits = len > i * 8 ? len - i * 8 : 0;

                if (bits < 8)
                        a[i] &= (uint8_t)(bits == 0 ? 0 : 0xff << (8 - bits));
        }
}

int
cnr_cidr6_parse(const char *s, bool strict, struct cnr_cidr6 *out)
{
        const char *slash = strchr(s, '/');
        char ip[INET6_ADDRSTRLEN];
        unsigned long long len;
        uint8_t a[16], m[16];

        if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
                return -1;
        memcpy(ip, s, (size_t)(slash - s));
        ip[slash - s] = '\0';
        if (inet_pton(AF_INET6, ip, a) != 1 || cnr_parse_uint(slash + 1, 128, &len) < 0)
                return -1;
        memcpy(m, a, 16);
        mask6(m, (unsigned)len);
        if (strict && memcmp(m, a, 16) != 0)
                return -1;
        memcpy(out->addr, m, 16);
        out->len = (unsigned)len;
        return 0;
}

char *
cnr_cidr6_format(const struct cnr_cidr6 *c, char *buf, size_t n)
{
        char ip[INET6_ADDRSTRLEN];

        if (inet_ntop(AF_INET6, c->addr, ip, sizeof(ip)) == NULL)
                snprintf(ip, sizeof(ip), "::");
        snprintf(buf, n, "%s/%u", ip, c->len);
        return buf;
}

bool
cnr_cidr6_contains(const struct cnr_cidr6 *c, const uint8_t a[16])
{
        uint8_t m[16];

        memcpy(m, a, 16);
        mask6(m, c->len);
        return memcmp(m, c->addr, 16) == 0;
}

bool
cnr_cidr6_overlap(const struct cnr_cidr6 *a, const struct cnr_cidr6 *b)
{
        return a->len <= b->len ? cnr_cidr6_contains(a, b->addr) : cnr_cidr6_contains(b, a->addr);
}
