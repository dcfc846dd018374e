/* IPv4 prefixes: see cidr.h. */
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
