/* JSON text out, shared by every format that writes JSON.
 * See include/loupe/formats/json_text.h. */
#include "loupe/formats/json_text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

size_t lp_json_format_double(double v, char out[32])
{
    /* Fast path: v = m / 10^k with an integer m below 2^53 for a small k.
     * Dividing two exact doubles rounds correctly, so when m / 10^k == v the
     * decimal "m e-k" reads back as v, and the smallest such k is the
     * shortest. A cheap integrality test picks the candidate k; one division
     * confirms it. */
    double av = fabs(v);
    if (av < 1e15) {
        for (int k = 0; k <= 15; k++) {
            double scaled = av * p10[k];
            if (scaled >= 9007199254740992.0)
                break;
            double m = (double)(uint64_t)(scaled + 0.5);
            if (m != scaled && fabs(m - scaled) > scaled * 1e-15)
                continue;
            if (m / p10[k] != av)
                continue;
            char digits[24];
            int nd = 0;
            uint64_t u = (uint64_t)m;
            do {
                digits[nd++] = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            char *o = out;
            if (v < 0 || (v == 0 && signbit(v)))
                *o++ = '-';
            if (nd <= k) {
                *o++ = '0';
                *o++ = '.';
                for (int z = 0; z < k - nd; z++)
                    *o++ = '0';
                for (int i = nd - 1; i >= 0; i--)
                    *o++ = digits[i];
            } else {
                for (int i = nd - 1; i >= 0; i--) {
                    *o++ = digits[i];
                    if (i == k && k > 0)
                        *o++ = '.';
                }
            }
            *o = '\0';
            return (size_t)(o - out);
        }
    }
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(out, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            return (size_t)n;
    }
    return 0;
}

/* The two-character escape of c, or NULL when it is written \u00XX. */
static const char *short_escape(unsigned char c)
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\t': return "\\t";
    case '\r': return "\\r";
    default: return NULL;
    }
}

int lp_json_write_string(lp_buf *o, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (lp_buf_append(o, "\"", 1) != 0)
        return -1;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (lp_buf_append(o, s + start, i - start) != 0)
            return -1;
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        const char *e = short_escape(c);
        if (e ? lp_buf_append(o, e, 2) != 0 : lp_buf_append(o, esc, 6) != 0)
            return -1;
        start = i + 1;
    }
    if (lp_buf_append(o, s + start, len - start) != 0)
        return -1;
    return lp_buf_append(o, "\"", 1);
}

int lp_json_write_members(lp_buf *o, const char *obj, size_t len)
{
    if (!obj)
        return 0;
    /* trim "{" … "}" and surrounding whitespace */
    size_t b = 0, e = len;
    while (b < e && obj[b] != '{')
        b++;
    while (e > b && obj[e - 1] != '}')
        e--;
    if (e - b < 2)
        return 0;
    b++;
    e--;
    while (b < e && (obj[b] == ' ' || obj[b] == '\n'))
        b++;
    if (b == e)
        return 0;
    return lp_buf_append(o, ",", 1) || lp_buf_append(o, obj + b, e - b) ? -1 : 0;
}
