/* AWS Signature Version 4: canonical request, string to sign, signing key,
 * Authorization header and presigned URLs. */
#include "loupe/crypto/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"

/* Ceiling on every intermediate text (canonical request and its parts). */
#define SIGV4_TEXT_MAX (64 * 1024)

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

int lp_sigv4_uri_encode(const char *s, size_t n, int keep_slash, lp_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t start = 0;
    size_t len0 = out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[3];
        if (is_unreserved(c) || (keep_slash && c == '/'))
            continue;
        if (lp_buf_append(out, s + start, i - start) != 0)
            goto fail;
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        if (lp_buf_append(out, esc, 3) != 0)
            goto fail;
        start = i + 1;
    }
    if (lp_buf_append(out, s + start, n - start) != 0)
        goto fail;
    return 0;
fail:
    out->len = len0;
    if (out->data)
        out->data[len0] = '\0';
    return -1;
}

int lp_sigv4_amz_date(int64_t t, char out[17])
{
    struct tm tm;
    time_t tt = (time_t)t;
    out[0] = '\0';
    if (t < 0 || t > 253402300799LL || !gmtime_r(&tt, &tm))
        return -1;
    return strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) == 16 ? 0 : -1;
}

/* --- validation ------------------------------------------------------- */

static int check_text(const char *s, int allow_space)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == 127 || (c < 32 && !(allow_space && c == '\t')) || (!allow_space && c == ' '))
            return -1;
    }
    return 0;
}

static int check_scope_part(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return -1;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return -1;
    return 0;
}

static int check_credentials(const lp_sigv4_credentials *c, lp_error *err)
{
    if (!c->access_key || !*c->access_key || strlen(c->access_key) > 128 || check_text(c->access_key, 0) ||
        strpbrk(c->access_key, ",/"))
        return lp_error_field(err, LP_E_INVALID, "sigv4.access_key",
                              "must be 1 to 128 printable characters without spaces, ',' or '/'");
    if (!c->secret_key || !*c->secret_key)
        return lp_error_field(err, LP_E_INVALID, "sigv4.secret_key", "must not be empty");
    if (check_scope_part(c->region))
        return lp_error_field(err, LP_E_INVALID, "sigv4.region", "must be 1 to 64 characters of a-z, 0-9 and '-'");
    if (check_scope_part(c->service))
        return lp_error_field(err, LP_E_INVALID, "sigv4.service", "must be 1 to 64 characters of a-z, 0-9 and '-'");
    return 0;
}

static int check_request_line(const char *method, const char *host, const char *path, lp_error *err)
{
    if (!method || !*method || strlen(method) > 16 || strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method))
        return lp_error_field(err, LP_E_INVALID, "sigv4.method", "must be an uppercase HTTP method");
    if (!host || !*host || strlen(host) > 255 || check_text(host, 0) || strpbrk(host, "/?#@"))
        return lp_error_field(err, LP_E_INVALID, "sigv4.host", "must be a host name with an optional :port");
    if (!path || path[0] != '/')
        return lp_error_field(err, LP_E_INVALID, "sigv4.path", "must start with '/'");
    return 0;
}

/* --- canonical parts ----------------------------------------------------- */

/* Entries kept in one scratch buffer as offsets (the buffer may move). */
typedef struct entry {
    size_t name, value; /* offsets of NUL-terminated strings in scratch */
} entry;

/* Sorts by name, then value, bytewise (insertion sort: at most 65 entries;
 * qsort would need the buffer base in a global). */
static void sort_entries(entry *e, size_t n, const char *base)
{
    for (size_t i = 1; i < n; i++) {
        entry k = e[i];
        size_t j = i;
        while (j > 0) {
            int c = strcmp(base + e[j - 1].name, base + k.name);
            if (c < 0 || (c == 0 && strcmp(base + e[j - 1].value, base + k.value) <= 0))
                break;
            e[j] = e[j - 1];
            j--;
        }
        e[j] = k;
    }
}

static int put_nul(lp_buf *b)
{
    return lp_buf_append(b, "", 1);
}

