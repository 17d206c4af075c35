/* Validation and JSON rendering shared by the identity handlers. See identity.h. */
#include "identity_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loupe/core/util.h"
#include "loupe/db/audit_sql.h"

char *lp_identity_email(lp_arena *a, const char *s, const char *field, lp_error *err)
{
    size_t n = strlen(s), at = 0, nat = 0;
    char *out;

    if (n == 0) {
        lp_error_field(err, LP_E_INVALID, field, "must not be empty");
        return NULL;
    }
    if (n > LP_EMAIL_MAX) {
        lp_error_field(err, LP_E_INVALID, field, "must be at most %d characters", LP_EMAIL_MAX);
        return NULL;
    }
    if (!lp_utf8_valid(s, n)) {
        lp_error_field(err, LP_E_INVALID, field, "must be valid UTF-8");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f || strchr("<>()[],;:\\\"", c)) {
            lp_error_field(err, LP_E_INVALID, field, "must be an email address like name@example.com "
                                                     "(no spaces or <>()[],;:\\\" characters)");
            return NULL;
        }
        if (c == '@') {
            at = i;
            nat++;
        }
    }
    if (nat != 1 || at == 0 || at + 1 == n || at > 64 || s[n - 1] == '.' || s[at + 1] == '.') {
        lp_error_field(err, LP_E_INVALID, field, "must be an email address like name@example.com");
        return NULL;
    }
    out = lp_arena_strndup(a, s, n);
    if (!out) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    return out;
}

int lp_identity_name(const char *s, const char *field, size_t max, lp_error *err)
{
    size_t n = strlen(s);
    int blank = 1;

    if (n == 0)
        return lp_error_field(err, LP_E_INVALID, field, "must not be empty");
    if (n > max)
        return lp_error_field(err, LP_E_INVALID, field, "must be at most %zu bytes (string_max_length), not %zu",
                              max, n);
    if (!lp_utf8_valid(s, n))
        return lp_error_field(err, LP_E_INVALID, field, "must be valid UTF-8");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return lp_error_field(err, LP_E_INVALID, field, "must not contain control characters");
        if (c != ' ')
            blank = 0;
    }
    if (blank)
        return lp_error_field(err, LP_E_INVALID, field, "must not be blank");
    return 0;
}

int lp_identity_password(const lp_config *cfg, const char *s, const char *field, lp_error *err)
{
    size_t n = strlen(s);
    if ((int64_t)n < cfg->password_min_length)
        return lp_error_field(err, LP_E_INVALID, field, "must be at least %lld characters (password_min_length)",
                              (long long)cfg->password_min_length);
    if (n > LP_PASSWORD_MAX)
        return lp_error_field(err, LP_E_INVALID, field, "must be at most %d bytes", LP_PASSWORD_MAX);
    return 0;
}

int lp_identity_role(const char *s, const char *field, lp_role *out, lp_error *err)
{
    if (lp_role_parse(s, out) != 0)
        return lp_error_field(err, LP_E_INVALID, field,
                              "must be one of \"owner\", \"admin\", \"reviewer\", \"annotator\", \"viewer\"");
    return 0;
}

int lp_identity_hash_password(const lp_config *cfg, const char *password, char out[LP_PASSWORD_HASH_MAX],
                              lp_error *err)
{
    lp_password_params params = {
        .memory_kib = (uint32_t)cfg->kdf_memory_kib,
        .iterations = (uint32_t)cfg->kdf_iterations,
        .parallelism = 1,
    };
    return lp_password_hash(password, strlen(password), &params, out, LP_PASSWORD_HASH_MAX, err);
}

const char *lp_identity_uuid_param(lp_req *req, const char *name, const char *what)
{
    const char *v = lp_req_param(req, name);
    if (!v || !lp_is_uuid(v)) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "%s %.64s not found", what, v ? v : "");
        return NULL;
    }
    return v;
}

const char *lp_identity_own_team(lp_req *req, const char *name)
{
    const char *v = lp_identity_uuid_param(req, name, "team");
    if (!v)
        return NULL;
    if (strcasecmp(v, req->who.team_id) != 0) {
        lp_error_set(&req->err, LP_E_NOT_FOUND, "team %s not found", v);
        return NULL;
    }
    return req->who.team_id;
}

int lp_identity_cursor_key_ok(const char *key)
{
    size_t n = strlen(key), i = key[0] == '-';
    if (n == i || n > 20)
        return 0;
    for (; i < n; i++)
        if (key[i] < '0' || key[i] > '9')
            return 0;
    return 1;
}

static json_t *time_or_null(const char *t) { return t && *t ? json_string(t) : json_null(); }

json_t *lp_identity_user_json(const char *id, const char *email, const char *name)
{
    return json_pack("{s:s, s:s, s:s}", "id", id, "email", email, "name", name ? name : "");
}

json_t *lp_identity_team_json(const lp_team_row *t)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "id", t->id, "name", t->name, "slug", t->slug, "created_at",
                     time_or_null(t->created_at));
}

json_t *lp_identity_member_json(const lp_member_row *m)
{
    return json_pack("{s:o, s:s, s:o}", "user", lp_identity_user_json(m->user_id, m->email, m->name), "role",
                     m->role, "joined_at", time_or_null(m->joined_at));
}

json_t *lp_identity_api_key_json(const lp_api_key_row *k)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", k->id, "name", k->name, "prefix",
                     k->prefix, "role", k->role, "user_id", k->user_id, "created_at", time_or_null(k->created_at),
                     "expires_at", time_or_null(k->expires_at), "revoked_at", time_or_null(k->revoked_at),
                     "last_used_at", time_or_null(k->last_used_at));
}

json_t *lp_identity_whoami_json(const lp_user_row *u, const lp_team_row *t, const char *role, int via_session,
                                const char *csrf_token)
{
    json_t *o = json_pack("{s:o, s:o, s:s, s:s}", "user", lp_identity_user_json(u->id, u->email, u->name), "team",
                          lp_identity_team_json(t), "role", role, "auth", via_session ? "session" : "api_key");
    if (o && via_session && json_object_set_new(o, "csrf_token", json_string(csrf_token)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
