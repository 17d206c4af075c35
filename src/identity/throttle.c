/* Brute-force limits. See loupe/identity/throttle.h. */
#include "loupe/identity/throttle.h"

#include <stdio.h>

#include "loupe/core/log.h"
#include "loupe/db/auth_failures_sql.h"

#define CLIENT_ADDRESS_MAX 64

/* The counters one sign-in attempt touches: (address, account), address, account. */
typedef struct signin_keys {
    char address[CLIENT_ADDRESS_MAX];
    char pair[CLIENT_ADDRESS_MAX + 320];
    lp_auth_failure_key k[3];
} signin_keys;

static void signin_keys_make(const lp_req *req, const char *email, signin_keys *s)
{
    const lp_config *c = req->svc->cfg;
    lp_req_client_address(req, s->address, sizeof s->address);
    snprintf(s->pair, sizeof s->pair, "%s %s", s->address, email);
    s->k[0] = (lp_auth_failure_key){"signin_pair", s->pair, c->signin_free_attempts, c->signin_backoff_max};
    s->k[1] = (lp_auth_failure_key){"signin_address", s->address, 4 * c->signin_free_attempts, c->signin_backoff_max};
    s->k[2] = (lp_auth_failure_key){"signin_account", email, 4 * c->signin_free_attempts,
                                    c->signin_account_backoff_max};
}

/* 0 when none of keys owes a wait; else 429 with Retry-After and what. */
static int check(lp_req *req, const lp_auth_failure_key *keys, size_t n, const char *what, const char *hint)
{
    lp_db *db = lp_req_db(req);
    char retry[24];
    int64_t wait;

    if (!db || lp_db_auth_failures_wait(db, req->arena, keys, n, &wait, &req->err) != 0)
        return -1;
    if (wait <= 0)
        return 0;
    snprintf(retry, sizeof retry, "%lld", (long long)((wait + 999) / 1000));
    lp_res_header(req, "Retry-After", retry);
    lp_error_set(&req->err, LP_E_RATE_LIMITED, "too many %s; try again in %s s", what, retry);
    return lp_error_hint(&req->err, "%s", hint);
}

static void record(lp_req *req, const lp_auth_failure_key *keys, size_t n, int64_t base_ms)
{
    lp_db *db = lp_req_db(req);
    lp_error err;
    lp_error_clear(&err);
    if (!db)
        return; /* req->err says why; the request fails anyway */
    if (lp_db_auth_failures_record(db, req->arena, keys, n, base_ms, req->svc->cfg->signin_forget_after, &err) != 0)
        LP_WARN("auth", "could not count a failed %s: %s", keys[0].scope, err.message);
}

int lp_throttle_signin_check(lp_req *req, const char *email)
{
    signin_keys s;
    signin_keys_make(req, email, &s);
    return check(req, s.k, 3, "failed sign-ins",
                 "each further failure doubles the wait; a successful sign-in resets it");
}

void lp_throttle_signin_failed(lp_req *req, const char *email)
{
    signin_keys s;
    signin_keys_make(req, email, &s);
    record(req, s.k, 3, req->svc->cfg->signin_backoff_base);
}

void lp_throttle_signin_succeeded(lp_req *req, const char *email)
{
    lp_db *db = lp_req_db(req);
    lp_error err;
    signin_keys s;

    lp_error_clear(&err);
    signin_keys_make(req, email, &s);
    if (db && lp_db_auth_failures_clear(db, s.k[0].scope, s.k[0].key, &err) != 0)
        LP_WARN("auth", "could not reset the failed sign-ins of a successful one: %s", err.message);
}

static lp_auth_failure_key api_key_counter(const lp_req *req, char address[CLIENT_ADDRESS_MAX])
{
    const lp_config *c = req->svc->cfg;
    lp_req_client_address(req, address, CLIENT_ADDRESS_MAX);
    return (lp_auth_failure_key){"api_key_address", address, c->api_key_guess_free_attempts,
                                 c->api_key_guess_backoff_max};
}

int lp_throttle_api_key_check(lp_req *req)
{
    char address[CLIENT_ADDRESS_MAX];
    lp_auth_failure_key k = api_key_counter(req, address);
    return check(req, &k, 1, "invalid API keys from this address",
                 "each further invalid key doubles the wait; check the key before trying again");
}

void lp_throttle_api_key_failed(lp_req *req)
{
    char address[CLIENT_ADDRESS_MAX];
    lp_auth_failure_key k = api_key_counter(req, address);
    record(req, &k, 1, req->svc->cfg->api_key_guess_backoff_base);
}