static int canonical_query(const lp_sigv4_pair *q, size_t n, lp_buf *out, lp_error *err)
{
    entry e[LP_SIGV4_MAX_PARAMS];
    lp_buf s;
    int rc = -1;
    lp_buf_init(&s, SIGV4_TEXT_MAX);
    if (n > LP_SIGV4_MAX_PARAMS) {
        lp_error_field(err, LP_E_INVALID, "sigv4.query", "has more than %d parameters", LP_SIGV4_MAX_PARAMS);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = q[i].value ? q[i].value : "";
        if (!q[i].name || !*q[i].name) {
            char field[48];
            snprintf(field, sizeof field, "sigv4.query[%zu].name", i);
            lp_error_field(err, LP_E_INVALID, field, "must not be empty");
            goto cleanup;
        }
        e[i].name = s.len;
        if (lp_sigv4_uri_encode(q[i].name, strlen(q[i].name), 0, &s) || put_nul(&s))
            goto too_large;
        e[i].value = s.len;
        if (lp_sigv4_uri_encode(v, strlen(v), 0, &s) || put_nul(&s))
            goto too_large;
    }
    sort_entries(e, n, s.data);
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && lp_buf_puts(out, "&")) || lp_buf_puts(out, s.data + e[i].name) || lp_buf_puts(out, "=") ||
            lp_buf_puts(out, s.data + e[i].value))
            goto too_large;
    }
    rc = 0;
    goto cleanup;
too_large:
    lp_error_set(err, LP_E_TOO_LARGE, "SigV4 canonical query string is longer than its buffer");
cleanup:
    lp_buf_free(&s);
    return rc;
}

/* Appends "name:value\n" lines (sorted, host included) to out and the
 * ';'-joined names to names. */
static int canonical_headers(const lp_sigv4_request *r, lp_buf *out, lp_buf *names, lp_error *err)
{
    entry e[LP_SIGV4_MAX_HEADERS + 1];
    lp_buf s;
    size_t n = 0;
    int rc = -1;
    char field[48];

    lp_buf_init(&s, SIGV4_TEXT_MAX);
    if (r->nheaders > LP_SIGV4_MAX_HEADERS) {
        lp_error_field(err, LP_E_INVALID, "sigv4.headers", "has more than %d headers", LP_SIGV4_MAX_HEADERS);
        goto cleanup;
    }
    e[n].name = s.len;
    if (lp_buf_puts(&s, "host") || put_nul(&s))
        goto too_large;
    e[n].value = s.len;
    if (lp_buf_puts(&s, r->host) || put_nul(&s))
        goto too_large;
    n++;
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *name = r->headers[i].name, *v = r->headers[i].value ? r->headers[i].value : "";
        if (!name || !*name || strlen(name) > 128) {
            snprintf(field, sizeof field, "sigv4.headers[%zu].name", i);
            lp_error_field(err, LP_E_INVALID, field, "must be 1 to 128 characters");
            goto cleanup;
        }
        if (!lp_is_token(name)) {
            snprintf(field, sizeof field, "sigv4.headers[%zu].name", i);
            lp_error_field(err, LP_E_INVALID, field, "holds a character not allowed in a header name");
            goto cleanup;
        }
        e[n].name = s.len;
        for (const char *p = name; *p; p++) {
            char c = *p;
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (lp_buf_append(&s, &c, 1))
                goto too_large;
        }
        if (put_nul(&s))
            goto too_large;
        if (check_text(v, 1)) {
            snprintf(field, sizeof field, "sigv4.headers[%zu].value", i);
            lp_error_field(err, LP_E_INVALID, field, "holds a control character");
            goto cleanup;
        }
        /* Trim, and collapse runs of spaces into one. */
        e[n].value = s.len;
        while (*v == ' ' || *v == '\t')
            v++;
        for (int space = 0; *v; v++) {
            if (*v == ' ' || *v == '\t') {
                space = 1;
                continue;
            }
            if ((space && lp_buf_append(&s, " ", 1)) || lp_buf_append(&s, v, 1))
                goto too_large;
            space = 0;
        }
        if (put_nul(&s))
            goto too_large;
        n++;
    }
    sort_entries(e, n, s.data);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(s.data + e[i - 1].name, s.data + e[i].name) == 0) {
            lp_error_field(err, LP_E_INVALID, "sigv4.headers", "names header '%s' twice (host is implied)",
                           s.data + e[i].name);
            goto cleanup;
        }
        if (lp_buf_puts(out, s.data + e[i].name) || lp_buf_puts(out, ":") || lp_buf_puts(out, s.data + e[i].value) ||
            lp_buf_puts(out, "\n") || (i > 0 && lp_buf_puts(names, ";")) || lp_buf_puts(names, s.data + e[i].name))
            goto too_large;
    }
    rc = 0;
    goto cleanup;
too_large:
    lp_error_set(err, LP_E_TOO_LARGE, "SigV4 canonical headers are longer than their buffer");
cleanup:
    lp_buf_free(&s);
    return rc;
}

