/* A bounded table of failure counters with exponential back-off, keyed by
 * short strings (an account, a client address): the sign-in rate limit.
 *
 * Each key may fail `free` times in a row at no cost; every further failure
 * makes it wait base·2^(n−1) (n = failures beyond the free ones), capped at
 * max, before its next attempt. A success clears the key; a key that has not
 * failed for `forget` is forgotten. The table holds at most `capacity` keys:
 * when it is full, the key that failed longest ago makes room (so a flood of
 * new keys can evict old ones but never makes the table grow).
 *
 * Thread-safe (one mutex; the calls are short and sign-ins are rare). Time is
 * passed in (monotonic ms) so tests need not sleep. */
#ifndef LOUPE_CORE_BACKOFF_H
#define LOUPE_CORE_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

#define LP_BACKOFF_KEY_MAX 128

typedef struct lp_backoff lp_backoff;

typedef struct lp_backoff_policy {
    int64_t free;      /* failures allowed before any wait */
    int64_t base_ms;   /* wait after the first failure beyond the free ones */
    int64_t max_ms;    /* longest wait */
    int64_t forget_ms; /* a key without a failure for this long starts afresh */
} lp_backoff_policy;

/* New table (capacity ≥ 1), or NULL when out of memory. Free with lp_backoff_free. */
lp_backoff *lp_backoff_new(size_t capacity, lp_backoff_policy policy);
void lp_backoff_free(lp_backoff *b); /* NULL is a no-op */

/* Milliseconds key must still wait before its next attempt (0 = may try now).
 * Keys longer than LP_BACKOFF_KEY_MAX are compared on their first bytes. */
int64_t lp_backoff_wait(lp_backoff *b, const char *key, int64_t now_ms);

/* Records a failed attempt; returns the wait it now owes (0 while free ones remain). */
int64_t lp_backoff_fail(lp_backoff *b, const char *key, int64_t now_ms);

/* Records a success: the key starts afresh. */
void lp_backoff_clear(lp_backoff *b, const char *key);

#endif
