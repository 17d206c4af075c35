/* The HTTP runtimes. See loupe/infer/http.h. */
#include "loupe/infer/http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/infer/kserve.h"
#include "loupe/infer/v7.h"
#include "loupe/net/client.h"

#define URL_MAX (LP_MODEL_URL_MAX + 3 * LP_MODEL_TENSOR_NAME_MAX + 32)
#define RETRY_FIRST_MS 200

struct lp_infer_http {
    const lp_model_spec *spec;
    lp_infer_http_settings s;
    lp_net_allowlist allow;
    lp_net_policy policy;
    lp_net_client *client;
    lp_kserve_model model;  /* KServe: what its metadata said */
    char infer_url[URL_MAX];
};

static void policy_of(const lp_net_allowlist *allow, lp_net_policy *p)
{
    memset(p, 0, sizeof *p);
    p->allow = allow;
    p->allow_http = 1;
    p->max_redirects = 0;
}

int lp_infer_http_url_check(const char *net_allow, const char *url, int resolve, lp_error *err)
{
    lp_net_allowlist allow;
    lp_net_policy p;
    lp_error e;

    if (lp_net_allowlist_parse(net_allow, &allow, err) != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the net_allow setting is wrong");
    policy_of(&allow, &p);
    lp_error_clear(&e);
    if (lp_net_url_check(&p, url, resolve, &e) == 0)
        return 0;
    lp_error_field(err, LP_E_INVALID, "endpoint.url", "%s", e.message);
    if (e.code == LP_E_FORBIDDEN)
        lp_error_hint(err, "a model server on a private or loopback address needs its network in the net_allow "
                           "setting");
    return -1;
}

/* base (without a trailing '/') + the rest, into out. */
static void join(char *out, const char *base, const char *a, const char *name, const char *b)
{
    size_t n = strlen(base), at;
    while (n > 0 && base[n - 1] == '/')
        n--;
    at = (size_t)snprintf(out, URL_MAX, "%.*s%s", (int)n, base, a);
    for (const char *p = name; p && *p && at + 4 < URL_MAX; p++) { /* a path segment: percent-encoded */
        unsigned char c = (unsigned char)*p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c))
            out[at++] = (char)c;
        else
            at += (size_t)snprintf(out + at, URL_MAX - at, "%%%02X", c);
    }
    snprintf(out + at, URL_MAX - at, "%s", b);
}

