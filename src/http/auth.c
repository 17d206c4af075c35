/* Authentication (API keys, browser sessions) and the role table.
 * See loupe/http/auth.h and the lp_role_* functions in loupe/http/request.h.
 *
 * Credentials are looked up by what identifies them without revealing them:
 * an API key by its public prefix, then its SHA-256 compared in constant time
 * with the stored one; a session by the SHA-256 of its cookie token. Only a
 * caller who presents the real credential learns that it was revoked or has
 * expired; anything else is "not valid". */
#include "loupe/http/auth.h"

#include <string.h>
#include <strings.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/crypto/api_key.h"
#include "loupe/crypto/sha256.h"
#include "loupe/crypto/token.h"
#include "loupe/db/api_keys_sql.h"
#include "loupe/db/db.h"
#include "loupe/db/sessions_sql.h"

/* ---- roles --------------------------------------------------------------- */

/* The one table of who may do what: rows lp_role, columns lp_perm. */
static const unsigned char role_perms[LP_ROLE_OWNER + 1][LP_PERM_OWNER + 1] = {
    /*                  PUBLIC READ ANNOTATE REVIEW MANAGE OWNER */
    [LP_ROLE_NONE]      = {1, 0, 0, 0, 0, 0},
    [LP_ROLE_VIEWER]    = {1, 1, 0, 0, 0, 0},
    [LP_ROLE_ANNOTATOR] = {1, 1, 1, 0, 0, 0},
    [LP_ROLE_REVIEWER]  = {1, 1, 1, 1, 0, 0},
    [LP_ROLE_ADMIN]     = {1, 1, 1, 1, 1, 0},
    [LP_ROLE_OWNER]     = {1, 1, 1, 1, 1, 1},
};

static const char *const role_names[LP_ROLE_OWNER + 1] = {
    [LP_ROLE_NONE] = "",           [LP_ROLE_VIEWER] = "viewer", [LP_ROLE_ANNOTATOR] = "annotator",
    [LP_ROLE_REVIEWER] = "reviewer", [LP_ROLE_ADMIN] = "admin",   [LP_ROLE_OWNER] = "owner",
};

int lp_role_has(lp_role role, lp_perm perm)
{
    if ((unsigned)role > LP_ROLE_OWNER || (unsigned)perm > LP_PERM_OWNER)
        return 0;
    return role_perms[role][perm];
}

const char *lp_role_name(lp_role role)
{
    return (unsigned)role <= LP_ROLE_OWNER ? role_names[role] : "";
}

int lp_role_parse(const char *s, lp_role *out)
{
    if (!s)
        return -1;
    for (int r = LP_ROLE_VIEWER; r <= LP_ROLE_OWNER; r++) {
        if (strcmp(s, role_names[r]) == 0) {
            *out = (lp_role)r;
            return 0;
        }
    }
    return -1;
}

int lp_role_within(lp_role a, lp_role b)
{
    for (int p = LP_PERM_PUBLIC; p <= LP_PERM_OWNER; p++)
        if (lp_role_has(a, (lp_perm)p) && !lp_role_has(b, (lp_perm)p))
            return 0;
    return 1;
}

/* The role a key limited to key_role acts with for a member holding
 * member_role: the lower of the two (none if they were incomparable). */
static lp_role effective_role(lp_role key_role, lp_role member_role)
{
    if (lp_role_within(key_role, member_role))
        return key_role;
    if (lp_role_within(member_role, key_role))
        return member_role;
    return LP_ROLE_NONE;
}

/* ---- API keys ------------------------------------------------------------ */

static int unauthenticated(lp_req *req, const char *msg, const char *hint)
{
    lp_error_set(&req->err, LP_E_UNAUTHENTICATED, "%s", msg);
    if (hint)
        lp_error_hint(&req->err, "%s", hint);
    return -1;
}

/* Records who the request acts for once a credential has been accepted. */
static void set_who(lp_req *req, int via_session, lp_role role, const char *user_id, const char *team_id,
                    const char *credential_id)
{
    req->who.authenticated = 1;
    req->who.via_session = via_session;
    req->who.role = role;
    lp_strlcpy(req->who.user_id, user_id, sizeof req->who.user_id);
    lp_strlcpy(req->who.team_id, team_id, sizeof req->who.team_id);
    lp_strlcpy(req->who.credential_id, credential_id, sizeof req->who.credential_id);
}

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