/* The canonical request into out, the signed header names into names. */
static int canonical_request(const lp_sigv4_request *r, lp_buf *out, lp_buf *names, lp_error *err)
{
    const char *ph = r->payload_hash;
    if (check_request_line(r->method, r->host, r->path, err))
        return -1;
    if (!ph || (strcmp(ph, LP_SIGV4_UNSIGNED_PAYLOAD) != 0 &&
                (strlen(ph) != LP_SHA256_HEX_LEN || strspn(ph, "0123456789abcdef") != LP_SHA256_HEX_LEN)))
        return lp_error_field(err, LP_E_INVALID, "sigv4.payload_hash",
                              "must be a lowercase hex SHA-256 or UNSIGNED-PAYLOAD");
    if (lp_buf_puts(out, r->method) || lp_buf_puts(out, "\n") ||
        lp_sigv4_uri_encode(r->path, strlen(r->path), 1, out) || lp_buf_puts(out, "\n"))
        goto too_large;
    if (canonical_query(r->query, r->nquery, out, err))
        return -1;
    if (lp_buf_puts(out, "\n"))
        goto too_large;
    if (canonical_headers(r, out, names, err))
        return -1;
    if (lp_buf_puts(out, "\n") || lp_buf_append(out, names->data, names->len) || lp_buf_puts(out, "\n") ||
        lp_buf_puts(out, ph))
        goto too_large;
    return 0;
too_large:
    return lp_error_set(err, LP_E_TOO_LARGE, "SigV4 canonical request is longer than its buffer");
}

int lp_sigv4_canonical_request(const lp_sigv4_request *r, lp_buf *out, lp_error *err)
{
    lp_buf names;
    int rc;
    lp_buf_init(&names, SIGV4_TEXT_MAX);
    rc = canonical_request(r, out, &names, err);
    lp_buf_free(&names);
    return rc;
}

static int scope(const lp_sigv4_credentials *c, const char *amz_date, lp_buf *out)
{
    return lp_buf_printf(out, "%.8s/%s/%s/aws4_request", amz_date, c->region, c->service);
}

int lp_sigv4_string_to_sign(const lp_sigv4_credentials *c, int64_t t, const char *canonical, size_t len,
                            lp_buf *out, lp_error *err)
{
    char date[17], hash[LP_SHA256_HEX_LEN + 1];
    if (check_credentials(c, err))
        return -1;
    if (lp_sigv4_amz_date(t, date))
        return lp_error_field(err, LP_E_INVALID, "sigv4.time", "must lie between 1970 and 9999");
    if (lp_sha256_hex(canonical, len, hash))
        return lp_error_set(err, LP_E_INTERNAL, "SHA-256 of the canonical request failed");
    if (lp_buf_puts(out, LP_SIGV4_ALGORITHM "\n") || lp_buf_puts(out, date) || lp_buf_puts(out, "\n") ||
        scope(c, date, out) || lp_buf_puts(out, "\n") || lp_buf_puts(out, hash))
        return lp_error_set(err, LP_E_TOO_LARGE, "SigV4 string to sign is longer than its buffer");
    return 0;
}

int lp_sigv4_signing_key(const char *secret_key, const char *date, const char *region, const char *service,
                         uint8_t out[32])
{
    uint8_t k[32];
    size_t slen = strlen(secret_key);
    char *first = malloc(slen + 5);
    int rc = -1;
    if (!first)
        return -1;
    memcpy(first, "AWS4", 4);
    memcpy(first + 4, secret_key, slen + 1);
    if (lp_hmac_sha256(first, slen + 4, date, strlen(date), k) == 0 &&
        lp_hmac_sha256(k, sizeof k, region, strlen(region), k) == 0 &&
        lp_hmac_sha256(k, sizeof k, service, strlen(service), k) == 0 &&
        lp_hmac_sha256(k, sizeof k, "aws4_request", 12, out) == 0)
        rc = 0;
    OPENSSL_cleanse(first, slen + 4);
    free(first);
    OPENSSL_cleanse(k, sizeof k);
    return rc;
}

/* Signature (hex) of canonical text for credentials c at time t. */
static int signature(const lp_sigv4_credentials *c, int64_t t, const lp_buf *canonical, char hex[65], lp_error *err)
{
    lp_buf sts;
    char date[17];
    uint8_t key[32], sig[32];
    int rc = -1;
    lp_buf_init(&sts, SIGV4_TEXT_MAX);
    if (lp_sigv4_string_to_sign(c, t, canonical->data ? canonical->data : "", canonical->len, &sts, err))
        goto cleanup;
    lp_sigv4_amz_date(t, date);
    date[8] = '\0';
    if (lp_sigv4_signing_key(c->secret_key, date, c->region, c->service, key) ||
        lp_hmac_sha256(key, sizeof key, sts.data, sts.len, sig)) {
        lp_error_set(err, LP_E_INTERNAL, "HMAC-SHA256 failed while signing a request");
        goto cleanup;
    }
    lp_hex_encode(sig, sizeof sig, hex);
    rc = 0;
cleanup:
    OPENSSL_cleanse(key, sizeof key);
    lp_buf_free(&sts);
    return rc;
}

