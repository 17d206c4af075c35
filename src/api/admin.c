/* louped admin bootstrap: the first team, its owner and an owner API key.
 * See loupe/api/admin.h. */
#include "loupe/api/admin.h"

#include <stdio.h>
#include <string.h>

#include "identity_int.h"
#include "loupe/crypto/api_key.h"

/* Slugs stay short enough for a suffix and a URL segment. */
#define SLUG_MAX 48
/* "-2" … "-100" are tried before giving up. */
#define SLUG_TRIES 100

void lp_admin_slugify(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    int dash = 0;

    for (const unsigned char *p = (const unsigned char *)name; *p && n + 1 < cap; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && n > 0 && n + 2 < cap)
                out[n++] = '-';
            dash = 0;
            out[n++] = (char)c;
        } else {
            dash = 1;
        }
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "team");
}

/* Inserts the team under the first free slug derived from its name. */
static int create_team(lp_db *db, lp_arena *a, const char *name, lp_team_row *team, lp_error *err)
{
    char base[SLUG_MAX + 1], slug[SLUG_MAX + 8];

    lp_admin_slugify(name, base, sizeof base);
    for (int i = 1; i <= SLUG_TRIES; i++) {
        int rc;
        if (i == 1)
            snprintf(slug, sizeof slug, "%s", base);
        else
            snprintf(slug, sizeof slug, "%s-%d", base, i);
        rc = lp_db_team_create(db, a, name, slug, team, err);
        if (rc <= 0)
            return rc;
    }
    return lp_error_set(err, LP_E_CONFLICT, "team slugs \"%s\" to \"%s-%d\" are all taken; choose another team name",
                        base, base, SLUG_TRIES);
}

int lp_admin_bootstrap(lp_db *db, const lp_config *cfg, const char *team_name, const char *email_in,
                       const char *password, json_t **out, lp_error *err)
{
    lp_arena *a = lp_arena_new(0, 0);
    char *email = NULL, hash[LP_PASSWORD_HASH_MAX];
    lp_team_row team;
    lp_user_row user;
    lp_api_key key;
    lp_api_key_row key_row;
    int created, rc = -1;

    *out = NULL;
    if (!a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory");
    if (!team_name)
        lp_error_field(err, LP_E_INVALID, "team", "is required");
    else
        lp_identity_name(team_name, "team", (size_t)cfg->string_max_length, err);
    if (!email_in)
        lp_error_field(err, LP_E_INVALID, "email", "is required");
    else
        email = lp_identity_email(a, email_in, "email", err);
    if (password)
        lp_identity_password(cfg, password, "password", err);
    if (err->code != LP_OK)
        goto cleanup;
    if (password && lp_identity_hash_password(cfg, password, hash, err) != 0)
        goto cleanup;
    if (lp_api_key_generate(&key, err) != 0)
        goto cleanup;

    if (lp_db_begin(db, err) != 0 || create_team(db, a, team_name, &team, err) != 0)
        goto cleanup;
    created = lp_db_user_create(db, a, email, lp_arena_strndup(a, email_in, strcspn(email_in, "@")),
                                password ? hash : NULL, &user, err);
    if (created < 0)
        goto cleanup;
    if (created == 1 && password) {
        lp_error_set(err, LP_E_CONFLICT, "%s already has an account, so its password cannot be set here", email);
        lp_error_hint(err, "run bootstrap without --password-stdin to make the existing user the owner");
        goto cleanup;
    }
    if (lp_db_member_add(db, team.id, user.id, "owner", err) != 0 ||
        lp_db_api_key_create(db, a, team.id, user.id, "bootstrap", key.prefix, key.hash_hex, "owner", NULL, &key_row,
                             err) != 0 ||
        lp_audit_record(db, team.id, NULL, "team.bootstrap", "team", team.id,
                          json_pack("{s:s, s:s, s:s, s:b}", "name", team.name, "slug", team.slug, "owner_email", email,
                                    "user_created", created == 0),
                          err) != 0 ||
        lp_db_commit(db, err) != 0)
        goto cleanup;
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "team_id", team.id, "team_slug", team.slug, "user_id", user.id,
                     "email", email, "api_key_id", key_row.id, "api_key", key.key);
    if (!*out) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    rc = 0;

cleanup:
    if (rc != 0)
        lp_db_rollback(db);
    memset(&key, 0, sizeof key);
    lp_arena_free(a);
    return rc;
}
