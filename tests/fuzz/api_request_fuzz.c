/* Fuzzes the router and the query-string readers: the input is a request
 * target (path and query, as sent on the request line; the first byte picks
 * the method). It is matched against the route table directly
 * (lp_route_match_path), then sent to an in-process louped without a
 * database (inproc_server.h), whose handlers read their query parameters
 * (page[size], page[after], filters, …) before their first database call.
 * Any answer but a 4xx or the 503 of the missing database is a finding. */
#include <stdint.h>
#include <stdlib.h>

#include "inproc_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"};
    fz_server *s = fz_server_get();
    lp_route_match m;
    char allow[128], resp[256];
    if (!s || size < 2 || size > 4096)
        return 0;
    const char *method = methods[data[0] % 6];
    char *target = malloc(size);
    if (!target)
        return 0;
    memcpy(target, data + 1, size - 1);
    target[size - 1] = '\0';

    /* The router alone, on the target up to its query (what the server hands it after decoding). */
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';
    if (lp_route_match_path(s->routes, s->nroutes, method, target, &m, allow, sizeof allow) == LP_ROUTE_FOUND &&
        (!m.route || m.nparams > LP_ROUTE_MAX_PARAMS))
        abort();
    if (q)
        *q = '?';

    /* The whole server. Bytes the request line cannot carry (space, CR, LF) end the target. */
    size_t tl = strcspn(target, " \r\n");
    if (tl == 0 || target[0] != '/') {
        free(target);
        return 0;
    }
    char *req = malloc(tl + 160);
    if (!req) {
        free(target);
        return 0;
    }
    int len = snprintf(req, tl + 160, "%s %.*s HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n%s", method,
                       (int)tl, target, strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "DELETE")
                           ? "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" : "\r\n");
    int status = fz_server_send(s, req, (size_t)len, resp, sizeof resp);
    if (status < 0 || (status >= 500 && status != 503)) {
        fprintf(stderr, "api_request_fuzz: %s %.*s answered %d:\n%s\n", method, (int)tl, target, status, resp);
        abort();
    }
    free(req);
    free(target);
    return 0;
}