int lp_sigv4_authorization(const lp_sigv4_credentials *c, const lp_sigv4_request *r, lp_buf *out, lp_error *err)
{
    lp_buf canon, names;
    char date[17], sig[65];
    int rc = -1;
    lp_buf_init(&canon, SIGV4_TEXT_MAX);
    lp_buf_init(&names, SIGV4_TEXT_MAX);
    if (check_credentials(c, err) || canonical_request(r, &canon, &names, err) ||
        signature(c, r->time, &canon, sig, err))
        goto cleanup;
    lp_sigv4_amz_date(r->time, date);
    if (lp_buf_printf(out, LP_SIGV4_ALGORITHM " Credential=%s/", c->access_key) || scope(c, date, out) ||
        lp_buf_printf(out, ", SignedHeaders=%s, Signature=%s", names.data, sig)) {
        lp_error_set(err, LP_E_TOO_LARGE, "SigV4 Authorization header is longer than its buffer");
        goto cleanup;
    }
    rc = 0;
cleanup:
    lp_buf_free(&canon);
    lp_buf_free(&names);
    return rc;
}

int lp_sigv4_presign_url(const lp_sigv4_credentials *c, const lp_sigv4_presign *p, lp_buf *out, lp_error *err)
{
    lp_buf credential, canon, names, query;
    char date[17], expires[24], sig[65];
    int rc = -1;
    lp_sigv4_pair params[5];
    lp_sigv4_request r = {
        .method = p->method, .host = p->host, .path = p->path, .query = params, .nquery = 5,
        .payload_hash = LP_SIGV4_UNSIGNED_PAYLOAD, .time = p->time,
    };

    lp_buf_init(&credential, 1024);
    lp_buf_init(&canon, SIGV4_TEXT_MAX);
    lp_buf_init(&names, SIGV4_TEXT_MAX);
    lp_buf_init(&query, SIGV4_TEXT_MAX);
    if (check_credentials(c, err) || check_request_line(p->method, p->host, p->path, err))
        goto cleanup;
    if (!p->scheme || (strcmp(p->scheme, "https") != 0 && strcmp(p->scheme, "http") != 0)) {
        lp_error_field(err, LP_E_INVALID, "sigv4.scheme", "must be http or https");
        goto cleanup;
    }
    if (p->expires < 1 || p->expires > LP_SIGV4_MAX_EXPIRES) {
        lp_error_field(err, LP_E_INVALID, "sigv4.expires", "must be 1 to %d seconds", LP_SIGV4_MAX_EXPIRES);
        goto cleanup;
    }
    if (lp_sigv4_amz_date(p->time, date)) {
        lp_error_field(err, LP_E_INVALID, "sigv4.time", "must lie between 1970 and 9999");
        goto cleanup;
    }
    snprintf(expires, sizeof expires, "%lld", (long long)p->expires);
    if (lp_buf_printf(&credential, "%s/", c->access_key) || scope(c, date, &credential)) {
        lp_error_set(err, LP_E_TOO_LARGE, "SigV4 credential is longer than its buffer");
        goto cleanup;
    }
    params[0] = (lp_sigv4_pair){"X-Amz-Algorithm", LP_SIGV4_ALGORITHM};
    params[1] = (lp_sigv4_pair){"X-Amz-Credential", credential.data};
    params[2] = (lp_sigv4_pair){"X-Amz-Date", date};
    params[3] = (lp_sigv4_pair){"X-Amz-Expires", expires};
    params[4] = (lp_sigv4_pair){"X-Amz-SignedHeaders", "host"};
    if (canonical_request(&r, &canon, &names, err) || signature(c, p->time, &canon, sig, err) ||
        canonical_query(params, 5, &query, err))
        goto cleanup;
    if (lp_buf_printf(out, "%s://%s", p->scheme, p->host) || lp_sigv4_uri_encode(p->path, strlen(p->path), 1, out) ||
        lp_buf_printf(out, "?%s&X-Amz-Signature=%s", query.data, sig)) {
        lp_error_set(err, LP_E_TOO_LARGE, "presigned URL is longer than its buffer");
        goto cleanup;
    }
    rc = 0;
cleanup:
    lp_buf_free(&credential);
    lp_buf_free(&canon);
    lp_buf_free(&names);
    lp_buf_free(&query);
    return rc;
}
