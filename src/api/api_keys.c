/* API keys: POST/GET /api/v1/api-keys, DELETE /api/v1/api-keys/{key_id}.
 *
 * Any member may create keys for themselves, limited to a role at or below
 * their own (a key never grants more than its creator holds, and at each
 * request it acts with the lower of its role and its user's current role).
 * The key text is in the creation answer only. Admins and owners see and
 * revoke every key of the team, except that only an owner may revoke an
 * owner's key (403: an admin may not act on an owner's credentials); others
 * only their own — another member's key answers 404, as if it did not exist. */
#include <string.h>
#include <time.h>

#include "identity_int.h"
#include "respond_int.h"
#include "loupe/api/input.h"
#include "handlers_int.h"
#include "loupe/identity/authenticate.h"
#include "loupe/core/util.h"
#include "loupe/crypto/api_key.h"

/* Parses RFC 3339 date-time ("2026-01-02T03:04:05Z", fractional seconds
 * and a ±hh:mm offset allowed) into Unix milliseconds. 0 or -1. */
static int parse_rfc3339(const char *s, int64_t *out_ms)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int v[6], lens[6] = {4, 2, 2, 2, 2, 2};
    const char seps[6] = {'-', '-', 'T', ':', ':', 0};
    int64_t ms = 0, offset_min = 0;
    struct tm tm;
    time_t t;

    for (int f = 0; f < 6; f++) {
        v[f] = 0;
        for (int i = 0; i < lens[f]; i++, s++) {
            if (*s < '0' || *s > '9')
                return -1;
            v[f] = v[f] * 10 + (*s - '0');
        }
        if (seps[f] == 'T') {
            if (*s != 'T' && *s != 't')
                return -1;
            s++;
        } else if (seps[f]) {
            if (*s++ != seps[f])
                return -1;
        }
    }
    if (*s == '.') {
        int digits = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*s - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1, hh, mm;
        if (!(s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] == ':' && s[4] >= '0' &&
              s[4] <= '9' && s[5] >= '0' && s[5] <= '9'))
            return -1;
        hh = (s[1] - '0') * 10 + (s[2] - '0');
        mm = (s[4] - '0') * 10 + (s[5] - '0');
        if (hh > 23 || mm > 59)
            return -1;
        offset_min = sign * (hh * 60 + mm);
        s += 6;
    } else {
        return -1;
    }
    if (*s)
        return -1;
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > mdays[v[1] - 1] || v[3] > 23 || v[4] > 59 ||
        v[5] > 60)
        return -1;
    if (v[1] == 2 && v[2] == 29 && !((v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0))
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5] == 60 ? 59 : v[5];
    if ((t = timegm(&tm)) == (time_t)-1)
        return -1;
    *out_ms = ((int64_t)t - offset_min * 60) * 1000 + ms;
    return 0;
}

int lp_api_api_keys_create(lp_req *req)
{
    static const char *const fields[] = {"name", "expires_at", "role", NULL};
    lp_error *err = &req->err;
    const char *name = NULL, *expires_s = NULL, *role_s = NULL;
    char expires[25];
    int64_t expires_ms = 0;
    lp_role role = lp_role_of(req);
    json_t *body, *answer;
    lp_api_key key;
    lp_api_key_row row;
    lp_db *db;
    int rc = -1;

    if (!(body = lp_req_json(req, 1)))
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_string(req, body, NULL, "name", LP_IN_REQUIRED, 0, &name);
    lp_in_string(req, body, NULL, "expires_at", LP_IN_NULLABLE, 64, &expires_s);
    lp_in_string(req, body, NULL, "role", LP_IN_NULLABLE, 0, &role_s);
    if (name)
        lp_identity_name(name, "name", (size_t)req->svc->cfg->string_max_length, err);
    if (expires_s) {
        if (parse_rfc3339(expires_s, &expires_ms) != 0 || expires_ms > 253402300799999LL)
            lp_error_field(err, LP_E_INVALID, "expires_at",
                           "must be an RFC 3339 date-time such as \"2030-01-31T00:00:00Z\"");
        else if (expires_ms <= lp_now_wall_ms())
            lp_error_field(err, LP_E_INVALID, "expires_at", "must be in the future");
        else
            lp_time_iso8601(expires_ms, expires);
    }
    if (role_s)
        lp_identity_role(role_s, "role", &role, err);
    if (err->code != LP_OK)
        return -1;
    if (!lp_role_within(role, lp_role_of(req))) {
        lp_error_set(err, LP_E_FORBIDDEN, "an API key cannot have a higher role than yours (%s)",
                     lp_role_name(lp_role_of(req)));
        return lp_error_hint(err, "omit \"role\" to give the key your own role");
    }
    if (lp_api_key_generate(&key, err) != 0 || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, err) == 0 &&
        lp_db_api_key_create(db, req->arena, req->who.team_id, req->who.user_id, name, key.prefix, key.hash_hex,
                             lp_role_name(role), expires_s ? expires : NULL, &row, err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "api_key.create", "api_key", row.id,
                          json_pack("{s:s, s:s, s:s}", "name", name, "prefix", key.prefix, "role", lp_role_name(role)),
                          err) == 0 &&
        lp_db_commit(db, err) == 0)
        rc = 0;
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    answer = lp_identity_api_key_json(&row);
    if (!answer || json_object_set_new(answer, "key", json_string(key.key)) != 0) {
        json_decref(answer);
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    }
    lp_res_header(req, "Cache-Control", "no-store");
    return lp_res_json(req, 201, answer);
}

static json_t *api_key_at(const void *rows, size_t i)
{
    return lp_identity_api_key_json((const lp_api_key_row *)rows + i);
}

static void api_key_cursor(lp_req *req, const void *rows, size_t i, const void *ctx, const char **key, const char **id)
{
    (void)req;
    const lp_api_key_row *r = (const lp_api_key_row *)rows + i;
    (void)ctx;
    *key = r->cursor_key;
    *id = r->id;
}

int lp_api_api_keys_list(lp_req *req)
{
    const char *only_user = lp_role_has(lp_role_of(req), LP_PERM_MANAGE) ? NULL : req->who.user_id;
    lp_api_key_row *rows;
    lp_page page;
    size_t n;
    lp_db *db;
    int rc;

    if (lp_page_read_checked(req, &page, lp_identity_cursor_key_ok) != 0)
        return -1;
    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_api_key_list(db, req->arena, req->who.team_id, only_user, page.after_key, page.after_id, page.size + 1,
                            &rows, &n, &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_keyset(req, "items", &page, rows, n, api_key_at, api_key_cursor, NULL);
}

int lp_api_api_keys_revoke(lp_req *req)
{
    const char *key_id = lp_identity_uuid_param(req, "key_id", "API key");
    const char *only_user = lp_role_has(lp_role_of(req), LP_PERM_MANAGE) ? NULL : req->who.user_id;
    lp_db *db;
    int rc = -1;

    if (!key_id || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        lp_db_api_key_revoke(db, req->who.team_id, key_id, only_user,
                             lp_role_of(req) == LP_ROLE_OWNER ? NULL : req->who.user_id, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "api_key.revoke", "api_key", key_id, NULL,
                          &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    lp_auth_forget_credential(req, key_id);
    return lp_res_empty(req, 204);
}
