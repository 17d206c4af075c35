/* SHA-256 and HMAC-SHA256 (OpenSSL 3 EVP).
 *
 * One-shot functions for small inputs, and an opaque streaming context for
 * data that arrives in chunks (uploads, files). All functions are thread-safe;
 * a context belongs to one thread at a time. */
#ifndef LOUPE_CRYPTO_SHA256_H
#define LOUPE_CRYPTO_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LP_SHA256_LEN 32
#define LP_SHA256_HEX_LEN 64 /* hex text without the NUL */

/* The SHA-256 of the empty string, in hex (SigV4 uses it for empty bodies). */
#define LP_SHA256_EMPTY_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Digest of n bytes at p into out. Returns 0, or -1 if OpenSSL failed
 * (out of memory). p may be NULL when n is 0. */
int lp_sha256(const void *p, size_t n, uint8_t out[LP_SHA256_LEN]);

/* Same, as lowercase hex (65 bytes with the NUL). */
int lp_sha256_hex(const void *p, size_t n, char out[LP_SHA256_HEX_LEN + 1]);

/* HMAC-SHA256 of msg under key. Returns 0 or -1 (OpenSSL failure). */
int lp_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                   uint8_t out[LP_SHA256_LEN]);

/* Streaming SHA-256. */
typedef struct lp_sha256_ctx lp_sha256_ctx;

/* New context, ready for updates. NULL on out-of-memory. Free with lp_sha256_free. */
lp_sha256_ctx *lp_sha256_new(void);

/* Feeds n bytes. Returns 0, or -1 if the context is already finalized or
 * OpenSSL failed. */
int lp_sha256_update(lp_sha256_ctx *c, const void *p, size_t n);

/* Finishes: writes the digest to out (and its hex to hex when not NULL).
 * Afterwards the context accepts no more updates until lp_sha256_reset.
 * Returns 0 or -1. */
int lp_sha256_final(lp_sha256_ctx *c, uint8_t out[LP_SHA256_LEN], char hex[LP_SHA256_HEX_LEN + 1]);

/* Starts over (for reuse after final). Returns 0 or -1. */
int lp_sha256_reset(lp_sha256_ctx *c);

/* NULL is a no-op. */
void lp_sha256_free(lp_sha256_ctx *c);

#endif
