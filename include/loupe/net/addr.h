/* Which network addresses an outbound request may reach: the classifier of
 * the SSRF guard and the operator's allow-list (setting net_allow).
 *
 * Pure code (no I/O): every refused address form is unit-tested. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d), an IPv4-compatible one and the
 * NAT64 and 6to4 forms are judged by the IPv4 address they carry. */
#ifndef LOUPE_NET_ADDR_H
#define LOUPE_NET_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loupe/core/error.h"

typedef enum lp_net_class {
    LP_NET_PUBLIC = 0,
    LP_NET_LOOPBACK,    /* 127/8, ::1 */
    LP_NET_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10 */
    LP_NET_LINK_LOCAL,  /* 169.254/16, fe80::/10 */
    LP_NET_CGNAT,       /* 100.64/10 (shared address space) */
    LP_NET_MULTICAST,   /* 224/4, ff00::/8 */
    LP_NET_UNSPECIFIED, /* 0/8, :: */
    LP_NET_RESERVED,    /* documentation, benchmarking, IETF, 240/4, broadcast, 100::/64, 2001::/23, 2001:db8::/32 */
    LP_NET_METADATA     /* cloud instance metadata: 169.254.169.254, 169.254.170.2, 100.100.100.200, fd00:ec2::254 */
} lp_net_class;

/* "loopback", "private", … ("public" for LP_NET_PUBLIC). */
const char *lp_net_class_name(lp_net_class c);

/* An address in network byte order: 4 bytes (AF_INET) or 16 (AF_INET6). */
typedef struct lp_net_ip {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t b[16];
} lp_net_ip;

/* From a socket address (AF_INET or AF_INET6); an IPv4-mapped IPv6 address
 * becomes its IPv4 address. -1 for any other family. */
int lp_net_ip_from_sockaddr(const struct sockaddr *sa, lp_net_ip *out);

/* From the text of an address literal: dotted IPv4 (only the four-part
 * decimal form) or IPv6 (brackets allowed). -1 otherwise. */
int lp_net_ip_parse(const char *text, lp_net_ip *out);

/* The address as text ("127.0.0.1", "::1") into out (at least 46 bytes). */
void lp_net_ip_format(const lp_net_ip *ip, char *out, size_t cap);

lp_net_class lp_net_classify(const lp_net_ip *ip);

#define LP_NET_ALLOW_MAX 64

/* The networks the operator allows although they are not public. */
typedef struct lp_net_allowlist {
    size_t n;
    struct {
        lp_net_ip net;
        int prefix;
    } e[LP_NET_ALLOW_MAX];
} lp_net_allowlist;

/* Parses comma-separated CIDRs ("127.0.0.2/32, ::1/128"; a bare address is
 * one host) into out. Empty text = empty list. -1 with a field error on
 * "net_allow" naming the bad entry. */
int lp_net_allowlist_parse(const char *text, lp_net_allowlist *out, lp_error *err);

/* 1 if ip lies in one of list's networks (list may be NULL). */
int lp_net_allowlist_contains(const lp_net_allowlist *list, const lp_net_ip *ip);

/* 0 if a connection to ip is allowed: a public address, or one in list.
 * Else -1 with err (LP_E_FORBIDDEN) "address 127.0.0.1 is not allowed
 * (loopback)". */
int lp_net_ip_check(const lp_net_allowlist *list, const lp_net_ip *ip, lp_error *err);

#endif
