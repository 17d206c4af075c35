/* The sign-in rate limit. See signin_guard_int.h. */
#include "signin_guard_int.h"

#include <pthread.h>
#include <stdio.h>

#include "loupe/core/backoff.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"

/* Shared by every request of the process, made from the configuration on
 * first use (the configuration never changes while the process runs). */
static pthread_mutex_t tables_mu = PTHREAD_MUTEX_INITIALIZER;
static int tables_made;
static lp_backoff *by_pair, *by_address, *by_account;

static void tables_init(const lp_config *c)
{
    lp_backoff_policy pair = {c->signin_free_attempts, c->signin_backoff_base, c->signin_backoff_max,
                              c->signin_forget_after};
    lp_backoff_policy address = pair, account = pair;
    address.free = account.free = 4 * c->signin_free_attempts;
    account.max_ms = c->signin_account_backoff_max;
    by_pair = lp_backoff_new((size_t)c->signin_tracked_keys, pair);
    by_address = lp_backoff_new((size_t)c->signin_tracked_keys, address);
    by_account = lp_backoff_new((size_t)c->signin_tracked_keys, account);
    if (!by_pair || !by_address || !by_account)
        LP_ERROR("auth", "out of memory for the sign-in limit tables: sign-in is refused");
}

typedef struct keys {
    char address[64];
    char pair[LP_BACKOFF_KEY_MAX + 1];
} keys;

static int tables(lp_req *req, const char *email, keys *k)
{
    int ok;
    pthread_mutex_lock(&tables_mu);
    if (!tables_made) {
        tables_init(req->svc->cfg);
        tables_made = 1;
    }
    ok = by_pair && by_address && by_account;
    pthread_mutex_unlock(&tables_mu);
    if (!ok)
        return -1;
    lp_req_client_address(req, k->address, sizeof k->address);
    snprintf(k->pair, sizeof k->pair, "%s %s", k->address, email);
    return 0;
}

int lp_signin_guard_check(lp_req *req, const char *email)
{
    int64_t now = lp_now_mono_ms(), wait, w;
    char retry[24];
    keys k;

    if (tables(req, email, &k) != 0)
        return lp_error_set(&req->err, LP_E_NOMEM, "the sign-in limit could not start; try again later");
    wait = lp_backoff_wait(by_pair, k.pair, now);
    if ((w = lp_backoff_wait(by_address, k.address, now)) > wait)
        wait = w;
    if ((w = lp_backoff_wait(by_account, email, now)) > wait)
        wait = w;
    if (wait <= 0)
        return 0;
    snprintf(retry, sizeof retry, "%lld", (long long)((wait + 999) / 1000));
    lp_res_header(req, "Retry-After", retry);
    lp_error_set(&req->err, LP_E_RATE_LIMITED, "too many failed sign-ins; try again in %s s", retry);
    return lp_error_hint(&req->err, "each further failure doubles the wait; a successful sign-in resets it");
}

void lp_signin_guard_failed(lp_req *req, const char *email)
{
    int64_t now = lp_now_mono_ms();
    keys k;
    if (tables(req, email, &k) != 0)
        return;
    lp_backoff_fail(by_pair, k.pair, now);
    lp_backoff_fail(by_address, k.address, now);
    lp_backoff_fail(by_account, email, now);
}

void lp_signin_guard_succeeded(lp_req *req, const char *email)
{
    keys k;
    if (tables(req, email, &k) != 0)
        return;
    lp_backoff_clear(by_pair, k.pair);
}
