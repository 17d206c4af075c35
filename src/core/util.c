/* Clocks, random ids, hex, strings. See util.h. */
#include "loupe/core/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

int64_t lp_now_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t lp_now_mono_ms(void) { return lp_now_mono_us() / 1000; }

int64_t lp_now_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lp_time_iso8601(int64_t wall_ms, char out[25])
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* each field reduced to its width, so the text always fits 24 characters */
    snprintf(out, 25, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
             (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u, (unsigned)(wall_ms % 1000) % 1000u);
}

int lp_random_bytes(void *p, size_t n)
{
    unsigned char *q = p;
    while (n > 0) {
        ssize_t r = getrandom(q, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        q += r;
        n -= (size_t)r;
    }
    return 0;
}

void lp_hex_encode(const void *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int lp_uuid_v4(char out[37])
{
    unsigned char b[16];
    if (lp_random_bytes(b, sizeof(b)) != 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char hex[33];
    lp_hex_encode(b, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return 0;
}

/* The last time and counter lp_uuid_v7 used (the counter's low 32 bits go
 * into an id and wrap, as the database's sequence does). */
static uint64_t v7_last_ms;
static uint64_t v7_made;
static pthread_mutex_t v7_mu = PTHREAD_MUTEX_INITIALIZER;

int lp_uuid_v7(char (*out)[37], size_t n)
{
    unsigned char rnd[256 * 5];
    for (size_t done = 0; done < n;) {
        size_t batch = n - done < 256 ? n - done : 256;
        if (lp_random_bytes(rnd, batch * 5) != 0)
            return -1;
        pthread_mutex_lock(&v7_mu);
        uint64_t ms = (uint64_t)lp_now_wall_ms();
        if (ms < v7_last_ms)
            ms = v7_last_ms;
        v7_last_ms = ms;
        for (size_t k = 0; k < batch; k++) {
            uint64_t made = v7_made++;
            uint32_t c = (uint32_t)made;
            const unsigned char *r = &rnd[k * 5];
            unsigned char b[16];
            if (c == 0 && made != 0) /* wrapped: this id must still sort after the last */
                v7_last_ms = ++ms;
            for (int i = 0; i < 6; i++)
                b[i] = (unsigned char)(ms >> (40 - 8 * i));
            b[6] = (unsigned char)(0x70 | ((c >> 28) & 0x0f));
            b[7] = (unsigned char)(c >> 20);
            b[8] = (unsigned char)(0x80 | ((c >> 14) & 0x3f));
            b[9] = (unsigned char)(c >> 6);
            b[10] = (unsigned char)((c & 0x3f) << 2);
            memcpy(&b[11], r, 5);
            char hex[33];
            lp_hex_encode(b, 16, hex);
            snprintf(out[done + k], 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
        }
        pthread_mutex_unlock(&v7_mu);
        done += batch;
    }
    return 0;
}

int lp_is_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || strchr("\"(),/:;<=>?@[\\]{}", c))
            return 0;
    }
    return 1;
}

int lp_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

int lp_const_time_eq(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

size_t lp_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t len = strlen(src);
    if (cap) {
        size_t n = len < cap - 1 ? len : cap - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

int lp_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned char c = *p;
        size_t n;
        unsigned int cp;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

int lp_mkdir_p(const char *path, unsigned mode)
{
    char buf[4096];
    size_t len = lp_strlcpy(buf, path, sizeof buf);
    if (len >= sizeof buf)
        return errno = ENAMETOOLONG, -1;
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, (mode_t)mode) && errno != EEXIST)
            return -1;
        if (i < len)
            buf[i] = '/';
    }
    return 0;
}

const char *lp_strv_find(const char *const *list, const char *s)
{
    for (; s && *list; list++)
        if (strcmp(*list, s) == 0)
            return *list;
    return NULL;
}
