/* The credential cache (src/identity/credential_cache.c): hits and misses,
 * the safety TTL and the credential's own expiry, invalidation by every
 * notification kind, the generation check that keeps a stale read out, the
 * bound on its size, and that nothing is served while it is not live. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "loupe/identity/credential_cache.h"

#define T0 1700000000000LL
#define TTL 10000

static const char *hash_of(int i)
{
    static char h[8][65];
    static int next;
    char *out = h[next++ % 8];
    /* spread over shards and buckets like a real SHA-256 would */
    snprintf(out, 65, "%016x%048d", (unsigned)(i * 2654435761u), i);
    return out;
}

static lp_credential member(const char *id, const char *team, const char *user)
{
    lp_credential c;
    memset(&c, 0, sizeof c);
    c.kind = LP_CREDENTIAL_API_KEY;
    snprintf(c.id, sizeof c.id, "%s", id);
    snprintf(c.team_id, sizeof c.team_id, "%s", team);
    snprintf(c.user_id, sizeof c.user_id, "%s", user);
    c.role = LP_ROLE_ADMIN;
    c.user_email = "ann@example.com";
    c.user_name = "Ann";
    c.team_name = "Vision";
    c.team_slug = "vision";
    c.team_created_at = "2026-01-02T03:04:05.678Z";
    return c;
}

static lp_credential_cache *live_cache(size_t cap)
{
    lp_credential_cache *c = lp_credential_cache_new(cap, TTL);
    assert_non_null(c);
    lp_credential_cache_set_live(c, 1);
    return c;
}

static int cached(lp_credential_cache *c, const char *hash, int64_t now, lp_credential *out)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_credential tmp;
    int rc = lp_credential_cache_get(c, LP_CREDENTIAL_API_KEY, hash, now, a, out ? out : &tmp);
    if (out && rc == 0) { /* the strings must outlive the arena for the checks */
        static char email[64];
        snprintf(email, sizeof email, "%s", out->user_email);
        out->user_email = email;
        out->user_name = out->team_name = out->team_slug = out->team_created_at = NULL;
    }
    lp_arena_free(a);
    return rc;
}

static void put(lp_credential_cache *c, const char *hash, const lp_credential *cred, int64_t now)
{
    lp_credential_cache_put(c, LP_CREDENTIAL_API_KEY, hash, cred, lp_credential_cache_generation(c), now);
}

static void test_hit_copy_and_kinds(void **state)
{
    (void)state;
    lp_credential_cache *c = live_cache(100);
    lp_credential m = member("k1", "t1", "u1"), got;
    const char *h = hash_of(1);
    assert_int_equal(cached(c, h, T0, NULL), 1);
    put(c, h, &m, T0);
    assert_int_equal(cached(c, h, T0 + 1, &got), 0);
    assert_string_equal(got.id, "k1");
    assert_string_equal(got.user_email, "ann@example.com");
    assert_int_equal(got.role, LP_ROLE_ADMIN);
    /* the same hash as a session is another credential */
    lp_arena *a = lp_arena_new(0, 0);
    assert_int_equal(lp_credential_cache_get(c, LP_CREDENTIAL_SESSION, h, T0, a, &got), 1);
    lp_arena_free(a);
    /* malformed keys never match */
    assert_int_equal(cached(c, "abc", T0, NULL), 1);
    lp_credential_cache_stats s;
    lp_credential_cache_get_stats(c, &s);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.entries, 1);
    lp_credential_cache_free(c);
}

static void test_ttl_and_expiry(void **state)
{
    (void)state;
    lp_credential_cache *c = live_cache(100);
    lp_credential m = member("k1", "t1", "u1");
    const char *h = hash_of(2), *h2 = hash_of(3);
    put(c, h, &m, T0);
    assert_int_equal(cached(c, h, T0 + TTL - 1, NULL), 0);
    assert_int_equal(cached(c, h, T0 + TTL, NULL), 1); /* the safety TTL */
    assert_int_equal(cached(c, h, T0 + 1, NULL), 1);   /* and it was dropped */
    m.expires_at_ms = T0 + 500;                        /* the key's own expiry comes first */
    put(c, h2, &m, T0);
    assert_int_equal(cached(c, h2, T0 + 499, NULL), 0);
    assert_int_equal(cached(c, h2, T0 + 500, NULL), 1);
    lp_credential_cache_free(c);
}

