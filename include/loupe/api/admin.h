/* Administration from the command line (louped admin …). */
#ifndef LOUPE_API_ADMIN_H
#define LOUPE_API_ADMIN_H

#include <jansson.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

/* Creates a team named team_name (its slug derived from the name, made
 * unique with a "-2", "-3", … suffix), makes the user with this email its
 * owner (creating the user, with password_or_null as password when given),
 * and creates an owner API key for them — all in one transaction on db.
 *
 * An existing user becomes the owner of the new team as they are; giving a
 * password for an existing user is refused (LP_E_CONFLICT) rather than
 * silently changing it. Bad input fails with LP_E_INVALID and field errors
 * "team", "email", "password".
 *
 * On success *out is a new object {team_id, team_slug, user_id, email,
 * api_key_id, api_key} (the caller owns it; api_key is shown only here). */
int lp_admin_bootstrap(lp_db *db, const lp_config *cfg, const char *team_name, const char *email,
                       const char *password_or_null, json_t **out, lp_error *err);

/* Writes a URL slug for name into out (cap bytes, at least 2): lower-case
 * ASCII letters and digits, other runs become one '-', no '-' at either end,
 * at most cap-1 characters; "team" when nothing is left. */
void lp_admin_slugify(const char *name, char *out, size_t cap);

#endif
