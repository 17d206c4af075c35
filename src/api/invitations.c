/* Adding people to a team, by invitation (docs/SECURITY.md):
 *
 *   POST /api/v1/teams/{team_id}/members    {email, role, name?} → 202 invitation + token (MANAGE)
 *   POST /api/v1/invitations/accept         {token, password, name?} → 201 membership (PUBLIC)
 *
 * An invitation never enrols an account by itself and never says whether the
 * email has an account anywhere: the answer is the same 202 either way. The
 * inviter passes the token on; the invitee accepts it with their password —
 * an existing account's own password (its owner consents), or the password
 * of the account made for an email that has none. Accepting counts as a
 * sign-in attempt for the sign-in rate limit. Tokens are random, stored as
 * SHA-256 only, single-use, and expire after invitation_ttl. */
#include <string.h>

#include "identity_int.h"
#include "handlers_int.h"
#include "loupe/api/input.h"
#include "loupe/crypto/sha256.h"
#include "loupe/crypto/token.h"
#include "loupe/db/invitations_sql.h"
#include "loupe/identity/throttle.h"

static json_t *invitation_json(const lp_invitation_row *inv)
{
    return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:s}", "id", inv->id, "team_id", inv->team_id, "email",
                     inv->email, "name", inv->name, "role", inv->role, "created_at", inv->created_at, "expires_at",
                     inv->expires_at);
}

