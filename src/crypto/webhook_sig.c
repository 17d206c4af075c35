/* Standard Webhooks signatures. See loupe/crypto/webhook_sig.h. */
#include "loupe/crypto/webhook_sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/crypto/encode.h"
#include "loupe/crypto/sha256.h"

#define PREFIX_LEN (sizeof(LP_WEBHOOK_SECRET_PREFIX) - 1)
#define MSG_ID_MAX 256

int lp_webhook_secret_new(char *out, size_t cap)
{
    uint8_t key[LP_WEBHOOK_SECRET_BYTES];
    if (cap < PREFIX_LEN + lp_base64_len(sizeof(key)) + 1 || lp_random_bytes(key, sizeof(key)) != 0) {
        if (cap)
            out[0] = '\0';
        return -1;
    }
    memcpy(out, LP_WEBHOOK_SECRET_PREFIX, PREFIX_LEN);
    lp_base64_encode(key, sizeof(key), out + PREFIX_LEN, cap - PREFIX_LEN);
    return 0;
}

long lp_webhook_secret_key(const char *secret, uint8_t key[LP_WEBHOOK_KEY_MAX])
{
    long n;
    if (!secret)
        return -1;
    if (strncmp(secret, LP_WEBHOOK_SECRET_PREFIX, PREFIX_LEN) == 0)
        secret += PREFIX_LEN;
    n = lp_base64_decode(secret, strlen(secret), key, LP_WEBHOOK_KEY_MAX);
    return n > 0 ? n : -1;
}

/* HMAC-SHA256(key, "id.timestamp.body") */
static int mac(const uint8_t *key, size_t key_len, const char *msg_id, int64_t timestamp, const void *body,
               size_t len, uint8_t out[LP_SHA256_LEN])
{
    lp_buf b;
    int rc;
    lp_buf_init(&b, MSG_ID_MAX + 32 + len);
    rc = lp_buf_printf(&b, "%s.%lld.", msg_id, (long long)timestamp) == 0 && lp_buf_append(&b, body, len) == 0 &&
                 lp_hmac_sha256(key, key_len, b.data, b.len, out) == 0
             ? 0
             : -1;
    lp_buf_free(&b);
    return rc;
}

int lp_webhook_sign(const char *secret, const char *msg_id, int64_t timestamp, const void *body, size_t len,
                    char out[LP_WEBHOOK_SIG_LEN], lp_error *err)
{
    uint8_t key[LP_WEBHOOK_KEY_MAX], d[LP_SHA256_LEN];
    long n = lp_webhook_secret_key(secret, key);
    out[0] = '\0';
    if (n < 0)
        return lp_error_set(err, LP_E_INTERNAL, "the webhook secret is not whsec_ and base64");
    if (!*msg_id || strlen(msg_id) > MSG_ID_MAX) /* what lp_webhook_verify refuses is never signed */
        return lp_error_set(err, LP_E_INTERNAL, "the webhook message id is empty or longer than %d bytes", MSG_ID_MAX);
    if (mac(key, (size_t)n, msg_id, timestamp, body, len, d) != 0)
        return lp_error_set(err, LP_E_NOMEM, "cannot compute the webhook signature");
    memcpy(out, "v1,", 3);
    lp_base64_encode(d, sizeof(d), out + 3, LP_WEBHOOK_SIG_LEN - 3);
    return 0;
}

int lp_webhook_verify(const char *const *secrets, size_t nsecrets, const char *msg_id, const char *timestamp_text,
                      const char *sig_header, const void *body, size_t len, int64_t now_s, int64_t tolerance_s,
                      lp_error *err)
{
    char *end;
    long long ts;

    if (!msg_id || !*msg_id || strlen(msg_id) > MSG_ID_MAX)
        return lp_error_set(err, LP_E_UNAUTHENTICATED, "the webhook-id header is missing or longer than %d bytes",
                            MSG_ID_MAX);
    if (!timestamp_text || !*timestamp_text)
        return lp_error_set(err, LP_E_UNAUTHENTICATED, "the webhook-timestamp header is missing");
    ts = strtoll(timestamp_text, &end, 10);
    if (*end || end == timestamp_text || ts < 0)
        return lp_error_set(err, LP_E_UNAUTHENTICATED, "webhook-timestamp is not a number of seconds");
    if (ts < now_s - tolerance_s || ts > now_s + tolerance_s)
        return lp_error_set(err, LP_E_UNAUTHENTICATED,
                            "webhook-timestamp is more than %lld s away from now; send it again with a fresh timestamp",
                            (long long)tolerance_s);
    if (!sig_header || !*sig_header)
        return lp_error_set(err, LP_E_UNAUTHENTICATED, "the webhook-signature header is missing");
    for (size_t i = 0; i < nsecrets; i++) {
        uint8_t key[LP_WEBHOOK_KEY_MAX], d[LP_SHA256_LEN];
        long n = lp_webhook_secret_key(secrets[i], key);
        if (n < 0 || mac(key, (size_t)n, msg_id, ts, body, len, d) != 0)
            continue;
        for (const char *p = sig_header; *p;) {
            size_t tok = strcspn(p, " ");
            uint8_t got[LP_SHA256_LEN + 3];
            if (tok > 3 && strncmp(p, "v1,", 3) == 0 &&
                lp_base64_decode(p + 3, tok - 3, got, sizeof(got)) == LP_SHA256_LEN &&
                lp_const_time_eq(got, d, LP_SHA256_LEN))
                return 0;
            p += tok;
            while (*p == ' ')
                p++;
        }
    }
    return lp_error_set(err, LP_E_UNAUTHENTICATED, "no webhook-signature matches the integration's secret");
}
