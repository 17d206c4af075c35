/* Pull parser for large JSON bodies. See include/loupe/core/json_scan.h. */
#include "loupe/core/json_scan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"

#define MAX_NUMBER_TEXT 400

static int fail(lp_jscan *s, const char *why)
{
    if (!s->failed) {
        s->failed = true;
        s->fail_at = s->p;
        lp_strlcpy(s->why, why, sizeof s->why);
    }
    return -1;
}

void lp_jscan_init(lp_jscan *s, const char *text, size_t len)
{
    memset(s, 0, sizeof *s);
    s->start = s->p = text;
    s->end = text + len;
}

/* Compact JSON has no whitespace at all: test one byte before looping. */
static inline __attribute__((always_inline)) void skip_ws(lp_jscan *s)
{
    const char *p = s->p, *e = s->end;
    if (p < e && (unsigned char)*p > ' ')
        return;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    s->p = p;
}

lp_jtok lp_jscan_peek(lp_jscan *s)
{
    if (s->failed)
        return LP_JT_ERROR;
    skip_ws(s);
    if (s->p >= s->end) {
        fail(s, "unexpected end of input");
        return LP_JT_ERROR;
    }
    switch (*s->p) {
    case '{': return LP_JT_OBJECT;
    case '[': return LP_JT_ARRAY;
    case '"': return LP_JT_STRING;
    case 't': return LP_JT_TRUE;
    case 'f': return LP_JT_FALSE;
    case 'n': return LP_JT_NULL;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return LP_JT_NUMBER;
    default:
        fail(s, "unexpected character");
        return LP_JT_ERROR;
    }
}

static int expect(lp_jscan *s, char c, const char *why)
{
    if (s->failed)
        return -1;
    skip_ws(s);
    if (s->p >= s->end || *s->p != c)
        return fail(s, why);
    s->p++;
    return 0;
}

/* Marks the container just opened at s->depth as having no element yet. */
static int open_container(lp_jscan *s)
{
    if (++s->depth > LP_JSCAN_MAX_DEPTH)
        return fail(s, "nesting is too deep");
    s->first |= UINT64_C(1) << (s->depth - 1);
    return 0;
}

/* Before an element of the open container: nothing for the first, a comma
 * for every later one. 0 or -1. */
static int element_separator(lp_jscan *s, char close, const char *what)
{
    uint64_t bit = UINT64_C(1) << (s->depth - 1);
    if (s->first & bit) {
        s->first &= ~bit;
        return 0;
    }
    if (*s->p != ',')
        return fail(s, what);
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close)
        return fail(s, close == '}' ? "trailing comma in an object" : "trailing comma in an array");
    return 0;
}

int lp_jscan_object_begin(lp_jscan *s)
{
    if (expect(s, '{', "expected '{'") != 0)
        return -1;
    return open_container(s);
}

/* Reads a raw string token at s->p (which is at '"'); fills key. */
static int raw_string(lp_jscan *s, lp_jstr *out)
{
    const char *p = s->p + 1, *e = s->end, *q;
    bool escaped = false;
    for (;;) {
        q = p;
        while (q < e && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
            q++;
        if (q >= e)
            return fail(s, "unterminated string");
        if (*q == '"')
            break;
        if ((unsigned char)*q < 0x20) {
            s->p = q;
            return fail(s, "control character in a string");
        }
        /* backslash */
        escaped = true;
        if (q + 1 >= e)
            return fail(s, "unterminated string");
        char c = q[1];
        if (c == 'u') {
            if (q + 6 > e) {
                s->p = q;
                return fail(s, "bad \\u escape");
            }
            for (int i = 2; i < 6; i++) {
                char h = q[i];
                if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) {
                    s->p = q;
                    return fail(s, "bad \\u escape");
                }
            }
            if (memcmp(q + 2, "0000", 4) == 0) {
                s->p = q;
                return fail(s, "\\u0000 is not allowed in strings");
            }
            p = q + 6;
        } else if (strchr("\"\\/bfnrt", c) && c) {
            p = q + 2;
        } else {
            s->p = q;
            return fail(s, "bad escape in a string");
        }
    }
    if (!lp_utf8_valid(s->p + 1, (size_t)(q - (s->p + 1)))) {
        return fail(s, "a string is not valid UTF-8");
    }
    out->p = s->p + 1;
    out->n = (size_t)(q - out->p);
    out->escaped = escaped;
    s->p = q + 1;
    return 0;
}

