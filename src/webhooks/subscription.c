/* Subscription checks and the outbound policy. See loupe/webhooks/subscription.h. */
#include "loupe/webhooks/subscription.h"

#include <string.h>

#include "loupe/net/addr.h"

int lp_webhook_net_policy(const lp_config *cfg, lp_net_allowlist *allow, lp_net_policy *out, lp_error *err)
{
    if (lp_net_allowlist_parse(cfg->net_allow, allow, err) != 0)
        return -1;
    out->allow = allow;
    out->allow_http = cfg->webhook_allow_http;
    out->max_redirects = LP_NET_REDIRECTS_MAX;
    out->timeout_ms = cfg->webhook_timeout;
    out->max_response_bytes = cfg->webhook_max_response;
    return 0;
}

static const char *const KNOWN_TYPES[] = {
    "item.created",       "item.ready",         "item.error",    "item.deleted", "annotation.created",
    "annotation.updated", "annotation.deleted", "job.completed", "job.failed",   NULL,
};
static const char *const AREAS[] = {"item", "annotation", "job", "task", NULL};

static int in(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++) {
        if (strlen(*list) == n && strncmp(*list, s, n) == 0)
            return 1;
    }
    return 0;
}

/* dot-separated words of [a-z_], starting with a letter */
static int type_syntax(const char *s, size_t n)
{
    int word_start = 1, words = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (word_start)
                return 0;
            word_start = 1;
            continue;
        }
        if (word_start ? !(c >= 'a' && c <= 'z') : !((c >= 'a' && c <= 'z') || c == '_'))
            return 0;
        if (word_start)
            words++;
        word_start = 0;
    }
    return !word_start && words >= 1;
}

int lp_webhook_pattern_valid(const char *pattern)
{
    size_t n = pattern ? strlen(pattern) : 0;
    const char *dot;
    if (n == 0 || n > 128)
        return 0;
    if (strcmp(pattern, "*") == 0)
        return 1;
    if (n > 2 && strcmp(pattern + n - 2, ".*") == 0)
        return type_syntax(pattern, n - 2) && in(AREAS, pattern, n - 2);
    if (!type_syntax(pattern, n) || !(dot = strchr(pattern, '.')))
        return 0;
    if (strncmp(pattern, "task.", 5) == 0)
        return 1;
    return in(KNOWN_TYPES, pattern, n);
}

int lp_webhook_pattern_matches(const char *pattern, const char *type)
{
    size_t n = strlen(pattern);
    if (strcmp(pattern, "*") == 0 || strcmp(pattern, type) == 0)
        return 1;
    return n >= 2 && strcmp(pattern + n - 2, ".*") == 0 && strncmp(type, pattern, n - 1) == 0;
}

int lp_webhook_url_check(const lp_net_policy *p, const char *url, const char *field, lp_error *err)
{
    lp_error e;
    lp_error_clear(&e);
    if (strlen(url) > LP_WEBHOOK_URL_MAX)
        return lp_error_field(err, LP_E_INVALID, field, "is longer than %d bytes", LP_WEBHOOK_URL_MAX);
    if (lp_net_url_check(p, url, 0, &e) != 0)
        return lp_error_field(err, LP_E_INVALID, field, "%s", e.message);
    return 0;
}
