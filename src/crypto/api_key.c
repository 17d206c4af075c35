/* API keys "lp_<prefix>_<secret>": generation and parsing. */
#include "loupe/crypto/api_key.h"

#include <string.h>

#include <openssl/crypto.h>

#include "loupe/core/util.h"
#include "loupe/crypto/encode.h"
#include "loupe/crypto/token.h"

static const char prefix_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

/* Fills out[0..n) with uniform characters of prefix_alphabet (rejection
 * sampling: bytes >= 252 are drawn again so every character is equally likely). */
static int random_prefix(char *out, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b[16];
        if (lp_random_bytes(b, sizeof b) != 0)
            return -1;
        for (size_t j = 0; j < sizeof b && i < n; j++)
            if (b[j] < 252)
                out[i++] = prefix_alphabet[b[j] % 36];
    }
    out[n] = '\0';
    return 0;
}

int lp_api_key_generate(lp_api_key *out, lp_error *err)
{
    char secret[LP_API_KEY_SECRET_LEN + 1];
    memset(out, 0, sizeof *out);
    if (random_prefix(out->prefix, LP_API_KEY_PREFIX_LEN) != 0 ||
        lp_token_new(32, secret, sizeof secret) != 0) {
        memset(out, 0, sizeof *out);
        return lp_error_set(err, LP_E_INTERNAL, "could not read random bytes for an API key");
    }
    memcpy(out->key, "lp_", 3);
    memcpy(out->key + 3, out->prefix, LP_API_KEY_PREFIX_LEN);
    out->key[3 + LP_API_KEY_PREFIX_LEN] = '_';
    memcpy(out->key + 4 + LP_API_KEY_PREFIX_LEN, secret, LP_API_KEY_SECRET_LEN + 1);
    OPENSSL_cleanse(secret, sizeof secret);
    if (lp_sha256_hex(out->key, LP_API_KEY_LEN, out->hash_hex) != 0) {
        OPENSSL_cleanse(out, sizeof *out);
        return lp_error_set(err, LP_E_INTERNAL, "could not hash a new API key");
    }
    return 0;
}

int lp_api_key_parse(const char *presented, lp_api_key *out, lp_error *err)
{
    uint8_t raw[33];
    const char *secret;
    memset(out, 0, sizeof *out);
    if (!presented || strnlen(presented, LP_API_KEY_LEN + 1) != LP_API_KEY_LEN)
        return lp_error_set(err, LP_E_UNAUTHENTICATED, "API key has the wrong length: expected %d characters",
                            LP_API_KEY_LEN);
    if (memcmp(presented, "lp_", 3) != 0 || presented[3 + LP_API_KEY_PREFIX_LEN] != '_')
        return lp_error_set(err, LP_E_UNAUTHENTICATED, "API key does not have the form lp_<prefix>_<secret>");
    for (size_t i = 0; i < LP_API_KEY_PREFIX_LEN; i++)
        if (!strchr(prefix_alphabet, presented[3 + i]) || presented[3 + i] == '\0')
            return lp_error_set(err, LP_E_UNAUTHENTICATED, "API key prefix may only hold a-z and 0-9");
    secret = presented + 4 + LP_API_KEY_PREFIX_LEN;
    if (lp_base64url_decode(secret, LP_API_KEY_SECRET_LEN, raw, sizeof raw) != 32)
        return lp_error_set(err, LP_E_UNAUTHENTICATED, "API key secret is not 32 bytes of base64url");
    OPENSSL_cleanse(raw, sizeof raw);
    memcpy(out->key, presented, LP_API_KEY_LEN + 1);
    memcpy(out->prefix, presented + 3, LP_API_KEY_PREFIX_LEN);
    if (lp_sha256_hex(out->key, LP_API_KEY_LEN, out->hash_hex) != 0) {
        OPENSSL_cleanse(out, sizeof *out);
        return lp_error_set(err, LP_E_INTERNAL, "could not hash the presented API key");
    }
    return 0;
}
