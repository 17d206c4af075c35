/* Entity-tag matching for conditional requests. See loupe/http/etag.h. */
#include "loupe/http/etag.h"

#include <string.h>
#include <strings.h>

typedef struct tag {
    int weak;
    const char *opaque; /* between the quotes */
    size_t len;
} tag;

/* Parses one entity tag at *p (after optional whitespace); advances *p. */
static int parse_tag(const char **p, tag *t)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    t->weak = 0;
    if (s[0] == 'W' && s[1] == '/') {
        t->weak = 1;
        s += 2;
    }
    if (*s != '"')
        return -1;
    const char *end = strchr(s + 1, '"');
    if (!end)
        return -1;
    for (const char *c = s + 1; c < end; c++) /* etagc: %x21 / %x23-7E / obs-text */
        if ((unsigned char)*c < 0x21 || *c == 0x7f)
            return -1;
    t->opaque = s + 1;
    t->len = (size_t)(end - s - 1);
    *p = end + 1;
    return 0;
}

static int matches(const tag *a, const tag *b, lp_etag_compare cmp)
{
    if (cmp == LP_ETAG_STRONG && (a->weak || b->weak))
        return 0;
    return a->len == b->len && memcmp(a->opaque, b->opaque, a->len) == 0;
}

int lp_etag_list_match(const char *list, const char *etag, lp_etag_compare cmp)
{
    tag want, have;
    const char *p = etag;
    if (!list || !etag || parse_tag(&p, &want) != 0)
        return 0;
    p = list;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '*') {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        return *p == '\0';
    }
    /* The whole list must be well-formed before any of it counts. */
    int found = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',') /* empty list elements are allowed */
            p++;
        if (*p == '\0')
            return found;
        if (parse_tag(&p, &have) != 0)
            return 0;
        found |= matches(&have, &want, cmp);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != ',' && *p != '\0')
            return 0;
    }
}

int lp_req_etag_match(lp_req *req, const char *field, const char *etag)
{
    lp_etag_compare cmp = strcasecmp(field, "If-Match") == 0 ? LP_ETAG_STRONG : LP_ETAG_WEAK;
    return lp_etag_list_match(lp_req_header(req, field), etag, cmp);
}
