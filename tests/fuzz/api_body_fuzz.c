/* Fuzzes the JSON body reader of every route that takes one (BODY JSON or
 * BULK in src/api/routes.def): the first input byte picks the route, the
 * rest is the body, sent to an in-process louped without a database
 * (inproc_server.h). Each handler reads and checks its whole body before its
 * first database call, so any answer but a 4xx problem or the 503 of the
 * missing database is a finding, as is a crash, a leak or a hang. */
#include <stdint.h>
#include <stdlib.h>

#include "inproc_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_server *s = fz_server_get();
    const lp_route *body_routes[64];
    size_t n = 0;
    char path[512], head[1024], resp[256];
    if (!s || size < 1)
        return 0;
    for (size_t i = 0; i < s->nroutes && n < 64; i++)
        if (s->routes[i].body == LP_BODY_JSON || s->routes[i].body == LP_BODY_BULK)
            body_routes[n++] = &s->routes[i];
    const lp_route *r = body_routes[data[0] % n];
    fz_server_path(r, path, sizeof path);
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\nContent-Type: application/json\r\n"
                      "If-Match: *\r\nContent-Length: %zu\r\n\r\n",
                      r->method, path, size - 1);
    char *req = malloc((size_t)hl + size);
    if (!req)
        return 0;
    memcpy(req, head, (size_t)hl);
    memcpy(req + hl, data + 1, size - 1);
    int status = fz_server_send(s, req, (size_t)hl + size - 1, resp, sizeof resp);
    free(req);
    if (status < 0 || (status >= 500 && status != 503)) {
        fprintf(stderr, "api_body_fuzz: %s answered %d:\n%s\n", r->name, status, resp);
        abort();
    }
    return 0;
}
