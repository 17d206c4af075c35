/* Brute-force limits (docs/SECURITY.md, "Brute force and abuse").
 *
 * Failed sign-ins (and failed invitation accepts) are counted per (client
 * address, account), per client address and per account; failed API key
 * look-ups (an unknown key, a wrong secret) per client address. Each counter
 * has exponential back-off: while any counter of a request owes a wait, the
 * request answers 429 with Retry-After — the right password or key included.
 * The account-wide wait is capped at signin_account_backoff_max, so failures
 * sent from many addresses delay a real user by at most that much at a time.
 *
 * The counters live in PostgreSQL (loupe/db/auth_failures_sql.h): failures
 * are rare, and a budget must not grow with the number of louped nodes. Each
 * call uses the request's pooled connection (lp_req_db); call the *_failed
 * functions outside any transaction that is about to roll back. */
#ifndef LOUPE_IDENTITY_THROTTLE_H
#define LOUPE_IDENTITY_THROTTLE_H

#include "loupe/http/request.h"

/* Before checking a password for email (lower-cased): 0, or -1 with 429 in
 * req->err and the Retry-After header set (or another error). */
int lp_throttle_signin_check(lp_req *req, const char *email);
/* After a wrong password or an unknown email. Failures to record are logged. */
void lp_throttle_signin_failed(lp_req *req, const char *email);
/* After a right password: that account's counter from this address starts afresh. */
void lp_throttle_signin_succeeded(lp_req *req, const char *email);

/* Before looking an API key up in the database: 0, or -1 with 429 in req->err
 * and Retry-After set (or another error). */
int lp_throttle_api_key_check(lp_req *req);
/* After a key that names no key, or whose secret is wrong. */
void lp_throttle_api_key_failed(lp_req *req);

#endif
