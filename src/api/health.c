/* System endpoints: liveness, readiness, metrics and the OpenAPI document. */
#include <string.h>
#include <strings.h>

#include "handlers_int.h"
#include "loupe/core/buf.h"
#include "loupe/crypto/token.h"
#include "loupe/http/metrics.h"

int lp_api_healthz(lp_req *req)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    return lp_res_bytes(req, 200, "application/json", ok, sizeof(ok) - 1);
}

int lp_api_readyz(lp_req *req)
{
    char why[256] = "";
    if (req->svc->ready && req->svc->ready(req->svc, why, sizeof(why)) != 0) {
        lp_error_set(&req->err, LP_E_UNAVAILABLE, "not ready: %s", why);
        return -1;
    }
    return lp_res_json(req, 200, json_pack("{s:s}", "status", "ready"));
}

/* /metrics is public in the route table but answers only to the bearer of
 * metrics_token (compared in constant time); with no token configured it is
 * not served at all. Team API keys do not open it: the figures are about the
 * whole node, every team's traffic included. */
static int metrics_allowed(lp_req *req)
{
    const char *token = req->svc->cfg->metrics_token;
    const char *auth = lp_req_header(req, "Authorization");
    if (!token || !token[0])
        return lp_error_set(&req->err, LP_E_NOT_FOUND, "there is no endpoint at /metrics on this node");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !lp_token_equal(auth + 7, token)) {
        lp_error_set(&req->err, LP_E_UNAUTHENTICATED, "/metrics needs the metrics token");
        return lp_error_hint(&req->err, "send Authorization: Bearer <metrics_token>");
    }
    return 0;
}

int lp_api_metrics(lp_req *req)
{
    lp_buf out;
    if (metrics_allowed(req) != 0)
        return -1;
    lp_buf_init(&out, 16 * 1024 * 1024);
    if (lp_metrics_render(req->svc->metrics, &out) != 0) {
        lp_buf_free(&out);
        return lp_error_set(&req->err, LP_E_INTERNAL, "metrics did not fit their buffer");
    }
    int rc = lp_res_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data ? out.data : "", out.len);
    lp_buf_free(&out);
    return rc;
}