int lp_api_members_create(lp_req *req)
{
    static const char *const fields[] = {"email", "name", "role", NULL};
    const lp_config *cfg = req->svc->cfg;
    lp_error *err = &req->err;
    const char *team_id = lp_identity_own_team(req, "team_id");
    const char *email_in = NULL, *name = NULL, *role_s = NULL;
    char *email = NULL, token[48], token_hash[LP_SHA256_HEX_LEN + 1];
    lp_role role = LP_ROLE_NONE;
    lp_invitation_row inv;
    lp_user_row user;
    lp_member_row member;
    json_t *body, *doc;
    lp_db *db;
    int rc = -1, found;

    if (!team_id || !(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_string(req, body, NULL, "email", LP_IN_REQUIRED, LP_EMAIL_MAX, &email_in);
    lp_in_string(req, body, NULL, "name", LP_IN_NULLABLE, 0, &name);
    lp_in_string(req, body, NULL, "role", LP_IN_REQUIRED, 0, &role_s);
    if (email_in)
        email = lp_identity_email(req->arena, email_in, "email", err);
    if (name)
        lp_identity_name(name, "name", (size_t)cfg->string_max_length, err);
    if (role_s)
        lp_identity_role(role_s, "role", &role, err);
    if (err->code != LP_OK)
        return -1;
    if (role == LP_ROLE_OWNER && lp_role_of(req) != LP_ROLE_OWNER)
        return lp_error_set(err, LP_E_FORBIDDEN, "only an owner may grant the owner role");
    if (!name && !(name = lp_arena_strndup(req->arena, email_in, strcspn(email_in, "@"))))
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    if (lp_token_new(32, token, sizeof token) != 0 || lp_sha256_hex(token, strlen(token), token_hash) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "could not create an invitation token");

    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, err) != 0 || lp_db_team_lock(db, team_id, err) != 0)
        goto cleanup;
    /* Already a member of this team: the caller can see the member list anyway. */
    if ((found = lp_db_user_find_by_email(db, req->arena, email, &user, err)) < 0)
        goto cleanup;
    if (found == 0 && lp_db_member_get(db, req->arena, team_id, user.id, &member, err) == 0) {
        lp_error_set(err, LP_E_CONFLICT, "%s is already a member of this team", email);
        goto cleanup;
    }
    lp_error_clear(err);
    if (lp_db_invitation_create(db, req->arena, team_id, email, name, lp_role_name(role), token_hash,
                                req->who.user_id[0] ? req->who.user_id : NULL, cfg->invitation_ttl, &inv, err) != 0 ||
        lp_audit_record(db, team_id, req->who.user_id, "member.invite", "invitation", inv.id,
                        json_pack("{s:s, s:s}", "email", email, "role", lp_role_name(role)), err) != 0 ||
        lp_db_commit(db, err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    doc = json_pack("{s:o, s:s, s:s}", "invitation", invitation_json(&inv), "token", token, "accept_url",
                    "/api/v1/invitations/accept");
    if (!doc)
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    lp_res_header(req, "Cache-Control", "no-store");
    return lp_res_json(req, 202, doc);
}

/* The user the invitation is for: the existing account when its password is
 * right (0), a new account with this password when the email has none (0),
 * or -1 (401 for a wrong password, counted by the sign-in limit). The new
 * account's name: name, else the one the inviter gave, else the email's
 * local part. */
static int invitee(lp_req *req, lp_db *db, const lp_invitation_row *inv, const char *password, const char *name,
                   lp_user_row *user)
{
    const lp_config *cfg = req->svc->cfg;
    char hash[LP_PASSWORD_HASH_MAX];
    int found = lp_db_user_find_by_email(db, req->arena, inv->email, user, &req->err);
    if (found < 0)
        return -1;
    if (found == 0) {
        if (user->password_hash &&
            lp_password_verify(user->password_hash, password, strlen(password), &req->err) == 0)
            return 0;
        lp_error_clear(&req->err);
        lp_error_set(&req->err, LP_E_UNAUTHENTICATED, "the password is wrong");
        return lp_error_hint(&req->err, "this email has an account: accept with its password");
    }
    if (lp_identity_password(cfg, password, "password", &req->err) != 0 ||
        lp_identity_hash_password(cfg, password, hash, &req->err) != 0)
        return -1;
    if (!name && !(name = inv->name ? inv->name : lp_arena_strndup(req->arena, inv->email, strcspn(inv->email, "@"))))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    return lp_db_user_create(db, req->arena, inv->email, name, hash, user, &req->err) == 0
               ? 0
               : lp_error_set(&req->err, LP_E_CONFLICT, "an account for %s was made meanwhile; try again",
                              inv->email);
}

int lp_api_invitations_accept(lp_req *req)
{
    static const char *const fields[] = {"token", "password", "name", NULL};
    const char *token = NULL, *password = NULL, *name = NULL;
    char token_hash[LP_SHA256_HEX_LEN + 1];
    lp_invitation_row inv;
    lp_user_row user;
    lp_member_row member;
    json_t *body = lp_req_json(req, 1);
    lp_db *db;
    int rc = -1;

    if (!body)
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_string(req, body, NULL, "token", LP_IN_REQUIRED, 128, &token);
    lp_in_string(req, body, NULL, "password", LP_IN_REQUIRED, LP_PASSWORD_MAX, &password);
    lp_in_string(req, body, NULL, "name", LP_IN_NULLABLE, 0, &name);
    if (name)
        lp_identity_name(name, "name", (size_t)req->svc->cfg->string_max_length, &req->err);
    if (req->err.code != LP_OK)
        return -1;
    if (lp_sha256_hex(token, strlen(token), token_hash) != 0)
        return lp_error_set(&req->err, LP_E_INTERNAL, "could not hash the token");
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) != 0 || lp_db_invitation_take(db, req->arena, token_hash, &inv, &req->err) != 0 ||
        lp_throttle_signin_check(req, inv.email) != 0 || invitee(req, db, &inv, password, name, &user) != 0 ||
        lp_db_team_lock(db, inv.team_id, &req->err) != 0)
        goto cleanup;
    if (lp_db_member_add(db, inv.team_id, user.id, inv.role, &req->err) != 0) {
        if (req->err.code == LP_E_CONFLICT)
            lp_error_set(&req->err, LP_E_CONFLICT, "you are already a member of this team");
        goto cleanup;
    }
    if (lp_db_invitation_accepted(db, inv.id, user.id, &req->err) != 0 ||
        lp_audit_record(db, inv.team_id, user.id, "member.add", "membership", user.id,
                        json_pack("{s:s, s:s, s:s}", "email", inv.email, "role", inv.role, "invitation_id", inv.id),
                        &req->err) != 0 ||
        lp_db_member_get(db, req->arena, inv.team_id, user.id, &member, &req->err) != 0 ||
        lp_db_commit(db, &req->err) != 0)
        goto cleanup;
    lp_throttle_signin_succeeded(req, inv.email);
    rc = 0;
cleanup:
    lp_req_db_release(req);
    if (rc != 0 && req->err.code == LP_E_UNAUTHENTICATED) {
        /* a wrong password: counted once the transaction has rolled back, so the count stays */
        lp_error saved = req->err;
        lp_throttle_signin_failed(req, inv.email);
        lp_req_db_release(req);
        req->err = saved;
    }
    return rc != 0 ? -1 : lp_res_json(req, 201, lp_identity_member_json(&member));
}
