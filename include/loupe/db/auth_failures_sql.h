/* Failure counters with exponential back-off, kept in PostgreSQL so that every
 * louped node sees the same ones (src/db/auth_failures_sql.c; the sign-in and
 * API key guessing limits of loupe/identity/throttle.h).
 *
 * A counter is (scope, key). It may fail `free` times at no cost; its n-th
 * failure beyond those blocks it for base·2^(n−1) ms, capped at max_ms. A
 * counter whose last failure is older than forget_ms starts afresh. */
#ifndef LOUPE_DB_AUTH_FAILURES_SQL_H
#define LOUPE_DB_AUTH_FAILURES_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

#define LP_AUTH_FAILURE_KEYS_MAX 4

typedef struct lp_auth_failure_key {
    const char *scope; /* borrowed */
    const char *key;   /* borrowed */
    int64_t free;      /* failures at no cost */
    int64_t max_ms;    /* longest block */
} lp_auth_failure_key;

/* The arena a holds the statements' parameters.
 *
 * The longest block any of keys[0..n) still owes, in ms (0 = none) into
 * *wait_ms. n ≤ LP_AUTH_FAILURE_KEYS_MAX. 0 or -1. */
int lp_db_auth_failures_wait(lp_db *db, lp_arena *a, const lp_auth_failure_key *keys, size_t n, int64_t *wait_ms, lp_error *err);

/* Counts one failure against each of keys[0..n) in one statement, and drops
 * counters not failed for forget_ms. 0 or -1. */
int lp_db_auth_failures_record(lp_db *db, lp_arena *a, const lp_auth_failure_key *keys, size_t n, int64_t base_ms,
                               int64_t forget_ms, lp_error *err);

/* Forgets one counter (a success). 0 or -1. */
int lp_db_auth_failures_clear(lp_db *db, const char *scope, const char *key, lp_error *err);

#endif
