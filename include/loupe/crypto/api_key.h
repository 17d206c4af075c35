/* API keys: "lp_<prefix>_<secret>".
 *
 *   lp_k3x9q0az_Vb1…(43 base64url characters)
 *
 * The prefix is 8 random characters of [a-z0-9]; it is shown in the UI and
 * used to find the key's row. The secret is 32 random bytes in base64url. Only
 * the SHA-256 (hex) of the whole key text is stored; a presented key is parsed,
 * hashed and compared with lp_token_equal against the stored hash of the row
 * its prefix names. A key is shown to its owner once, at creation. */
#ifndef LOUPE_CRYPTO_API_KEY_H
#define LOUPE_CRYPTO_API_KEY_H

#include "loupe/core/error.h"
#include "loupe/crypto/sha256.h"

#define LP_API_KEY_PREFIX_LEN 8
#define LP_API_KEY_SECRET_LEN 43 /* base64url of 32 bytes */
#define LP_API_KEY_LEN (3 + LP_API_KEY_PREFIX_LEN + 1 + LP_API_KEY_SECRET_LEN) /* 55 */

typedef struct lp_api_key {
    char key[LP_API_KEY_LEN + 1];               /* the full key; secret, show once */
    char prefix[LP_API_KEY_PREFIX_LEN + 1];     /* public identifier */
    char hash_hex[LP_SHA256_HEX_LEN + 1];       /* what the database stores */
} lp_api_key;

/* Generates a new random key. Returns 0, or -1 with err set (LP_E_INTERNAL if
 * the CSPRNG failed). */
int lp_api_key_generate(lp_api_key *out, lp_error *err);

/* Parses a presented key: checks its form and fills out->prefix and
 * out->hash_hex (out->key gets a copy). Returns 0, or -1 with err
 * LP_E_UNAUTHENTICATED and a message saying what is wrong with the form
 * (never echoing the key). */
int lp_api_key_parse(const char *presented, lp_api_key *out, lp_error *err);

#endif
