/* Address classes and the allow-list of the SSRF guard. See loupe/net/addr.h. */
#include "loupe/net/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"

const char *lp_net_class_name(lp_net_class c)
{
    static const char *const names[] = {
        [LP_NET_PUBLIC] = "public",           [LP_NET_LOOPBACK] = "loopback",
        [LP_NET_PRIVATE] = "private",         [LP_NET_LINK_LOCAL] = "link-local",
        [LP_NET_CGNAT] = "carrier-grade NAT", [LP_NET_MULTICAST] = "multicast",
        [LP_NET_UNSPECIFIED] = "unspecified", [LP_NET_RESERVED] = "reserved",
        [LP_NET_METADATA] = "cloud metadata",
    };
    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "unknown";
}

static void set_v4(lp_net_ip *ip, const uint8_t *b4)
{
    memset(ip, 0, sizeof(*ip));
    ip->family = AF_INET;
    memcpy(ip->b, b4, 4);
}

static int is_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i])
            return 0;
    }
    return 1;
}

/* ::ffff:a.b.c.d → a.b.c.d; any other address unchanged. */
static void unmap(lp_net_ip *ip)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (ip->family == AF_INET6 && memcmp(ip->b, mapped, 12) == 0) {
        uint8_t v4[4];
        memcpy(v4, ip->b + 12, 4);
        set_v4(ip, v4);
    }
}

int lp_net_ip_from_sockaddr(const struct sockaddr *sa, lp_net_ip *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        set_v4(out, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        out->family = AF_INET6;
        memcpy(out->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        unmap(out);
        return 0;
    }
    return -1;
}

int lp_net_ip_parse(const char *text, lp_net_ip *out)
{
    char buf[64];
    size_t n = strlen(text);

    memset(out, 0, sizeof(*out));
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        text++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, out->b) == 1) {
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out->b) == 1) {
        out->family = AF_INET6;
        unmap(out);
        return 0;
    }
    return -1;
}

void lp_net_ip_format(const lp_net_ip *ip, char *out, size_t cap)
{
    if (!inet_ntop(ip->family == AF_INET ? AF_INET : AF_INET6, ip->b, out, (socklen_t)cap) && cap)
        out[0] = '\0';
}

static int in_v4(const uint8_t *b, uint32_t net, int prefix)
{
    uint32_t a = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
    return (a & mask) == (net & mask);
}

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static lp_net_class classify_v4(const uint8_t *b)
{
    static const struct {
        uint32_t net;
        int prefix;
        lp_net_class c;
    } table[] = {
        /* the metadata hosts first: they lie inside wider classes */
        {V4(169, 254, 169, 254), 32, LP_NET_METADATA},
        {V4(169, 254, 170, 2), 32, LP_NET_METADATA},
        {V4(100, 100, 100, 200), 32, LP_NET_METADATA},
        {V4(0, 0, 0, 0), 8, LP_NET_UNSPECIFIED},
        {V4(10, 0, 0, 0), 8, LP_NET_PRIVATE},
        {V4(100, 64, 0, 0), 10, LP_NET_CGNAT},
        {V4(127, 0, 0, 0), 8, LP_NET_LOOPBACK},
        {V4(169, 254, 0, 0), 16, LP_NET_LINK_LOCAL},
        {V4(172, 16, 0, 0), 12, LP_NET_PRIVATE},
        {V4(192, 0, 0, 0), 24, LP_NET_RESERVED},
        {V4(192, 0, 2, 0), 24, LP_NET_RESERVED},
        {V4(192, 88, 99, 0), 24, LP_NET_RESERVED},
        {V4(192, 168, 0, 0), 16, LP_NET_PRIVATE},
        {V4(198, 18, 0, 0), 15, LP_NET_RESERVED},
        {V4(198, 51, 100, 0), 24, LP_NET_RESERVED},
        {V4(203, 0, 113, 0), 24, LP_NET_RESERVED},
        {V4(224, 0, 0, 0), 4, LP_NET_MULTICAST},
        {V4(240, 0, 0, 0), 4, LP_NET_RESERVED}, /* includes 255.255.255.255 */
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (in_v4(b, table[i].net, table[i].prefix))
            return table[i].c;
    }
    return LP_NET_PUBLIC;
}

