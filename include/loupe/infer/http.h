/* The HTTP runtimes: a model served by a model server (runtime "http"),
 * KServe v2 / Open Inference Protocol (loupe/infer/kserve.h) or a V7-style
 * bring-your-own-model server (loupe/infer/v7.h). Every call goes through
 * the outbound client and its SSRF guard (loupe/net/client.h): the
 * endpoint's addresses must be public or in net_allow; http:// and https://
 * are both accepted (model servers often speak plain HTTP inside a
 * cluster). One call is bounded by timeout_ms and the caller's deadline, its
 * answer by max_response bytes; a connection failure or a 5xx answer is
 * tried again up to retries times (200 ms, then doubling, within the
 * deadline). Failures are sentences naming the server:
 *   LP_E_TIMEOUT      "model server http://… did not answer within 5000 ms (model_http_timeout)"
 *   LP_E_UNAVAILABLE  refused connections, 5xx and 4xx answers, answers
 *                     that are not the protocol's, answers over max_response
 *   LP_E_INVALID      the server's model does not fit the spec (names the
 *                     member); the endpoint's address is refused by the guard
 *
 * DESIGN (threads): an lp_infer_http belongs to one thread at a time (its
 * client keeps its connections open between calls). */
#ifndef LOUPE_INFER_HTTP_H
#define LOUPE_INFER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/infer/onnx.h"
#include "loupe/models/detect.h"
#include "loupe/models/spec.h"

/* Most shapes a V7-style server's answer may hold (before max_detections). */
#define LP_INFER_HTTP_RESULTS_MAX 10000

typedef struct lp_infer_http_settings {
    const char *net_allow; /* the net_allow setting: networks allowed although not public */
    int64_t timeout_ms;    /* one call (model_http_timeout) */
    int retries;           /* further tries after a connection failure or a 5xx (model_http_retries) */
    int64_t max_response;  /* bytes of one answer (model_http_max_response) */
} lp_infer_http_settings;

typedef struct lp_infer_http lp_infer_http;

/* Checks an endpoint URL as a call would, without calling: scheme, no
 * credentials, and (resolve = 1) every address the host resolves to
 * against net_allow. A field error on "endpoint.url" (LP_E_INVALID) when
 * refused, naming why ("address 127.0.0.1 is not allowed (loopback)"). */
int lp_infer_http_url_check(const char *net_allow, const char *url, int resolve, lp_error *err);

/* The runtime of spec (runtime http; borrowed for the runtime's life),
 * ready to run: the server asked about the model before deadline_ms
 * (monotonic) — KServe: GET /v2/models/{name} checked with
 * lp_kserve_metadata_check; V7: GET {url}/classes checked with
 * lp_v7_classes_check. NULL with err. */
lp_infer_http *lp_infer_http_open(const lp_model_spec *spec, const lp_infer_http_settings *s, int64_t deadline_ms,
                                  lp_error *err);
void lp_infer_http_free(lp_infer_http *h);

/* KServe: runs the model on one FP32 input tensor (shape: ndims entries);
 * the outputs into *outs (n_out tensors, in the model's output order; free
 * with lp_onnx_tensors_free, then free). */
int lp_infer_http_tensor(lp_infer_http *h, const float *input, const int64_t *shape, size_t ndims,
                         int64_t deadline_ms, lp_onnx_tensor **outs, size_t *n_out, lp_error *err);

/* V7: sends the image (w × hh RGB pixels, rows of stride bytes) and reads
 * the shapes of the answer in its pixels into out (cap entries, at least
 * LP_INFER_HTTP_RESULTS_MAX; polygons' points in a), as lp_v7_results_read. */
int lp_infer_http_image(lp_infer_http *h, const uint8_t *rgb, int w, int hh, size_t stride, int64_t deadline_ms,
                        lp_arena *a, lp_model_det *out, size_t cap, size_t *n, lp_error *err);

#endif
