/* The authentication service. See loupe/identity/authenticate.h.
 *
 * Credentials are looked up by what identifies them without revealing them:
 * an API key by its public prefix, then its SHA-256 compared in constant time
 * with the stored one; a session by the SHA-256 of its cookie token. The
 * cache is keyed by the same SHA-256, so a hit also proves possession.
 *
 * Abuse limits (docs/SECURITY.md): a key looked up in the database counts
 * against its client address when it names no key or its secret is wrong
 * (throttle.h, shared by every node); an accepted credential takes a token
 * from its bucket (api_rate_per_key, in this node's memory). */
#include "loupe/identity/authenticate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "loupe/core/log.h"
#include "loupe/core/token_bucket.h"
#include "loupe/core/util.h"
#include "loupe/crypto/api_key.h"
#include "loupe/crypto/sha256.h"
#include "loupe/crypto/token.h"
#include "loupe/db/api_keys_sql.h"
#include "loupe/db/db.h"
#include "loupe/db/sessions_sql.h"
#include "loupe/identity/credential_listener.h"
#include "loupe/identity/role.h"
#include "loupe/identity/throttle.h"

struct lp_auth {
    lp_credential_cache *cache;
    lp_credential_listener *listener;
    lp_token_buckets *rates; /* NULL: api_rate_per_key is 0 */
};

lp_auth *lp_auth_new(const lp_config *cfg, lp_error *err)
{
    lp_auth *a = calloc(1, sizeof *a);
    if (!a || !(a->cache = lp_credential_cache_new((size_t)cfg->auth_cache_entries, cfg->auth_cache_ttl))) {
        free(a);
        lp_error_set(err, LP_E_NOMEM, "out of memory creating the credential cache (auth_cache_entries)");
        return NULL;
    }
    if (cfg->api_rate_per_key > 0 &&
        !(a->rates = lp_token_buckets_new((size_t)cfg->api_rate_tracked_keys, (double)cfg->api_rate_per_key,
                                          cfg->api_rate_burst))) {
        lp_auth_free(a);
        lp_error_set(err, LP_E_NOMEM, "out of memory creating the request rate table (api_rate_tracked_keys)");
        return NULL;
    }
    if (cfg->auth_cache_entries > 0 &&
        !(a->listener = lp_credential_listener_start(lp_db_session_url(cfg->db_url, cfg->db_direct_url), cfg->db_statement_timeout, a->cache, err))) {
        lp_auth_free(a);
        return NULL;
    }
    return a;
}

void lp_auth_free(lp_auth *a)
{
    if (!a)
        return;
    lp_credential_listener_stop(a->listener);
    lp_credential_cache_free(a->cache);
    lp_token_buckets_free(a->rates);
    free(a);
}

lp_credential_cache *lp_auth_cache(lp_auth *a) { return a ? a->cache : NULL; }

const lp_credential *lp_auth_caller(const lp_req *req) { return req->who.profile; }

static lp_credential_cache *cache_of(const lp_req *req)
{
    return req->svc->authenticate == lp_auth_authenticate ? lp_auth_cache(req->svc->auth) : NULL;
}

void lp_auth_forget_credential(const lp_req *req, const char *credential_id)
{
    lp_credential_cache_drop_credential(cache_of(req), credential_id);
}

void lp_auth_forget_member(const lp_req *req, const char *team_id, const char *user_id)
{
    lp_credential_cache_drop_member(cache_of(req), team_id, user_id);
}

static int64_t now_unix_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int unauthenticated(lp_req *req, const char *msg, const char *hint)
{
    lp_error_set(&req->err, LP_E_UNAUTHENTICATED, "%s", msg);
    if (hint)
        lp_error_hint(&req->err, "%s", hint);
    return -1;
}

/* Takes a token from the credential's bucket: 0, or -1 with 429 and Retry-After. */
static int take_rate_token(lp_req *req, const lp_auth *a, const char *credential_id)
{
    char retry[24];
    int64_t wait;
    if (!a->rates || (wait = lp_token_buckets_take(a->rates, credential_id, lp_now_mono_ms())) == 0)
        return 0;
    snprintf(retry, sizeof retry, "%lld", (long long)((wait + 999) / 1000));
    lp_res_header(req, "Retry-After", retry);
    lp_error_set(&req->err, LP_E_RATE_LIMITED, "too many requests with this credential; try again in %s s", retry);
    return lp_error_hint(&req->err, "this node allows %lld requests per second per API key or session (api_rate_per_key)",
                         (long long)req->svc->cfg->api_rate_per_key);
}

