/* Browser sign-in and sign-out: POST /api/v1/auth/login, POST /api/v1/auth/logout.
 *
 * Sign-in checks the password with argon2id outside any database
 * connection (the KDF is slow on purpose), and runs the KDF against a dummy
 * hash when the email is unknown, so both failures take the same time and
 * answer the same words. A session is a random token in an HttpOnly cookie
 * (only its SHA-256 is stored) plus a CSRF token the client sends on writes.
 * Failed sign-ins are rate limited (loupe/identity/throttle.h): 429 with Retry-After. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "identity_int.h"
#include "loupe/api/input.h"
#include "handlers_int.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"
#include "loupe/crypto/token.h"
#include "loupe/db/sessions_sql.h"
#include "loupe/identity/authenticate.h"
#include "loupe/identity/throttle.h"

#define BAD_CREDENTIALS "email or password is wrong"

/* A hash of a random password, made once with the configured parameters:
 * what an unknown email is "verified" against. */
static pthread_mutex_t dummy_mu = PTHREAD_MUTEX_INITIALIZER;
static char dummy_hash[LP_PASSWORD_HASH_MAX];

static int dummy_verify(const lp_config *cfg, const char *password)
{
    lp_error e;
    char random_pw[44];

    lp_error_clear(&e);
    pthread_mutex_lock(&dummy_mu);
    if (!dummy_hash[0] && (lp_token_new(32, random_pw, sizeof random_pw) != 0 ||
                           lp_identity_hash_password(cfg, random_pw, dummy_hash, &e) != 0)) {
        dummy_hash[0] = '\0';
        LP_WARN("auth", "could not make the dummy password hash: %s", e.message);
    }
    pthread_mutex_unlock(&dummy_mu);
    if (dummy_hash[0])
        lp_password_verify(dummy_hash, password, strlen(password), &e);
    return -1;
}

/* Replaces a hash made with old KDF parameters after a successful sign-in. */
static void rehash_if_needed(lp_req *req, lp_db *db, const lp_user_row *u, const char *password)
{
    const lp_config *cfg = req->svc->cfg;
    lp_password_params params = {(uint32_t)cfg->kdf_memory_kib, (uint32_t)cfg->kdf_iterations, 1};
    char hash[LP_PASSWORD_HASH_MAX];
    lp_error e;

    if (!lp_password_needs_rehash(u->password_hash, &params))
        return;
    lp_error_clear(&e);
    if (lp_identity_hash_password(cfg, password, hash, &e) != 0 || lp_db_user_set_password(db, u->id, hash, &e) != 0)
        LP_WARN("auth", "could not re-hash the password of user %s: %s", u->id, e.message);
}

int lp_api_auth_login(lp_req *req)
{
    static const char *const fields[] = {"email", "password", "team_id", NULL};
    const lp_config *cfg = req->svc->cfg;
    lp_error *err = &req->err;
    json_t *body = lp_req_json(req, 1), *answer;
    const char *email_in = NULL, *password = NULL, *team_id = NULL;
    char *email = NULL;
    char token[48], csrf[48], token_hash[LP_SHA256_HEX_LEN + 1], session_id[LP_DB_UUID_LEN], role[LP_DB_ROLE_LEN];
    char cookie[256];
    lp_user_row user;
    lp_team_row team;
    lp_db *db = NULL;
    int found, rc = -1;

    if (!body)
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_string(req, body, NULL, "email", LP_IN_REQUIRED, LP_EMAIL_MAX, &email_in);
    lp_in_string(req, body, NULL, "password", LP_IN_REQUIRED, LP_PASSWORD_MAX, &password);
    lp_in_uuid(req, body, NULL, "team_id", LP_IN_NULLABLE, &team_id);
    if (email_in)
        email = lp_identity_email(req->arena, email_in, "email", err);
    if (err->code != LP_OK || lp_throttle_signin_check(req, email) != 0)
        return -1;

    /* 1. The user, with the connection released before the KDF runs. */
    if (!(db = lp_req_db(req)))
        return -1;
    found = lp_db_user_find_by_email(db, req->arena, email, &user, err);
    lp_req_db_release(req);
    db = NULL;
    if (found < 0)
        return -1;
    if (found == 1 || !user.password_hash) {
        dummy_verify(cfg, password);
        lp_throttle_signin_failed(req, email);
        return lp_error_set(err, LP_E_UNAUTHENTICATED, BAD_CREDENTIALS);
    }
    if (lp_password_verify(user.password_hash, password, strlen(password), err) != 0) {
        if (err->code == LP_E_UNAUTHENTICATED) {
            lp_throttle_signin_failed(req, email);
            lp_error_set(err, LP_E_UNAUTHENTICATED, BAD_CREDENTIALS);
        }
        return -1;
    }
    lp_throttle_signin_succeeded(req, email);

    /* 2. The team, and a new session. */
    if (!(db = lp_req_db(req)))
        return -1;
    found = lp_db_member_login_team(db, req->arena, user.id, team_id, &team, role, err);
    if (found < 0)
        goto cleanup;
    if (found == 1) {
        if (team_id)
            lp_error_set(err, LP_E_NOT_FOUND, "team %s not found among your teams", team_id);
        else
            lp_error_set(err, LP_E_FORBIDDEN, "your account is not a member of any team");
        goto cleanup;
    }
    rehash_if_needed(req, db, &user, password);
    if (lp_token_new(32, token, sizeof token) != 0 || lp_token_new(32, csrf, sizeof csrf) != 0 ||
        lp_sha256_hex(token, strlen(token), token_hash) != 0) {
        lp_error_set(err, LP_E_INTERNAL, "could not create a session token");
        goto cleanup;
    }
    if (lp_db_session_create(db, team.id, user.id, token_hash, csrf, cfg->session_ttl, session_id, err) != 0)
        goto cleanup;
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Lax%s", LP_SESSION_COOKIE,
             token, (long long)(cfg->session_ttl / 1000), cfg->cookie_secure ? "; Secure" : "");
    answer = lp_identity_whoami_json(&user, &team, role, 1, csrf);
    if (!answer) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    if (lp_res_header(req, "Set-Cookie", cookie) != 0 || lp_res_header(req, "Cache-Control", "no-store") != 0) {
        json_decref(answer);
        goto cleanup;
    }
    LP_INFO("auth", "user %s signed in to team %s (session %s)", user.id, team.id, session_id);
    rc = lp_res_json(req, 200, answer);

cleanup:
    lp_req_db_release(req);
    return rc;
}

int lp_api_auth_logout(lp_req *req)
{
    lp_db *db;
    int rc;

    if (!req->who.via_session) {
        lp_error_set(&req->err, LP_E_INVALID, "sign-out ends a browser session, but this request used an API key");
        return lp_error_hint(&req->err, "to stop using an API key, revoke it: DELETE /api/v1/api-keys/{id}");
    }
    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_session_revoke(db, req->who.credential_id, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    lp_auth_forget_credential(req, req->who.credential_id);
    if (lp_res_header(req, "Set-Cookie", LP_SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax") != 0)
        return -1;
    return lp_res_empty(req, 204);
}