static void test_invalidation(void **state)
{
    (void)state;
    lp_credential_cache *c = live_cache(100);
    lp_credential k1 = member("k1", "t1", "u1"), k2 = member("k2", "t1", "u2"), k3 = member("k3", "t2", "u1");
    const char *h1 = hash_of(11), *h2 = hash_of(12), *h3 = hash_of(13);
    put(c, h1, &k1, T0);
    put(c, h2, &k2, T0);
    put(c, h3, &k3, T0);

    lp_credential_cache_apply(c, "key k2");
    assert_int_equal(cached(c, h2, T0, NULL), 1);
    assert_int_equal(cached(c, h1, T0, NULL), 0);

    lp_credential_cache_apply(c, "member t2 u1"); /* role change or removal in t2 only */
    assert_int_equal(cached(c, h3, T0, NULL), 1);
    assert_int_equal(cached(c, h1, T0, NULL), 0);

    put(c, h3, &k3, T0);
    lp_credential_cache_apply(c, "user u1"); /* the user's profile changed: every team */
    assert_int_equal(cached(c, h1, T0, NULL), 1);
    assert_int_equal(cached(c, h3, T0, NULL), 1);

    put(c, h1, &k1, T0);
    put(c, h2, &k2, T0);
    lp_credential_cache_apply(c, "team t1");
    assert_int_equal(cached(c, h1, T0, NULL), 1);
    assert_int_equal(cached(c, h2, T0, NULL), 1);

    put(c, h1, &k1, T0);
    lp_credential_cache_apply(c, "session nobody");
    assert_int_equal(cached(c, h1, T0, NULL), 0);
    lp_credential_cache_apply(c, "something new"); /* unknown: everything goes */
    assert_int_equal(cached(c, h1, T0, NULL), 1);
    lp_credential_cache_free(c);
}

static void test_generation_keeps_stale_reads_out(void **state)
{
    (void)state;
    lp_credential_cache *c = live_cache(100);
    lp_credential k1 = member("k1", "t1", "u1");
    const char *h = hash_of(21);
    uint64_t before = lp_credential_cache_generation(c); /* a look-up reads the database… */
    lp_credential_cache_apply(c, "key k1");             /* …the key is revoked meanwhile… */
    lp_credential_cache_put(c, LP_CREDENTIAL_API_KEY, h, &k1, before, T0);
    assert_int_equal(cached(c, h, T0, NULL), 1); /* …and what it read is not cached */
    lp_credential_cache_free(c);
}

static void test_not_live(void **state)
{
    (void)state;
    lp_credential_cache *c = lp_credential_cache_new(100, TTL);
    lp_credential k1 = member("k1", "t1", "u1");
    const char *h = hash_of(31);
    put(c, h, &k1, T0); /* no listener yet: nothing is stored */
    lp_credential_cache_set_live(c, 1);
    assert_int_equal(cached(c, h, T0, NULL), 1);
    put(c, h, &k1, T0);
    assert_int_equal(cached(c, h, T0, NULL), 0);
    lp_credential_cache_set_live(c, 0); /* the listener lost its connection */
    assert_int_equal(cached(c, h, T0, NULL), 1);
    lp_credential_cache_set_live(c, 1);
    assert_int_equal(cached(c, h, T0, NULL), 1); /* cleared, not just hidden */
    lp_credential_cache_free(c);
}

static void test_bounded(void **state)
{
    (void)state;
    lp_credential_cache *c = live_cache(64);
    lp_credential k = member("k", "t1", "u1");
    for (int i = 0; i < 1000; i++)
        put(c, hash_of(1000 + i), &k, T0);
    lp_credential_cache_stats s;
    lp_credential_cache_get_stats(c, &s);
    assert_true(s.entries <= 64);
    assert_true(s.entries >= 48); /* every shard fills up */
    assert_int_equal(s.evictions, 1000 - s.entries);
    assert_int_equal(cached(c, hash_of(1999), T0, NULL), 0); /* the newest stays */
    lp_credential_cache_free(c);

    c = live_cache(0); /* off */
    put(c, hash_of(1), &k, T0);
    assert_int_equal(cached(c, hash_of(1), T0, NULL), 1);
    lp_credential_cache_free(c);
}

static void test_touches(void **state)
{
    (void)state;
    lp_credential_cache *c = live_cache(100);
    lp_credential k1 = member("k1", "t1", "u1");
    const char *h = hash_of(41);
    char ids[4][37];
    put(c, h, &k1, T0);
    assert_int_equal(cached(c, h, T0 + 1000, NULL), 0);
    assert_int_equal(lp_credential_cache_take_touches(c, ids, 4), 0); /* used a second after it was read */
    lp_credential_cache_free(c);
    c = lp_credential_cache_new(100, 10 * LP_CREDENTIAL_TOUCH_MS);
    lp_credential_cache_set_live(c, 1);
    put(c, h, &k1, T0);
    assert_int_equal(cached(c, h, T0 + LP_CREDENTIAL_TOUCH_MS, NULL), 0);
    assert_int_equal(lp_credential_cache_take_touches(c, ids, 4), 1);
    assert_string_equal(ids[0], "k1");
    assert_int_equal(lp_credential_cache_take_touches(c, ids, 4), 0); /* handed out once */
    lp_credential_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_copy_and_kinds), cmocka_unit_test(test_ttl_and_expiry),
        cmocka_unit_test(test_invalidation),       cmocka_unit_test(test_generation_keeps_stale_reads_out),
        cmocka_unit_test(test_not_live),           cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_touches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
