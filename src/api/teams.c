/* A team and its members:
 *   GET/PATCH /api/v1/teams/{team_id}
 *   GET       /api/v1/teams/{team_id}/members
 *   PATCH/DELETE /api/v1/teams/{team_id}/members/{user_id}
 * (POST …/members invites: invitations.c)
 *
 * Only the caller's own team exists for them (another id answers 404).
 * Rules on owners: only an owner grants, changes or removes the owner role,
 * and a team always keeps at least one owner. Membership changes of a team
 * take its row lock, so two concurrent demotions cannot both pass the
 * last-owner check. Every change writes an audit row in its transaction. */
#include <string.h>

#include "identity_int.h"
#include "respond_int.h"
#include "loupe/api/input.h"
#include "handlers_int.h"
#include "loupe/identity/authenticate.h"

int lp_api_team_get(lp_req *req)
{
    const char *team_id = lp_identity_own_team(req, "team_id");
    lp_team_row team;
    lp_db *db;
    int rc;

    if (!team_id || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_team_get(db, req->arena, team_id, &team, &req->err);
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, lp_identity_team_json(&team));
}

int lp_api_team_update(lp_req *req)
{
    static const char *const fields[] = {"name", NULL};
    const char *team_id = lp_identity_own_team(req, "team_id"), *name = NULL;
    json_t *body;
    lp_team_row team;
    lp_db *db;
    int rc = -1;

    if (!team_id || !(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_string(req, body, NULL, "name", LP_IN_REQUIRED, 0, &name);
    if (name)
        lp_identity_name(name, "name", (size_t)req->svc->cfg->string_max_length, &req->err);
    if (req->err.code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 && lp_db_team_rename(db, req->arena, team_id, name, &team, &req->err) == 0 &&
        lp_audit_record(db, team_id, req->who.user_id, "team.update", "team", team_id,
                          json_pack("{s:s}", "name", name), &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    lp_auth_forget_member(req, team_id, NULL);
    return lp_res_json(req, 200, lp_identity_team_json(&team));
}

static json_t *member_at(const void *rows, size_t i)
{
    return lp_identity_member_json((const lp_member_row *)rows + i);
}

static void member_cursor(lp_req *req, const void *rows, size_t i, const void *ctx, const char **key, const char **id)
{
    (void)req;
    const lp_member_row *r = (const lp_member_row *)rows + i;
    (void)ctx;
    *key = r->cursor_key;
    *id = r->user_id;
}

int lp_api_members_list(lp_req *req)
{
    const char *team_id = lp_identity_own_team(req, "team_id");
    lp_member_row *rows;
    lp_page page;
    size_t n;
    lp_db *db;
    int rc;

    if (!team_id || lp_page_read_checked(req, &page, lp_identity_cursor_key_ok) != 0)
        return -1;
    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_member_list(db, req->arena, team_id, page.after_key, page.after_id, page.size + 1, &rows, &n,
                           &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_keyset(req, "items", &page, rows, n, member_at, member_cursor, NULL);
}

/* Loads the member to change under the team lock and applies the owner
 * rules for changing their role to new_role (LP_ROLE_NONE: removal). */
static int check_owner_rules(lp_req *req, lp_db *db, const char *team_id, const lp_member_row *m, lp_role new_role)
{
    int is_owner = strcmp(m->role, "owner") == 0;
    int64_t owners;

    if ((is_owner || new_role == LP_ROLE_OWNER) && lp_role_of(req) != LP_ROLE_OWNER)
        return lp_error_set(&req->err, LP_E_FORBIDDEN, "only an owner may grant, change or remove the owner role");
    if (!is_owner || new_role == LP_ROLE_OWNER)
        return 0;
    if ((owners = lp_db_member_count_owners(db, team_id, &req->err)) < 0)
        return -1;
    if (owners <= 1) {
        lp_error_set(&req->err, LP_E_CONFLICT, "%s is the last owner of the team and cannot be %s", m->email,
                     new_role == LP_ROLE_NONE ? "removed" : "demoted");
        return lp_error_hint(&req->err, "make another member an owner first");
    }
    return 0;
}

int lp_api_members_update(lp_req *req)
{
    static const char *const fields[] = {"role", NULL};
    lp_error *err = &req->err;
    const char *team_id = lp_identity_own_team(req, "team_id"), *user_id, *role_s = NULL;
    lp_role role = LP_ROLE_NONE;
    json_t *body;
    lp_member_row member;
    char old_role[LP_DB_ROLE_LEN];
    lp_db *db;
    int rc = -1;

    if (!team_id || !(user_id = lp_identity_uuid_param(req, "user_id", "member")) || !(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_string(req, body, NULL, "role", LP_IN_REQUIRED, 0, &role_s);
    if (role_s)
        lp_identity_role(role_s, "role", &role, err);
    if (err->code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, err) != 0 || lp_db_team_lock(db, team_id, err) != 0 ||
        lp_db_member_get(db, req->arena, team_id, user_id, &member, err) != 0 ||
        check_owner_rules(req, db, team_id, &member, role) != 0)
        goto cleanup;
    memcpy(old_role, member.role, sizeof old_role);
    if (lp_db_member_set_role(db, team_id, user_id, lp_role_name(role), err) != 0 ||
        lp_audit_record(db, team_id, req->who.user_id, "member.role_change", "membership", member.user_id,
                          json_pack("{s:s, s:s, s:s}", "email", member.email, "from", old_role, "to",
                                    lp_role_name(role)),
                          err) != 0 ||
        lp_db_member_get(db, req->arena, team_id, user_id, &member, err) != 0 || lp_db_commit(db, err) != 0)
        goto cleanup;
    rc = 0;

cleanup:
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    lp_auth_forget_member(req, team_id, user_id);
    return lp_res_json(req, 200, lp_identity_member_json(&member));
}

int lp_api_members_delete(lp_req *req)
{
    lp_error *err = &req->err;
    const char *team_id = lp_identity_own_team(req, "team_id"), *user_id;
    lp_member_row member;
    lp_db *db;
    int rc = -1;

    if (!team_id || !(user_id = lp_identity_uuid_param(req, "user_id", "member")) ||
        !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, err) != 0 || lp_db_team_lock(db, team_id, err) != 0 ||
        lp_db_member_get(db, req->arena, team_id, user_id, &member, err) != 0 ||
        check_owner_rules(req, db, team_id, &member, LP_ROLE_NONE) != 0 ||
        lp_db_member_remove(db, team_id, user_id, err) != 0 ||
        lp_audit_record(db, team_id, req->who.user_id, "member.remove", "membership", member.user_id,
                          json_pack("{s:s, s:s}", "email", member.email, "role", member.role), err) != 0 ||
        lp_db_commit(db, err) != 0)
        goto cleanup;
    rc = 0;

cleanup:
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    lp_auth_forget_member(req, team_id, user_id);
    return lp_res_empty(req, 204);
}
