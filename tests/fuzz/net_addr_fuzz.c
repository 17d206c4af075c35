/* Fuzzes the SSRF guard's parsers (src/net): address literals, the
 * allow-list setting and the URL check (without resolving, so no I/O).
 * Invariants: a parsed address formats and parses back to itself, and an
 * address that is not public never passes the check without an allow-list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/net/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), text[64];
    lp_net_ip ip, back;
    lp_net_allowlist allow;
    lp_error err;
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    lp_error_clear(&err);
    if (lp_net_ip_parse(s, &ip) == 0) {
        lp_net_ip_format(&ip, text, sizeof text);
        if (lp_net_ip_parse(text, &back) != 0 || back.family != ip.family ||
            memcmp(back.b, ip.b, ip.family == AF_INET ? 4 : 16) != 0)
            abort();
        if (lp_net_classify(&ip) != LP_NET_PUBLIC && lp_net_ip_check(NULL, &ip, &err) == 0)
            abort();
    }
    lp_error_clear(&err);
    if (lp_net_allowlist_parse(s, &allow, &err) == 0 && allow.n > LP_NET_ALLOW_MAX)
        abort();
    lp_net_policy p = {.allow = NULL, .allow_http = 1, .max_redirects = 1, .timeout_ms = 1000,
                       .max_response_bytes = 1024};
    lp_error_clear(&err);
    lp_net_url_check(&p, s, 0, &err);
    free(s);
    return 0;
}
