/* GET /api/v1/me: who is calling, in which team, with which role. */
#include "identity.h"
#include "loupe/api/handlers.h"

int lp_api_me(lp_req *req)
{
    lp_user_row user;
    lp_team_row team;
    json_t *answer;
    lp_db *db = lp_db_acquire(req->svc->db, &req->err);
    int rc;

    if (!db)
        return -1;
    rc = lp_db_user_get(db, req->arena, req->who.user_id, &user, &req->err);
    if (rc == 0)
        rc = lp_db_team_get(db, req->arena, req->who.team_id, &team, &req->err);
    lp_db_release(db);
    if (rc != 0)
        return -1;
    answer = lp_identity_whoami_json(&user, &team, lp_role_name(req->who.role), req->who.via_session,
                                     req->who.csrf_token);
    if (!answer)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    return lp_res_json(req, 200, answer);
}
