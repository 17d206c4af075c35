/* AWS Signature Version 4 (header signing and presigned URLs).
 *
 * Implements the canonical request, string to sign, signing key derivation
 * and signature of
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
 * for the "AWS4-HMAC-SHA256" algorithm, as S3 applies it: the path is
 * URI-encoded once (segment by segment, '/' kept), not twice as for other
 * services, and is not normalized.
 *
 * Everything here is a pure function of its inputs; in particular the signing
 * time is always passed in, so a caller that passes the same time gets the
 * same signature (several nodes issue identical presigned URLs by flooring the
 * time to a window first; see loupe/storage/storage.h). Thread-safe. */
#ifndef LOUPE_CRYPTO_SIGV4_H
#define LOUPE_CRYPTO_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/buf.h"
#include "loupe/core/error.h"

#define LP_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define LP_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define LP_SIGV4_MAX_HEADERS 32   /* headers signed besides host */
#define LP_SIGV4_MAX_PARAMS 64    /* query parameters */
#define LP_SIGV4_MAX_EXPIRES 604800 /* seven days, the most S3 accepts */

typedef struct lp_sigv4_credentials {
    const char *access_key; /* "AKIAIOSFODNN7EXAMPLE" */
    const char *secret_key;
    const char *region;     /* "us-east-1" */
    const char *service;    /* "s3" */
} lp_sigv4_credentials;

/* A query parameter or header: raw text, not yet encoded. A parameter
 * without a value ("?uploads") has value "" (or NULL). */
typedef struct lp_sigv4_pair {
    const char *name;
    const char *value;
} lp_sigv4_pair;

typedef struct lp_sigv4_request {
    const char *method;   /* "GET", "PUT", … */
    const char *host;     /* Host header as sent: "bucket.s3.amazonaws.com", "127.0.0.1:9000" */
    const char *path;     /* absolute, decoded: "/bucket/photos/a b.jpg"; encoded when signing */
    const lp_sigv4_pair *query;   /* nquery raw parameters, any order */
    size_t nquery;
    const lp_sigv4_pair *headers; /* signed headers besides host, any case and order;
                                     each must be sent exactly as given (S3 wants
                                     x-amz-date and x-amz-content-sha256 here) */
    size_t nheaders;
    const char *payload_hash;     /* hex SHA-256 of the body, or LP_SIGV4_UNSIGNED_PAYLOAD */
    int64_t time;                 /* signing time, Unix seconds (UTC) */
} lp_sigv4_request;

/* Appends n bytes of s URI-encoded per AWS: A-Z a-z 0-9 - . _ ~ stay, every
 * other byte becomes %XX (uppercase hex); '/' stays when keep_slash is set.
 * Returns 0, or -1 if out's maximum would be passed. */
int lp_sigv4_uri_encode(const char *s, size_t n, int keep_slash, lp_buf *out);

/* "20130524T000000Z" of a Unix time (its first 8 characters are the date
 * stamp of the credential scope). Returns 0, or -1 for a time outside years
 * 1970..9999. */
int lp_sigv4_amz_date(int64_t t, char out[17]);

/* Appends the canonical request of r to out. Returns 0, or -1 with err set
 * (LP_E_INVALID naming the bad part: "sigv4.headers[2].name", too many
 * headers or parameters, a duplicate header; LP_E_TOO_LARGE if out is full). */
int lp_sigv4_canonical_request(const lp_sigv4_request *r, lp_buf *out, lp_error *err);

/* Appends the string to sign: algorithm, amz date, credential scope
 * ("<date>/<region>/<service>/aws4_request") and the hex SHA-256 of the
 * canonical request. Returns 0 or -1 with err set. */
int lp_sigv4_string_to_sign(const lp_sigv4_credentials *c, int64_t t, const char *canonical, size_t len,
                            lp_buf *out, lp_error *err);

/* The signing key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
 * date is the 8-character date stamp. Returns 0 or -1 (OpenSSL failure). */
int lp_sigv4_signing_key(const char *secret_key, const char *date, const char *region, const char *service,
                         uint8_t out[32]);

/* Signs r and appends the Authorization header value to out:
 * "AWS4-HMAC-SHA256 Credential=<key>/<scope>, SignedHeaders=<names>, Signature=<hex>".
 * Returns 0 or -1 with err set. */
int lp_sigv4_authorization(const lp_sigv4_credentials *c, const lp_sigv4_request *r, lp_buf *out, lp_error *err);

typedef struct lp_sigv4_presign {
    const char *method;  /* "GET" or "PUT" (any method is signed as given) */
    const char *scheme;  /* "https" or "http" */
    const char *host;    /* as in lp_sigv4_request */
    const char *path;    /* as in lp_sigv4_request */
    int64_t time;        /* signing time (X-Amz-Date), Unix seconds */
    int64_t expires;     /* X-Amz-Expires in seconds, 1..LP_SIGV4_MAX_EXPIRES */
} lp_sigv4_presign;

/* Appends a presigned URL to out:
 * "<scheme>://<host><encoded path>?X-Amz-Algorithm=…&X-Amz-Credential=…&X-Amz-Date=…
 *  &X-Amz-Expires=…&X-Amz-SignedHeaders=host&X-Amz-Signature=<hex>"
 * (parameters in canonical order, payload UNSIGNED-PAYLOAD). The same inputs
 * always give the same URL. Returns 0 or -1 with err set. */
int lp_sigv4_presign_url(const lp_sigv4_credentials *c, const lp_sigv4_presign *p, lp_buf *out, lp_error *err);

#endif
