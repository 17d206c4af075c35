/* Standard Webhooks signatures (https://www.standardwebhooks.com/):
 *
 *   secret     "whsec_" + base64 of the key bytes (we make 32 random bytes)
 *   signature  "v1," + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))
 *   header     webhook-signature: one or more signatures separated by spaces
 *              (during a secret rotation, one per valid secret)
 *
 * Used both ways: signing outbound deliveries and verifying what third
 * parties send in. */
#ifndef LOUPE_CRYPTO_WEBHOOK_SIG_H
#define LOUPE_CRYPTO_WEBHOOK_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"

#define LP_WEBHOOK_SECRET_PREFIX "whsec_"
#define LP_WEBHOOK_SECRET_BYTES 32
#define LP_WEBHOOK_KEY_MAX 64
/* "whsec_" + base64 of LP_WEBHOOK_KEY_MAX bytes + NUL */
#define LP_WEBHOOK_SECRET_MAX 96
/* "v1," + base64 of 32 bytes + NUL */
#define LP_WEBHOOK_SIG_LEN 48

/* A new secret ("whsec_" + base64 of LP_WEBHOOK_SECRET_BYTES random bytes)
 * into out (at least LP_WEBHOOK_SECRET_MAX bytes). 0, or -1 when the CSPRNG
 * failed. */
int lp_webhook_secret_new(char *out, size_t cap);

/* The key bytes of a secret (with or without the whsec_ prefix) into key
 * (LP_WEBHOOK_KEY_MAX bytes). Their count, or -1 if secret is not base64 of
 * 1..LP_WEBHOOK_KEY_MAX bytes. */
long lp_webhook_secret_key(const char *secret, uint8_t key[LP_WEBHOOK_KEY_MAX]);

/* "v1,<base64 signature>" of (msg_id, timestamp, body) under secret into
 * out (LP_WEBHOOK_SIG_LEN bytes). 0, or -1 with err for a bad secret or a
 * message id that lp_webhook_verify would refuse (empty, over 256 bytes). */
int lp_webhook_sign(const char *secret, const char *msg_id, int64_t timestamp, const void *body, size_t len,
                    char out[LP_WEBHOOK_SIG_LEN], lp_error *err);

/* Checks a received message: timestamp_text must be decimal seconds within
 * tolerance_s of now_s, and one of the space-separated v1 signatures of
 * sig_header must match one of the nsecrets secrets (constant-time).
 * 0, or -1 with err LP_E_UNAUTHENTICATED saying which check failed. */
int lp_webhook_verify(const char *const *secrets, size_t nsecrets, const char *msg_id, const char *timestamp_text,
                      const char *sig_header, const void *body, size_t len, int64_t now_s, int64_t tolerance_s,
                      lp_error *err);

#endif