/* Records who the request acts for once a credential has been accepted;
 * cred is kept (it lives in the request's arena). */
static int accept_credential(lp_req *req, lp_credential *cred)
{
    lp_credential *kept = lp_arena_memdup(req->arena, cred, sizeof *cred);
    if (!kept)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    req->who.authenticated = 1;
    req->who.via_session = cred->kind == LP_CREDENTIAL_SESSION;
    req->who.role = (int)cred->role;
    req->who.role_name = lp_role_name(cred->role);
    req->who.perms = lp_role_perms(cred->role);
    lp_strlcpy(req->who.user_id, cred->user_id, sizeof req->who.user_id);
    lp_strlcpy(req->who.team_id, cred->team_id, sizeof req->who.team_id);
    lp_strlcpy(req->who.credential_id, cred->id, sizeof req->who.credential_id);
    lp_strlcpy(req->who.csrf_token, cred->csrf_token, sizeof req->who.csrf_token);
    req->who.profile = kept;
    return 0;
}

/* Points cred's profile at m's strings (arena), copying the one m holds
 * inline. 0 or -1 (out of memory). */
static int set_profile(lp_req *req, lp_credential *cred, const lp_member_profile *m)
{
    cred->user_email = m->user_email;
    cred->user_name = m->user_name;
    cred->team_name = m->team_name;
    cred->team_slug = m->team_slug;
    cred->team_created_at = lp_arena_strdup(req->arena, m->team_created_at);
    return cred->team_created_at ? 0 : lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
}

/* ---- API keys ------------------------------------------------------------ */

/* Returns the credential after "ApiKey " or "Bearer " (case-insensitive
 * scheme), or NULL for another scheme. */
static const char *authorization_credential(const char *h)
{
    static const char *const schemes[] = {"ApiKey", "Bearer"};
    while (*h == ' ' || *h == '\t')
        h++;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(h, schemes[i], n) == 0 && (h[n] == ' ' || h[n] == '\t')) {
            h += n;
            while (*h == ' ' || *h == '\t')
                h++;
            return h;
        }
    }
    return NULL;
}

static int api_key_from_db(lp_req *req, lp_auth *a, const lp_api_key *parsed, lp_credential *cred)
{
    uint64_t generation = lp_credential_cache_generation(a->cache);
    lp_api_key_auth row;
    lp_role key_role, member_role;
    lp_db *db = lp_req_db(req);
    int found;

    if (!db || lp_throttle_api_key_check(req) != 0)
        return -1;
    found = lp_db_api_key_find(db, req->arena, parsed->prefix, &row, &req->err);
    if (found < 0)
        return -1;
    if (found == 1 || !lp_token_equal(row.key_hash, parsed->hash_hex)) {
        lp_throttle_api_key_failed(req);
        return unauthenticated(req, "API key is not valid", "check the key, or create a new one");
    }
    if (row.revoked)
        return unauthenticated(req, "API key was revoked", "create a new key");
    if (row.expired)
        return unauthenticated(req, "API key has expired", "create a new key");
    if (lp_role_parse(row.key_role, &key_role) != 0 || lp_role_parse(row.member_role, &member_role) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "API key %s has an unknown role", row.id);
    if (row.stale) {
        lp_error touch_err;
        lp_error_clear(&touch_err);
        if (lp_db_api_key_touch(db, row.id, &touch_err) != 0)
            LP_WARN("auth", "could not record the use of API key %s: %s", row.id, touch_err.message);
    }
    memset(cred, 0, sizeof *cred);
    cred->kind = LP_CREDENTIAL_API_KEY;
    lp_strlcpy(cred->id, row.id, sizeof cred->id);
    lp_strlcpy(cred->user_id, row.user_id, sizeof cred->user_id);
    lp_strlcpy(cred->team_id, row.team_id, sizeof cred->team_id);
    cred->role = lp_role_effective(key_role, member_role);
    cred->expires_at_ms = row.expires_at_ms;
    if (set_profile(req, cred, &row.member) != 0)
        return -1;
    lp_credential_cache_put(a->cache, LP_CREDENTIAL_API_KEY, parsed->hash_hex, cred, generation, now_unix_ms());
    return 0;
}

