/* Random tokens (base64url of CSPRNG bytes) and constant-time comparison. */
#include "loupe/crypto/token.h"

#include <string.h>

#include <openssl/crypto.h>

#include "loupe/core/util.h"
#include "loupe/crypto/encode.h"

int lp_token_new(size_t nbytes, char *out, size_t cap)
{
    unsigned char raw[LP_TOKEN_MAX_BYTES];
    int rc = -1;
    if (cap > 0)
        out[0] = '\0';
    if (nbytes == 0 || nbytes > LP_TOKEN_MAX_BYTES || lp_base64url_len(nbytes) >= cap)
        return -1;
    if (lp_random_bytes(raw, nbytes) != 0)
        goto cleanup;
    rc = lp_base64url_encode(raw, nbytes, out, cap) < 0 ? -1 : 0;
cleanup:
    OPENSSL_cleanse(raw, sizeof raw);
    return rc;
}

int lp_token_equal(const char *a, const char *b)
{
    size_t la, lb;
    if (!a || !b)
        return 0;
    la = strlen(a);
    lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}
