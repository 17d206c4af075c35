/* Hex decoding, unpadded base64url (RFC 4648 §5) and padded base64 (§4). */
#include "loupe/crypto/encode.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long lp_hex_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    if (len % 2 != 0 || len / 2 > cap || len / 2 > (size_t)(~0UL >> 1))
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t lp_base64url_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t lp_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Encodes with alphabet a; pad: add '=' to a multiple of 4 characters. */
static long encode_with(const char *a, int pad, const void *p, size_t n, char *out, size_t cap)
{
    const uint8_t *in = p;
    size_t need = pad ? lp_base64_len(n) : lp_base64url_len(n), o = 0, i = 0;
    if (need >= cap || need > (size_t)(~0UL >> 1)) {
        if (cap > 0)
            out[0] = '\0';
        return -1;
    }
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        out[o++] = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
    }
    while (pad && o % 4)
        out[o++] = '=';
    out[o] = '\0';
    return (long)o;
}

long lp_base64url_encode(const void *p, size_t n, char *out, size_t cap)
{
    return encode_with(b64url, 0, p, n, out, cap);
}

long lp_base64_encode(const void *p, size_t n, char *out, size_t cap)
{
    return encode_with(b64std, 1, p, n, out, cap);
}

static int b64_value(char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

static long decode_with(int url, const char *s, size_t len, uint8_t *out, size_t cap)
{
    size_t rem = len % 4, o = 0;
    size_t need = len / 4 * 3 + (rem ? rem - 1 : 0);
    uint32_t v = 0;
    int bits = 0;
    if (rem == 1 || need > cap || need > (size_t)(~0UL >> 1))
        return -1;
    for (size_t i = 0; i < len; i++) {
        int d = b64_value(s[i], url);
        if (d < 0)
            return -1;
        v = v << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(v >> bits);
            v &= (1u << bits) - 1;
        }
    }
    if (v != 0) /* unused trailing bits must be zero: one text per value */
        return -1;
    return (long)o;
}

long lp_base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    return decode_with(1, s, len, out, cap);
}

long lp_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    size_t pad = 0;
    if (len % 4 != 0)
        return -1;
    while (pad < 2 && len > 0 && s[len - 1] == '=') {
        len--;
        pad++;
    }
    return decode_with(0, s, len, out, cap);
}
