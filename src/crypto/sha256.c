/* SHA-256 and HMAC-SHA256 over OpenSSL 3 EVP. */
#include "loupe/crypto/sha256.h"

#include <pthread.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto_int.h"
#include "loupe/core/util.h"

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256;
static EVP_MAC *mac_hmac;

static void fetch_algorithms(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

EVP_MD *lp_crypto_md_sha256(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return md_sha256;
}

EVP_MAC *lp_crypto_mac_hmac(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return mac_hmac;
}

int lp_sha256(const void *p, size_t n, uint8_t out[LP_SHA256_LEN])
{
    EVP_MD *md = lp_crypto_md_sha256();
    unsigned int len = 0;
    static const uint8_t empty[1];
    if (!md)
        return -1;
    return EVP_Digest(p ? p : empty, n, out, &len, md, NULL) == 1 && len == LP_SHA256_LEN ? 0 : -1;
}

int lp_sha256_hex(const void *p, size_t n, char out[LP_SHA256_HEX_LEN + 1])
{
    uint8_t d[LP_SHA256_LEN];
    if (lp_sha256(p, n, d) != 0) {
        out[0] = '\0';
        return -1;
    }
    lp_hex_encode(d, sizeof d, out);
    return 0;
}

int lp_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                   uint8_t out[LP_SHA256_LEN])
{
    static const uint8_t empty[1];
    EVP_MAC *mac = lp_crypto_mac_hmac();
    EVP_MAC_CTX *ctx = NULL;
    size_t len = 0;
    int rc = -1;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };

    if (!mac || !(ctx = EVP_MAC_CTX_new(mac)))
        goto cleanup;
    if (EVP_MAC_init(ctx, key_len ? key : empty, key_len, params) != 1)
        goto cleanup;
    if (EVP_MAC_update(ctx, msg_len ? msg : empty, msg_len) != 1)
        goto cleanup;
    if (EVP_MAC_final(ctx, out, &len, LP_SHA256_LEN) != 1 || len != LP_SHA256_LEN)
        goto cleanup;
    rc = 0;
cleanup:
    EVP_MAC_CTX_free(ctx);
    return rc;
}

struct lp_sha256_ctx {
    EVP_MD_CTX *md;
    int finalized;
};

lp_sha256_ctx *lp_sha256_new(void)
{
    lp_sha256_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!(c->md = EVP_MD_CTX_new()) || lp_sha256_reset(c) != 0) {
        lp_sha256_free(c);
        return NULL;
    }
    return c;
}

int lp_sha256_reset(lp_sha256_ctx *c)
{
    EVP_MD *md = lp_crypto_md_sha256();
    if (!md || EVP_DigestInit_ex2(c->md, md, NULL) != 1)
        return -1;
    c->finalized = 0;
    return 0;
}

int lp_sha256_update(lp_sha256_ctx *c, const void *p, size_t n)
{
    if (c->finalized)
        return -1;
    if (n == 0)
        return 0;
    return EVP_DigestUpdate(c->md, p, n) == 1 ? 0 : -1;
}

int lp_sha256_final(lp_sha256_ctx *c, uint8_t out[LP_SHA256_LEN], char hex[LP_SHA256_HEX_LEN + 1])
{
    unsigned int len = 0;
    if (c->finalized)
        return -1;
    c->finalized = 1;
    if (EVP_DigestFinal_ex(c->md, out, &len) != 1 || len != LP_SHA256_LEN)
        return -1;
    if (hex)
        lp_hex_encode(out, LP_SHA256_LEN, hex);
    return 0;
}

void lp_sha256_free(lp_sha256_ctx *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    free(c);
}
