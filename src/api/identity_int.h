/* Shared by the identity handlers (auth.c, me.c, teams.c, api_keys.c,
 * admin.c): input validation of the identity fields and their JSON form;
 * and by every handler: the UUID path parameters of its routes.
 *
 * Handlers read members with loupe/api/input.h; the checks here add what is
 * particular to identity values. Validators add a field error to err (code
 * LP_E_INVALID, the field named as the API names it) and return -1, so a
 * handler can check every field, then answer once with all of them. They
 * take plain strings so that command-line tools (admin.c) share them. */
#ifndef LOUPE_API_IDENTITY_INT_H
#define LOUPE_API_IDENTITY_INT_H

#include <jansson.h>

#include "loupe/api/audit.h"
#include "loupe/core/arena.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/crypto/password.h"
#include "loupe/db/api_keys_sql.h"
#include "loupe/db/memberships_sql.h"
#include "loupe/db/teams_sql.h"
#include "loupe/db/users_sql.h"
#include "loupe/http/request.h"
#include "loupe/identity/role.h"

/* Longest email address accepted (RFC 5321 path limit). */
#define LP_EMAIL_MAX 254
/* Longest password accepted, in bytes. */
#define LP_PASSWORD_MAX 1024

/* Checks an email address and returns it lower-cased (arena), or NULL. */
char *lp_identity_email(lp_arena *a, const char *s, const char *field, lp_error *err);

/* Checks a display name: 1..max bytes of UTF-8 with no control characters,
 * not blank. 0 or -1. */
int lp_identity_name(const char *s, const char *field, size_t max, lp_error *err);

/* Checks a new password's length against cfg. 0 or -1. */
int lp_identity_password(const lp_config *cfg, const char *s, const char *field, lp_error *err);

/* Parses a role name. 0 or -1. */
int lp_identity_role(const char *s, const char *field, lp_role *out, lp_error *err);

/* argon2id hash of password with cfg's parameters. 0 or -1. */
int lp_identity_hash_password(const lp_config *cfg, const char *password, char out[LP_PASSWORD_HASH_MAX],
                              lp_error *err);

/* Path parameter `name` holding the caller's own team id; another team's
 * id (or no id at all) answers 404. Returns the id or NULL (req->err set). */
const char *lp_identity_own_team(lp_req *req, const char *name);

/* Path parameter `name` that must be a UUID; anything else answers 404
 * "<what> <value> not found". Returns it or NULL. */
const char *lp_identity_uuid_param(lp_req *req, const char *name, const char *what);

/* 1 if a decoded page[after] key is one of ours: an integer (microseconds). */
int lp_identity_cursor_key_ok(const char *key);

/* JSON renderings (new references; NULL on out-of-memory). Empty timestamps
 * become null. */
json_t *lp_identity_user_json(const char *id, const char *email, const char *name);
json_t *lp_identity_team_json(const lp_team_row *t);
json_t *lp_identity_member_json(const lp_member_row *m);
json_t *lp_identity_api_key_json(const lp_api_key_row *k);
/* {user, team, role, auth, csrf_token (sessions only)}: GET /api/v1/me and the login answer. */
json_t *lp_identity_whoami_json(const lp_user_row *u, const lp_team_row *t, const char *role, int via_session,
                                const char *csrf_token);

#endif
