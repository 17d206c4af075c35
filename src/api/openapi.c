/* GET /api/v1/openapi.json: docs/openapi.yaml (written in YAML's JSON
 * subset, so it is served as it is), embedded in the binary at build time. */
#include "handlers_int.h"

extern const unsigned char lp_openapi_doc[];
extern const unsigned long lp_openapi_doc_len;

int lp_api_openapi(lp_req *req)
{
    lp_res_header(req, "Cache-Control", "public, max-age=300");
    return lp_res_bytes(req, 200, "application/json", lp_openapi_doc, lp_openapi_doc_len);
}
