/* Authentication of a request: API keys and browser sessions.
 *
 * lp_auth_authenticate reads `Authorization: ApiKey <key>` (or `Bearer <key>`)
 * or the `loupe_session` cookie, looks the credential up (by SHA-256 hash;
 * expired or revoked credentials fail), and fills req->who. Writes (any method
 * other than GET/HEAD/OPTIONS) made with a session must carry the session's
 * CSRF token in `X-CSRF-Token`. Failures: LP_E_UNAUTHENTICATED (401) for a
 * missing, unknown, expired or revoked credential; LP_E_FORBIDDEN (403) for a
 * missing or wrong CSRF token. The server calls it for every non-PUBLIC route,
 * then checks lp_role_has(req->who.role, route->perm). */
#ifndef LOUPE_HTTP_AUTH_H
#define LOUPE_HTTP_AUTH_H

#include "loupe/http/request.h"

#define LP_SESSION_COOKIE "loupe_session"
#define LP_CSRF_HEADER "X-CSRF-Token"

int lp_auth_authenticate(lp_req *req);

#endif
