/* The authentication service: API keys and browser sessions.
 *
 * The application creates one lp_auth per node and sets
 * lp_services.authenticate = lp_auth_authenticate and lp_services.auth to
 * it; the HTTP server calls it for every route that is not PUBLIC, then
 * checks the route's permission against req->who.perms.
 *
 * lp_auth_authenticate reads `Authorization: ApiKey <key>` (or `Bearer
 * <key>`) or the `loupe_session` cookie and fills req->who. It asks the
 * credential cache first (loupe/identity/credential_cache.h): a hit costs
 * no database round trip. On a miss it looks the credential up through the
 * request's pooled connection (lp_req_db — the same connection the handler
 * then uses), by prefix and SHA-256 for a key, by SHA-256 for a session;
 * an accepted credential is cached. Writes (any method other than
 * GET/HEAD/OPTIONS) made with a session must carry the session's CSRF
 * token in `X-CSRF-Token`. Failures: LP_E_UNAUTHENTICATED (401) for a
 * missing, unknown, expired or revoked credential; LP_E_FORBIDDEN (403) for
 * a missing or wrong CSRF token; LP_E_UNAVAILABLE (503) when no database
 * connection is free. Only a caller who presents the real credential
 * learns that it was revoked or has expired. */
#ifndef LOUPE_IDENTITY_AUTHENTICATE_H
#define LOUPE_IDENTITY_AUTHENTICATE_H

#include "loupe/core/buf.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/http/request.h"
#include "loupe/identity/credential_cache.h"

#define LP_SESSION_COOKIE "loupe_session"
#define LP_CSRF_HEADER "X-CSRF-Token"

typedef struct lp_auth lp_auth;

/* The service with a credential cache of cfg->auth_cache_entries entries
 * kept at most cfg->auth_cache_ttl, and its listener thread (none when the
 * cache is off). cfg is borrowed. NULL with err. */
lp_auth *lp_auth_new(const lp_config *cfg, lp_error *err);
/* Stops the listener and frees. NULL is a no-op. */
void lp_auth_free(lp_auth *a);

/* The lp_services.authenticate function; auth is the lp_auth. 0 or -1
 * (req->err set). */
int lp_auth_authenticate(void *auth, lp_req *req);

/* The caller as authentication found them (the member's profile included),
 * borrowed from the request; NULL before authentication. */
const lp_credential *lp_auth_caller(const lp_req *req);

/* Drop what this node cached about a credential, or about a member
 * (team_id NULL: in every team; user_id NULL: every member of the team),
 * at once: a handler calls them after committing a change to it, so the
 * node that made the change never answers with the old state, not even
 * before the change's notification arrives (every other node learns it
 * from the notification). No-ops when the request's service is not an
 * lp_auth. */
void lp_auth_forget_credential(const lp_req *req, const char *credential_id);
void lp_auth_forget_member(const lp_req *req, const char *team_id, const char *user_id);

/* The service's cache (borrowed), e.g. for its metrics collector. */
lp_credential_cache *lp_auth_cache(lp_auth *a);

#endif
