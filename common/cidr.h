/* IPv4 prefixes ("10.88.0.0/24") as the network code and the config need
 * them: parse, format, overlap, and the addresses inside. */
#ifndef CNR_CIDR_H
#define CNR_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cnr_cidr4 {
        uint32_t addr; /* host byte order, host bits zero */
        unsigned len;  /* 0..32 */
};

/* "a.b.c.d/n" with the host bits zero (strict) or masked off (!strict).
 * 0, or -1 when it is not such a prefix. */
int cnr_cidr4_parse(const char *s, bool strict, struct cnr_cidr4 *out);
/* "a.b.c.d/n" into buf (at least 19 bytes). */
char *cnr_cidr4_format(const struct cnr_cidr4 *c, char *buf, size_t n);
/* An address (host order) as a.b.c.d. */
char *cnr_ip4_format(uint32_t a, char *buf, size_t n);
bool cnr_cidr4_overlap(const struct cnr_cidr4 *a, const struct cnr_cidr4 *b);
uint32_t cnr_cidr4_mask(unsigned len);

/* IPv6 prefixes ("fd12:3456:789a::/64"), for dual-stack networks. */
struct cnr_cidr6 {
        uint8_t addr[16]; /* network order, bits past len zero */
        unsigned len;     /* 0..128 */
};

/* An IPv6 address followed by /n; host bits must be zero when strict.
 * 0, or -1 when it is not such a prefix. */
int cnr_cidr6_parse(const char *s, bool strict, struct cnr_cidr6 *out);
/* The canonical text form "addr/n" into buf (at least 44 bytes). */
char *cnr_cidr6_format(const struct cnr_cidr6 *c, char *buf, size_t n);
bool cnr_cidr6_overlap(const struct cnr_cidr6 *a, const struct cnr_cidr6 *b);
/* Whether the address a (16 bytes) is in c. */
bool cnr_cidr6_contains(const struct cnr_cidr6 *c, const uint8_t a[16]);

#endif