static int auth_api_key(lp_req *req, lp_auth *a, const char *header)
{
    const char *presented = authorization_credential(header);
    lp_api_key parsed;
    lp_credential cred;

    if (!presented)
        return unauthenticated(req, "unsupported Authorization scheme", "send \"Authorization: ApiKey <key>\"");
    if (lp_api_key_parse(presented, &parsed, &req->err) != 0)
        return -1;
    if (lp_credential_cache_get(a->cache, LP_CREDENTIAL_API_KEY, parsed.hash_hex, now_unix_ms(), req->arena, &cred) != 0 &&
        api_key_from_db(req, a, &parsed, &cred) != 0)
        return -1;
    if (take_rate_token(req, a, cred.id) != 0)
        return -1;
    return accept_credential(req, &cred);
}

/* ---- sessions ------------------------------------------------------------ */

static const char *const sign_in = "sign in again";

static int is_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

static int session_from_db(lp_req *req, lp_auth *a, const char *hash, lp_credential *cred)
{
    uint64_t generation = lp_credential_cache_generation(a->cache);
    lp_session_auth row;
    lp_role role;
    lp_db *db = lp_req_db(req);
    int found;

    if (!db)
        return -1;
    found = lp_db_session_find(db, req->arena, hash, &row, &req->err);
    if (found < 0)
        return -1;
    if (found == 1)
        return unauthenticated(req, "session is not valid", sign_in);
    if (row.revoked)
        return unauthenticated(req, "session has ended (signed out)", sign_in);
    if (row.expired)
        return unauthenticated(req, "session has expired", sign_in);
    if (lp_role_parse(row.role, &role) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "session %s has a member with an unknown role", row.id);
    memset(cred, 0, sizeof *cred);
    cred->kind = LP_CREDENTIAL_SESSION;
    lp_strlcpy(cred->id, row.id, sizeof cred->id);
    lp_strlcpy(cred->user_id, row.user_id, sizeof cred->user_id);
    lp_strlcpy(cred->team_id, row.team_id, sizeof cred->team_id);
    lp_strlcpy(cred->csrf_token, row.csrf_token, sizeof cred->csrf_token);
    cred->role = role;
    cred->expires_at_ms = row.expires_at_ms;
    if (set_profile(req, cred, &row.member) != 0)
        return -1;
    lp_credential_cache_put(a->cache, LP_CREDENTIAL_SESSION, hash, cred, generation, now_unix_ms());
    return 0;
}

static int auth_session(lp_req *req, lp_auth *a, const char *token)
{
    char hash[LP_SHA256_HEX_LEN + 1];
    lp_credential cred;

    /* Tokens are 43 characters; anything far longer is not one of ours. */
    if (strlen(token) > 256)
        return unauthenticated(req, "session is not valid", sign_in);
    if (lp_sha256_hex(token, strlen(token), hash) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "could not hash the session token");
    if (lp_credential_cache_get(a->cache, LP_CREDENTIAL_SESSION, hash, now_unix_ms(), req->arena, &cred) != 0 &&
        session_from_db(req, a, hash, &cred) != 0)
        return -1;
    if (!is_safe_method(req->method)) {
        const char *csrf = lp_req_header(req, LP_CSRF_HEADER);
        if (!csrf || !*csrf) {
            lp_error_set(&req->err, LP_E_FORBIDDEN, "missing " LP_CSRF_HEADER " header");
            return lp_error_hint(&req->err, "writes made with a session cookie must send the session's CSRF token "
                                            "(csrf_token in the login answer and in GET /api/v1/me)");
        }
        if (!lp_token_equal(csrf, cred.csrf_token)) {
            lp_error_set(&req->err, LP_E_FORBIDDEN, LP_CSRF_HEADER " does not match this session");
            return lp_error_hint(&req->err, "use csrf_token from GET /api/v1/me");
        }
    }
    if (take_rate_token(req, a, cred.id) != 0)
        return -1;
    return accept_credential(req, &cred);
}

int lp_auth_authenticate(void *auth, lp_req *req)
{
    lp_auth *a = auth;
    const char *authorization = lp_req_header(req, "Authorization");
    const char *cookie;

    memset(&req->who, 0, sizeof req->who);
    if (authorization && *authorization)
        return auth_api_key(req, a, authorization);
    cookie = lp_req_cookie(req, LP_SESSION_COOKIE);
    if (cookie && *cookie)
        return auth_session(req, a, cookie);
    return unauthenticated(req, "authentication required",
                           "send \"Authorization: ApiKey <key>\", or sign in at POST /api/v1/auth/login");
}