/* Shared by object_next and array_next: 0 at the closing bracket (consumed),
 * 1 when an element follows (its comma consumed), -1 on error. */
static int next_element(lp_jscan *s, char close, const char *at_end, const char *no_separator)
{
    if (s->failed)
        return -1;
    skip_ws(s);
    if (s->p >= s->end)
        return fail(s, at_end);
    if (*s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    return element_separator(s, close, no_separator) != 0 ? -1 : 1;
}

int lp_jscan_object_next(lp_jscan *s, lp_jstr *key)
{
    int rc = next_element(s, '}', "unexpected end of input in an object", "expected ',' or '}' in an object");
    if (rc != 1)
        return rc;
    skip_ws(s);
    if (s->p >= s->end || *s->p != '"')
        return fail(s, "expected a member name in quotes");
    if (raw_string(s, key) != 0)
        return -1;
    if (expect(s, ':', "expected ':' after a member name") != 0)
        return -1;
    return 1;
}

int lp_jscan_array_begin(lp_jscan *s)
{
    if (expect(s, '[', "expected '['") != 0)
        return -1;
    return open_container(s);
}

int lp_jscan_array_next(lp_jscan *s)
{
    return next_element(s, ']', "unexpected end of input in an array", "expected ',' or ']' in an array");
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int lp_jscan_number(lp_jscan *s, double *out, bool *is_int, int64_t *ival)
{
    if (lp_jscan_peek(s) != LP_JT_NUMBER)
        return s->failed ? -1 : fail(s, "expected a number");
    const char *p = s->p, *e = s->end, *begin = p;
    bool neg = false, frac = false, expo = false;
    uint64_t m = 0;
    int digits = 0, dropped = 0, scale = 0;

    if (*p == '-') {
        neg = true;
        p++;
    }
    if (p >= e || *p < '0' || *p > '9')
        return fail(s, "bad number");
    if (*p == '0') {
        p++;
        if (p < e && *p >= '0' && *p <= '9')
            return fail(s, "numbers must not have leading zeros");
    } else {
        while (p < e && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                if (m)
                    digits++;
            } else {
                dropped++;
            }
            p++;
        }
    }
    if (p < e && *p == '.') {
        frac = true;
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return fail(s, "bad number: digits must follow '.'");
        while (p < e && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                if (m)
                    digits++;
                scale--;
            }
            p++;
        }
    }
    int64_t ex = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        expo = true;
        p++;
        bool eneg = false;
        if (p < e && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= e || *p < '0' || *p > '9')
            return fail(s, "bad number: digits must follow the exponent");
        while (p < e && *p >= '0' && *p <= '9') {
            if (ex < 100000)
                ex = ex * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            ex = -ex;
    }
    s->p = p;
    int64_t e10 = (int64_t)scale + dropped + ex;
    if (is_int)
        *is_int = false;
    if (!frac && !expo && dropped == 0 && m <= (uint64_t)INT64_MAX) {
        if (is_int)
            *is_int = true;
        if (ival)
            *ival = neg ? -(int64_t)m : (int64_t)m;
    }
    /* Clinger's fast path: exact mantissa and an exactly representable power
     * of ten give the correctly rounded result in one operation. */
    if (m < (UINT64_C(1) << 53) && dropped == 0 && e10 >= -22 && e10 <= 22) {
        double v = (double)m;
        v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
        *out = neg ? -v : v;
        return 0;
    }
    size_t n = (size_t)(p - begin);
    if (n >= MAX_NUMBER_TEXT)
        return fail(s, "number is too long");
    char tmp[MAX_NUMBER_TEXT];
    memcpy(tmp, begin, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Decodes the escapes of a checked raw string into a. */
static const char *decode(const lp_jstr *k, lp_arena *a, size_t *len)
{
    char *out = lp_arena_alloc(a, k->n + 1), *o = out;
    if (!out)
        return NULL;
    if (!k->escaped) {
        memcpy(out, k->p, k->n);
        out[k->n] = '\0';
        if (len)
            *len = k->n;
        return out;
    }
    for (size_t i = 0; i < k->n; i++) {
        char c = k->p[i];
        if (c != '\\') {
            *o++ = c;
            continue;
        }
        c = k->p[++i];
        switch (c) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int j = 1; j <= 4; j++)
                cp = cp * 16 + (unsigned)hexval(k->p[i + (size_t)j]);
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < k->n + 1 && k->p[i + 1] == '\\' && k->p[i + 2] == 'u') {
                unsigned lo = 0;
                for (int j = 3; j <= 6; j++)
                    lo = lo * 16 + (unsigned)hexval(k->p[i + (size_t)j]);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp < 0xE000)
                cp = 0xFFFD; /* lone surrogate */
            o = put_utf8(o, cp);
            break;
        }
        default: *o++ = c; break; /* " \ / */
        }
    }
    *o = '\0';
    if (len)
        *len = (size_t)(o - out);
    return out;
}

