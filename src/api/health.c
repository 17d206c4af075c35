/* System endpoints: liveness, readiness, metrics and the OpenAPI document. */
#include <string.h>

#include "handlers_int.h"
#include "loupe/core/buf.h"
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

int lp_api_metrics(lp_req *req)
{
    lp_buf out;
    lp_buf_init(&out, 16 * 1024 * 1024);
    if (lp_metrics_render(req->svc->metrics, &out) != 0) {
        lp_buf_free(&out);
        return lp_error_set(&req->err, LP_E_INTERNAL, "metrics did not fit their buffer");
    }
    int rc = lp_res_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data ? out.data : "", out.len);
    lp_buf_free(&out);
    return rc;
}
