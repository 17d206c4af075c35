/* JSON text out, shared by every format that writes JSON.
 * See include/loupe/formats/json_text.h. */
#include "loupe/formats/json_text.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* Writes "-"? m / 10^k in plain decimal notation (trailing zeros of the
 * fraction dropped, "0." before a fraction below one); returns the length. */
static size_t put_decimal(char out[32], bool neg, uint64_t m, int k)
{
    while (k > 0 && m % 10 == 0) {
        m /= 10;
        k--;
    }
    char digits[24];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    char *o = out;
    if (neg)
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

#if LDBL_MANT_DIG == 64
/* The x87 extended format: a 64-bit significand holds every integer below
 * 10^19 and every power of ten up to 10^27 exactly. */
static const long double p10l[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,
                                   1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L,
                                   1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L};

/* The decimal of av (1e-4 <= av < 1e14) rounded to prec (15..17) significant
 * digits, as m / 10^k: what "%.*g" prints. av * 10^k is exact to 2^-8 in
 * the extended format, so the rounding is certain unless the product lies
 * within 1/64 of a tie; false then (the caller asks printf). */
static bool round_digits(double av, int prec, uint64_t *m, int *k)
{
    int e = 0; /* about floor(log10(av)); the loop corrects it by one either way */
    if (av >= 1)
        while (e < 13 && av >= p10[e + 1])
            e++;
    else
        while (e > -5 && av * p10[-e] < 1)
            e--;
    for (int tries = 0; tries < 3; tries++) {
        int kk = prec - 1 - e;
        if (kk < 0 || kk > 22)
            return false;
        long double scaled = (long double)av * p10l[kk];
        if (scaled < p10l[prec - 1]) {
            e--;
            continue;
        }
        if (scaled >= p10l[prec]) {
            e++;
            continue;
        }
        long double fl = floorl(scaled), frac = scaled - fl;
        if (fabsl(frac - 0.5L) < 1.0L / 64)
            return false;
        *m = (uint64_t)fl + (frac > 0.5L);
        *k = kk;
        return true;
    }
    return false;
}

/* 1 when the decimal m / 10^k reads back (strtod, correctly rounded) as
 * exactly av, else 0. The quotient is rounded once to the extended format and
 * once to double; the two roundings agree unless the first lands on a
 * midpoint of two doubles: -1 then (the caller asks printf). */
static int reads_back(double av, uint64_t m, int k)
{
    long double q = (long double)m / p10l[k];
    double d = (double)q;
    long double diff = q - (long double)d;
    if (diff != 0) {
        long double up = ((long double)nextafter(d, INFINITY) - d) / 2;
        long double down = ((long double)d - nextafter(d, 0)) / 2;
        if (diff == up || -diff == down)
            return -1;
    }
    return d == av;
}
#endif

size_t lp_json_format_double(double v, char out[32])
{
    /* Fast path: v = m / 10^k with an integer m below 2^53 for a small k.
     * Dividing two exact doubles rounds correctly, so when m / 10^k == v the
     * decimal "m e-k" reads back as v, and the smallest such k is the
     * shortest. A cheap integrality test picks the candidate k; one division
     * confirms it. */
    double av = fabs(v);
    bool neg = v < 0 || (v == 0 && signbit(v));
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
            return put_decimal(out, neg, (uint64_t)m, k);
        }
    }
#if LDBL_MANT_DIG == 64
    /* Most other values need 15 to 17 digits: the same digits as the printf
     * loop below, in integer and extended arithmetic, where both steps are
     * certain. */
    if (av >= 1e-4 && av < 1e14) {
        for (int prec = 15; prec <= 17; prec++) {
            uint64_t m;
            int k, back = 0;
            if (!round_digits(av, prec, &m, &k) || (prec < 17 && (back = reads_back(av, m, k)) < 0))
                break;
            if (prec == 17 || back)
                return put_decimal(out, neg, m, k);
        }
    }
#endif
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