static void nap(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One call with its retries: 0 with a 2xx answer in *resp (free it), or -1 with err. */
static int call(lp_infer_http *h, const char *method, const char *url, const lp_buf *body, int64_t deadline_ms,
                lp_net_response *resp, lp_error *err)
{
    const char *const headers[] = {"Content-Type: application/json", "Accept: application/json", NULL};
    int64_t wait = RETRY_FIRST_MS;
    lp_error e;

    for (int attempt = 1;; attempt++) {
        int64_t left = deadline_ms - lp_now_mono_ms();
        int rc, again;
        if (left <= 0)
            return lp_error_set(err, LP_E_TIMEOUT, "model server %s was not asked: the inference's deadline passed",
                                url);
        h->policy.timeout_ms = h->s.timeout_ms < left ? h->s.timeout_ms : left;
        lp_net_request req = {.method = method,
                              .url = url,
                              .headers = body ? headers : headers + 1,
                              .body = body ? body->data : NULL,
                              .body_len = body ? body->len : 0,
                              .keep_bytes = (size_t)h->s.max_response};
        memset(resp, 0, sizeof *resp);
        lp_error_clear(&e);
        rc = lp_net_fetch(h->client, &h->policy, &req, resp, &e);
        if (rc == 0 && resp->status >= 200 && resp->status < 300)
            return 0;
        again = attempt <= h->s.retries && (rc == 0 ? resp->status >= 500 : e.code == LP_E_UNAVAILABLE) &&
                deadline_ms - lp_now_mono_ms() > wait;
        if (!again) {
            if (rc != 0 && e.code == LP_E_TIMEOUT)
                lp_error_set(err, LP_E_TIMEOUT, "model server %s did not answer within %lld ms (model_http_timeout)",
                             url, (long long)h->policy.timeout_ms);
            else if (rc != 0 && e.code == LP_E_TOO_LARGE)
                lp_error_set(err, LP_E_UNAVAILABLE, "model server %s answered over %lld bytes "
                                                    "(model_http_max_response)", url, (long long)h->s.max_response);
            else if (rc != 0 && e.code == LP_E_FORBIDDEN)
                lp_error_set(err, LP_E_INVALID, "model server %s may not be called: %s (net_allow)", url, e.message);
            else if (rc != 0)
                lp_error_set(err, e.code == LP_E_NOMEM ? LP_E_NOMEM : LP_E_UNAVAILABLE,
                             "model server %s cannot be reached (%d %s): %s", url, attempt,
                             attempt == 1 ? "try" : "tries", e.message);
            else
                lp_error_set(err, LP_E_UNAVAILABLE, "model server %s answered HTTP %ld (%d %s)%s%.200s", url,
                             resp->status, attempt, attempt == 1 ? "try" : "tries", resp->body_len ? ": " : "",
                             resp->body ? resp->body : "");
            lp_net_response_free(resp);
            return -1;
        }
        lp_net_response_free(resp);
        nap(wait);
        wait *= 2;
    }
}

lp_infer_http *lp_infer_http_open(const lp_model_spec *spec, const lp_infer_http_settings *s, int64_t deadline_ms,
                                  lp_error *err)
{
    lp_infer_http *h = calloc(1, sizeof *h);
    lp_net_response resp;
    char url[URL_MAX];
    int rc;

    if (!h) {
        lp_error_set(err, LP_E_NOMEM, "out of memory opening a model server's runtime");
        return NULL;
    }
    h->spec = spec;
    h->s = *s;
    if (spec->runtime != LP_MODEL_HTTP || !spec->endpoint_url) {
        lp_error_set(err, LP_E_INVALID, "the model has no HTTP endpoint");
        goto fail;
    }
    if (lp_net_allowlist_parse(s->net_allow, &h->allow, err) != 0)
        goto fail;
    policy_of(&h->allow, &h->policy);
    h->policy.max_response_bytes = s->max_response;
    if (!(h->client = lp_net_client_new(err)))
        goto fail;
    if (spec->protocol == LP_MODEL_KSERVE_V2) {
        join(url, spec->endpoint_url, "/v2/models/", spec->endpoint_model, "");
        join(h->infer_url, spec->endpoint_url, "/v2/models/", spec->endpoint_model, "/infer");
    } else {
        join(url, spec->endpoint_url, "/classes", NULL, "");
        join(h->infer_url, spec->endpoint_url, "/infer", NULL, "");
    }
    if (call(h, "GET", url, NULL, deadline_ms, &resp, err) != 0)
        goto fail;
    rc = spec->protocol == LP_MODEL_KSERVE_V2
             ? lp_kserve_metadata_check(resp.body ? resp.body : "", resp.body_len, spec, &h->model, err)
             : lp_v7_classes_check(resp.body ? resp.body : "", resp.body_len, spec, err);
    lp_net_response_free(&resp);
    if (rc != 0) {
        if (err->code == LP_E_INVALID)
            lp_error_detail(err, "the model server %s does not serve the model the spec describes", url);
        goto fail;
    }
    return h;

fail:
    lp_infer_http_free(h);
    return NULL;
}

void lp_infer_http_free(lp_infer_http *h)
{
    if (!h)
        return;
    lp_net_client_free(h->client);
    lp_kserve_model_free(&h->model);
    free(h);
}

int lp_infer_http_tensor(lp_infer_http *h, const float *input, const int64_t *shape, size_t ndims,
                         int64_t deadline_ms, lp_onnx_tensor **outs, size_t *n_out, lp_error *err)
{
    lp_net_response resp;
    lp_buf body;
    int rc;

    *outs = NULL;
    *n_out = 0;
    lp_buf_init(&body, SIZE_MAX / 2);
    if (lp_kserve_request_write(&body, &h->model, input, shape, ndims, err) != 0 ||
        call(h, "POST", h->infer_url, &body, deadline_ms, &resp, err) != 0) {
        lp_buf_free(&body);
        return -1;
    }
    lp_buf_free(&body);
    /* each value takes at least two bytes of JSON: the answer's size bounds its values */
    rc = lp_kserve_response_read(resp.body ? resp.body : "", resp.body_len, &h->model, resp.body_len / 2 + 1, outs, n_out, err);
    lp_net_response_free(&resp);
    return rc;
}

int lp_infer_http_image(lp_infer_http *h, const uint8_t *rgb, int w, int hh, size_t stride, int64_t deadline_ms,
                        lp_arena *a, lp_model_det *out, size_t cap, size_t *n, lp_error *err)
{
    lp_net_response resp;
    lp_buf body;
    int rc;

    *n = 0;
    lp_buf_init(&body, SIZE_MAX / 2);
    if (lp_v7_request_write(&body, rgb, w, hh, stride, err) != 0 ||
        call(h, "POST", h->infer_url, &body, deadline_ms, &resp, err) != 0) {
        lp_buf_free(&body);
        return -1;
    }
    lp_buf_free(&body);
    rc = lp_v7_results_read(resp.body ? resp.body : "", resp.body_len, h->spec, w, hh, a, out, cap, n, err);
    lp_net_response_free(&resp);
    return rc;
}
