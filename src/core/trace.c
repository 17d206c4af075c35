/* W3C traceparent: parse, generate, format, thread-local current. See trace.h. */
#include "loupe/core/trace.h"

#include <stdio.h>
#include <string.h>

#include "loupe/core/util.h"

static _Thread_local lp_trace t_current;

/* 1 if s[0..n) are lowercase hex digits and not all '0'. */
static int hex_id(const char *s, size_t n)
{
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        nonzero |= c != '0';
    }
    return nonzero;
}

static int hex_byte(const char *s, unsigned char *out)
{
    unsigned v = 0;
    for (int i = 0; i < 2; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            v = v * 16 + (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (unsigned)(c - 'a' + 10);
        else
            return -1;
    }
    *out = (unsigned char)v;
    return 0;
}

int lp_trace_parse(const char *s, lp_trace *out)
{
    unsigned char version, flags;
    size_t n = s ? strlen(s) : 0;

    memset(out, 0, sizeof(*out));
    if (n < LP_TRACEPARENT_LEN || hex_byte(s, &version) != 0 || version == 0xff)
        return -1;
    if (version == 0 ? n != LP_TRACEPARENT_LEN : (n > LP_TRACEPARENT_LEN && s[LP_TRACEPARENT_LEN] != '-'))
        return -1;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-' || !hex_id(s + 3, 32) || !hex_id(s + 36, 16) ||
        hex_byte(s + 53, &flags) != 0)
        return -1;
    memcpy(out->trace_id, s + 3, 32);
    memcpy(out->span_id, s + 36, 16);
    out->flags = version == 0 ? flags : (unsigned char)(flags & 1); /* unknown flags of a later version: drop */
    return 0;
}

/* nbytes random bytes as hex into out (2 * nbytes + 1), never all zero. */
static int random_id(char *out, size_t nbytes)
{
    unsigned char b[16];
    for (;;) {
        if (lp_random_bytes(b, nbytes) != 0)
            return -1;
        lp_hex_encode(b, nbytes, out);
        if (hex_id(out, nbytes * 2))
            return 0;
    }
}

int lp_trace_new(lp_trace *out)
{
    memset(out, 0, sizeof(*out));
    if (random_id(out->trace_id, 16) != 0 || random_id(out->span_id, 8) != 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

int lp_trace_child(const lp_trace *parent, lp_trace *out)
{
    if (!parent || !parent->trace_id[0])
        return lp_trace_new(out);
    lp_trace t = *parent;
    if (random_id(t.span_id, 8) != 0)
        return -1;
    *out = t;
    return 0;
}

int lp_trace_format(const lp_trace *t, char out[LP_TRACEPARENT_LEN + 1])
{
    out[0] = '\0';
    if (!t || strlen(t->trace_id) != 32 || strlen(t->span_id) != 16)
        return -1;
    snprintf(out, LP_TRACEPARENT_LEN + 1, "00-%s-%s-%02x", t->trace_id, t->span_id, (unsigned)t->flags);
    return 0;
}

void lp_trace_set_current(const lp_trace *t)
{
    if (t)
        t_current = *t;
    else
        memset(&t_current, 0, sizeof(t_current));
}

const lp_trace *lp_trace_current(void)
{
    return &t_current;
}
