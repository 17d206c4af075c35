/* GET /api/v1/me: who is calling, in which team, with which role.
 *
 * Answered from what authentication already read with the credential (the
 * member's profile travels with it, and the credential cache keeps it, kept
 * true by the same notifications): no database round trip. */
#include <string.h>

#include "handlers_int.h"
#include "identity_int.h"
#include "loupe/core/util.h"
#include "loupe/identity/authenticate.h"

int lp_api_me(lp_req *req)
{
    const lp_credential *who = lp_auth_caller(req);
    lp_user_row user;
    lp_team_row team;
    json_t *answer;

    if (!who)
        return lp_error_set(&req->err, LP_E_INTERNAL, "the caller's profile is missing");
    memset(&user, 0, sizeof user);
    memset(&team, 0, sizeof team);
    lp_strlcpy(user.id, who->user_id, sizeof user.id);
    user.email = (char *)who->user_email;
    user.name = (char *)who->user_name;
    lp_strlcpy(team.id, who->team_id, sizeof team.id);
    team.name = (char *)who->team_name;
    team.slug = (char *)who->team_slug;
    lp_strlcpy(team.created_at, who->team_created_at ? who->team_created_at : "", sizeof team.created_at);
    answer = lp_identity_whoami_json(&user, &team, lp_role_name(lp_role_of(req)), req->who.via_session,
                                     req->who.csrf_token);
    if (!answer)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    return lp_res_json(req, 200, answer);
}