static int in_v6(const uint8_t *b, const uint8_t *net, int prefix)
{
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(b, net, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (b[full] & mask) == (net[full] & mask);
}

static lp_net_class classify_v6(const uint8_t *b)
{
    static const uint8_t aws_metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const struct {
        uint8_t net[16];
        int prefix;
        lp_net_class c;
    } table[] = {
        {{0xff}, 8, LP_NET_MULTICAST},
        {{0xfe, 0x80}, 10, LP_NET_LINK_LOCAL},
        {{0xfe, 0xc0}, 10, LP_NET_PRIVATE}, /* site-local (deprecated) */
        {{0xfc}, 7, LP_NET_PRIVATE},        /* unique local */
        {{0x01, 0x00}, 64, LP_NET_RESERVED}, /* discard */
        {{0x20, 0x01, 0x0d, 0xb8}, 32, LP_NET_RESERVED}, /* documentation */
        {{0x20, 0x01}, 23, LP_NET_RESERVED}, /* IETF protocol assignments, Teredo */
        {{0x3f, 0xff}, 20, LP_NET_RESERVED}, /* documentation (RFC 9637) */
    };
    uint8_t v4[4];

    if (memcmp(b, aws_metadata, 16) == 0)
        return LP_NET_METADATA;
    if (is_zero(b, 15))
        return b[15] == 1 ? LP_NET_LOOPBACK : b[15] == 0 ? LP_NET_UNSPECIFIED : LP_NET_RESERVED;
    if (is_zero(b, 12) || memcmp(b, nat64, 12) == 0) {
        /* IPv4-compatible (::a.b.c.d, deprecated) or NAT64 64:ff9b::/96 */
        memcpy(v4, b + 12, 4);
        return classify_v4(v4);
    }
    if (b[0] == 0x20 && b[1] == 0x02) { /* 6to4: 2002:a.b.c.d::/48 */
        memcpy(v4, b + 2, 4);
        return classify_v4(v4);
    }
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (in_v6(b, table[i].net, table[i].prefix))
            return table[i].c;
    }
    /* Only 2000::/3 is allocated as global unicast. */
    return (b[0] & 0xe0) == 0x20 ? LP_NET_PUBLIC : LP_NET_RESERVED;
}

lp_net_class lp_net_classify(const lp_net_ip *ip)
{
    lp_net_ip u = *ip;
    unmap(&u);
    return u.family == AF_INET ? classify_v4(u.b) : classify_v6(u.b);
}

int lp_net_allowlist_parse(const char *text, lp_net_allowlist *out, lp_error *err)
{
    const char *p = text ? text : "";

    memset(out, 0, sizeof(*out));
    while (*p) {
        char entry[80], *slash;
        size_t n = strcspn(p, ",");
        const char *s = p, *e = p + n;
        long prefix;

        p = *e ? e + 1 : e;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (s == e)
            continue;
        if ((size_t)(e - s) >= sizeof(entry))
            return lp_error_field(err, LP_E_INVALID, "net_allow", "\"%.*s…\" is not a network (too long)", 40, s);
        memcpy(entry, s, (size_t)(e - s));
        entry[e - s] = '\0';
        if (out->n == LP_NET_ALLOW_MAX)
            return lp_error_field(err, LP_E_INVALID, "net_allow", "names more than %d networks", LP_NET_ALLOW_MAX);
        slash = strchr(entry, '/');
        if (slash)
            *slash = '\0';
        if (lp_net_ip_parse(entry, &out->e[out->n].net) != 0)
            return lp_error_field(err, LP_E_INVALID, "net_allow",
                                  "\"%s\" is not an IPv4 or IPv6 address (write networks as 127.0.0.2/32 or fd00::/8)",
                                  entry);
        int bits = out->e[out->n].net.family == AF_INET ? 32 : 128;
        prefix = bits;
        if (slash) {
            char *end;
            prefix = strtol(slash + 1, &end, 10);
            if (end == slash + 1 || *end || prefix < 0 || prefix > bits)
                return lp_error_field(err, LP_E_INVALID, "net_allow", "\"%s/%s\": the prefix length must be 0 to %d",
                                      entry, slash + 1, bits);
        }
        out->e[out->n].prefix = (int)prefix;
        out->n++;
    }
    return 0;
}

int lp_net_allowlist_contains(const lp_net_allowlist *list, const lp_net_ip *ip)
{
    lp_net_ip u = *ip;
    unmap(&u);
    for (size_t i = 0; list && i < list->n; i++) {
        const lp_net_ip *net = &list->e[i].net;
        if (net->family != u.family)
            continue;
        if (u.family == AF_INET) {
            uint32_t a = ((uint32_t)net->b[0] << 24) | ((uint32_t)net->b[1] << 16) | ((uint32_t)net->b[2] << 8) |
                         net->b[3];
            if (in_v4(u.b, a, list->e[i].prefix))
                return 1;
        } else if (in_v6(u.b, net->b, list->e[i].prefix)) {
            return 1;
        }
    }
    return 0;
}

int lp_net_ip_check(const lp_net_allowlist *list, const lp_net_ip *ip, lp_error *err)
{
    lp_net_class c = lp_net_classify(ip);
    char text[64];

    if (c == LP_NET_PUBLIC || lp_net_allowlist_contains(list, ip))
        return 0;
    lp_net_ip_format(ip, text, sizeof(text));
    return lp_error_set(err, LP_E_FORBIDDEN, "address %s is not allowed (%s)", text, lp_net_class_name(c));
}