int lp_jscan_string(lp_jscan *s, lp_arena *a, const char **out, size_t *len)
{
    lp_jstr k;
    if (lp_jscan_peek(s) != LP_JT_STRING)
        return s->failed ? -1 : fail(s, "expected a string");
    if (raw_string(s, &k) != 0)
        return -1;
    const char *d = decode(&k, a, len);
    if (!d)
        return fail(s, "out of memory");
    *out = d;
    return 0;
}

int lp_jscan_literal(lp_jscan *s, int *out)
{
    lp_jtok t = lp_jscan_peek(s);
    const char *word = t == LP_JT_TRUE ? "true" : t == LP_JT_FALSE ? "false" : t == LP_JT_NULL ? "null" : NULL;
    if (!word)
        return s->failed ? -1 : fail(s, "expected true, false or null");
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "unexpected word");
    s->p += n;
    *out = t == LP_JT_TRUE ? 1 : t == LP_JT_FALSE ? 0 : -1;
    return 0;
}

static int skip_value(lp_jscan *s)
{
    lp_jstr k;
    int lit;
    double d;
    switch (lp_jscan_peek(s)) {
    case LP_JT_OBJECT: {
        int r;
        if (lp_jscan_object_begin(s) != 0)
            return -1;
        while ((r = lp_jscan_object_next(s, &k)) == 1)
            if (skip_value(s) != 0)
                return -1;
        return r;
    }
    case LP_JT_ARRAY: {
        int r;
        if (lp_jscan_array_begin(s) != 0)
            return -1;
        while ((r = lp_jscan_array_next(s)) == 1)
            if (skip_value(s) != 0)
                return -1;
        return r;
    }
    case LP_JT_STRING:
        return raw_string(s, &k);
    case LP_JT_NUMBER:
        return lp_jscan_number(s, &d, NULL, NULL);
    case LP_JT_TRUE:
    case LP_JT_FALSE:
    case LP_JT_NULL:
        return lp_jscan_literal(s, &lit);
    default:
        return -1;
    }
}

int lp_jscan_skip(lp_jscan *s, const char **span, size_t *span_len)
{
    if (lp_jscan_peek(s) == LP_JT_ERROR)
        return -1;
    const char *b = s->p;
    if (skip_value(s) != 0)
        return -1;
    if (span)
        *span = b;
    if (span_len)
        *span_len = (size_t)(s->p - b);
    return 0;
}

int lp_jscan_finish(lp_jscan *s)
{
    if (s->failed)
        return -1;
    skip_ws(s);
    if (s->p != s->end)
        return fail(s, "unexpected text after the JSON value");
    return 0;
}

bool lp_jstr_eq(const lp_jstr *key, const char *lit)
{
    size_t n = strlen(lit);
    return !key->escaped && key->n == n && memcmp(key->p, lit, n) == 0;
}

const char *lp_jstr_dup(const lp_jstr *key, lp_arena *a) { return decode(key, a, NULL); }

int lp_jscan_error(const lp_jscan *s, lp_error *err)
{
    const char *at = s->fail_at ? s->fail_at : s->p;
    size_t line = 1, col = 1;
    for (const char *q = s->start; q < at && q < s->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return lp_error_set(err, LP_E_MALFORMED, "the request body is not valid JSON: %s at line %zu, column %zu (byte %zu)",
                        s->why[0] ? s->why : "syntax error", line, col, (size_t)(at - s->start));
}
