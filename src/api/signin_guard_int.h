/* The sign-in rate limit (docs/SECURITY.md): failed sign-ins are counted per
 * (account, client address), per client address and per account, each with
 * exponential back-off (loupe/core/backoff.h); while any of the three owes a
 * wait, sign-in answers 429 with Retry-After — the right password included.
 * The account-wide wait is capped at signin_account_backoff_max, so failures
 * sent from many addresses delay a real user by at most that much at a time,
 * while one address that keeps guessing waits up to signin_backoff_max.
 *
 * The counters live in this process (each louped node limits on its own). */
#ifndef LOUPE_API_SIGNIN_GUARD_INT_H
#define LOUPE_API_SIGNIN_GUARD_INT_H

#include "loupe/http/request.h"

/* Before checking a password for email (lower-cased): 0, or -1 with 429 in
 * req->err and the Retry-After header set. */
int lp_signin_guard_check(lp_req *req, const char *email);
/* After a wrong password or an unknown email. */
void lp_signin_guard_failed(lp_req *req, const char *email);
/* After a right password: that account's counters from this address start afresh. */
void lp_signin_guard_succeeded(lp_req *req, const char *email);

#endif