static int auth_api_key(lp_req *req, const char *header)
{
    const char *presented = authorization_credential(header);
    lp_api_key parsed;
    lp_api_key_auth row;
    lp_role key_role, member_role;
    lp_db *db;
    int rc = -1, found;

    if (!presented)
        return unauthenticated(req, "unsupported Authorization scheme", "send \"Authorization: ApiKey <key>\"");
    if (lp_api_key_parse(presented, &parsed, &req->err) != 0)
        return -1;
    db = lp_db_acquire(req->svc->db, &req->err);
    if (!db)
        return -1;
    found = lp_db_api_key_find(db, parsed.prefix, &row, &req->err);
    if (found < 0)
        goto cleanup;
    if (found == 1 || !lp_token_equal(row.key_hash, parsed.hash_hex)) {
        unauthenticated(req, "API key is not valid", "check the key, or create a new one");
        goto cleanup;
    }
    if (row.revoked) {
        unauthenticated(req, "API key was revoked", "create a new key");
        goto cleanup;
    }
    if (row.expired) {
        unauthenticated(req, "API key has expired", "create a new key");
        goto cleanup;
    }
    if (lp_role_parse(row.key_role, &key_role) != 0 || lp_role_parse(row.member_role, &member_role) != 0) {
        lp_error_set(&req->err, LP_E_INTERNAL, "API key %s has an unknown role", row.id);
        goto cleanup;
    }
    if (row.stale) {
        lp_error touch_err;
        lp_error_clear(&touch_err);
        if (lp_db_api_key_touch(db, row.id, &touch_err) != 0)
            LP_WARN("auth", "could not record the use of API key %s: %s", row.id, touch_err.message);
    }
    set_who(req, 0, effective_role(key_role, member_role), row.user_id, row.team_id, row.id);
    rc = 0;

cleanup:
    lp_db_release(db);
    return rc;
}

/* ---- sessions ------------------------------------------------------------ */

static int is_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

static int auth_session(lp_req *req, const char *token)
{
    static const char *const sign_in = "sign in again";
    char hash[LP_SHA256_HEX_LEN + 1];
    lp_session_auth row;
    lp_role role;
    lp_db *db;
    int rc = -1, found;

    /* Tokens are 43 characters; anything far longer is not one of ours. */
    if (strlen(token) > 256)
        return unauthenticated(req, "session is not valid", sign_in);
    if (lp_sha256_hex(token, strlen(token), hash) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "could not hash the session token");
    db = lp_db_acquire(req->svc->db, &req->err);
    if (!db)
        return -1;
    found = lp_db_session_find(db, hash, &row, &req->err);
    if (found < 0)
        goto cleanup;
    if (found == 1) {
        unauthenticated(req, "session is not valid", sign_in);
        goto cleanup;
    }
    if (row.revoked) {
        unauthenticated(req, "session has ended (signed out)", sign_in);
        goto cleanup;
    }
    if (row.expired) {
        unauthenticated(req, "session has expired", sign_in);
        goto cleanup;
    }
    if (lp_role_parse(row.role, &role) != 0) {
        lp_error_set(&req->err, LP_E_INTERNAL, "session %s has a member with an unknown role", row.id);
        goto cleanup;
    }
    if (!is_safe_method(req->method)) {
        const char *csrf = lp_req_header(req, LP_CSRF_HEADER);
        if (!csrf || !*csrf) {
            lp_error_set(&req->err, LP_E_FORBIDDEN, "missing " LP_CSRF_HEADER " header");
            lp_error_hint(&req->err, "writes made with a session cookie must send the session's CSRF token "
                                     "(csrf_token in the login answer and in GET /api/v1/me)");
            goto cleanup;
        }
        if (!lp_token_equal(csrf, row.csrf_token)) {
            lp_error_set(&req->err, LP_E_FORBIDDEN, LP_CSRF_HEADER " does not match this session");
            lp_error_hint(&req->err, "use csrf_token from GET /api/v1/me");
            goto cleanup;
        }
    }
    set_who(req, 1, role, row.user_id, row.team_id, row.id);
    lp_strlcpy(req->who.csrf_token, row.csrf_token, sizeof req->who.csrf_token);
    rc = 0;

cleanup:
    lp_db_release(db);
    return rc;
}

int lp_auth_authenticate(lp_req *req)
{
    const char *authorization = lp_req_header(req, "Authorization");
    const char *cookie;

    memset(&req->who, 0, sizeof req->who);
    if (authorization && *authorization)
        return auth_api_key(req, authorization);
    cookie = lp_req_cookie(req, LP_SESSION_COOKIE);
    if (cookie && *cookie)
        return auth_session(req, cookie);
    return unauthenticated(req, "authentication required",
                           "send \"Authorization: ApiKey <key>\", or sign in at POST /api/v1/auth/login");
}
