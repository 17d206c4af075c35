/* A bounded table of token buckets keyed by short strings (a credential id):
 * the request rate limit per API key or session.
 *
 * Each key's bucket holds at most `burst` tokens and gains `rate` tokens per
 * second; a request takes one, or is refused with the time until the next
 * token. A new key starts with a full bucket. A full bucket is the same as no
 * bucket, so when a key needs room the table replaces the fullest bucket of
 * its neighbourhood: it never grows, and under more busy keys than it holds
 * it errs towards letting requests through.
 *
 * Thread-safe (one mutex per table; a take is a hash and a few compares).
 * Time is passed in (monotonic ms) so tests need not sleep. */
#ifndef LOUPE_CORE_TOKEN_BUCKET_H
#define LOUPE_CORE_TOKEN_BUCKET_H

#include <stddef.h>
#include <stdint.h>

#define LP_TOKEN_BUCKET_KEY_MAX 64

typedef struct lp_token_buckets lp_token_buckets;

/* New table of capacity ≥ 1 buckets, each gaining rate (> 0) tokens per second up
 * to burst (≥ 1). NULL when out of memory or a value is out of range. Free with
 * lp_token_buckets_free. */
lp_token_buckets *lp_token_buckets_new(size_t capacity, double rate, int64_t burst);
void lp_token_buckets_free(lp_token_buckets *t); /* NULL is a no-op */

/* Takes a token from key's bucket: 0 when there was one, else the ms until
 * there will be (nothing taken). Keys longer than LP_TOKEN_BUCKET_KEY_MAX are
 * compared on their first bytes. */
int64_t lp_token_buckets_take(lp_token_buckets *t, const char *key, int64_t now_ms);

#endif
