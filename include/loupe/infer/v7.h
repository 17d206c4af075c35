/* A V7-style bring-your-own-model server, in JSON: the pure halves of the
 * exchange (docs/MODELS.md, "HTTP runtimes"). No I/O: loupe/infer/http.h
 * makes the calls.
 *
 *   GET  {url}/classes   [{"name", "type"}, …]   the server's classes
 *   POST {url}/infer     {"image": {"base64": "<PNG>"}}
 *                      → {"status": "succeeded", "results": [{"name" (or
 *                         "label"), "confidence", "bounding_box": {x, y, w,
 *                         h} | "polygon": {"path": [{x, y}, …]} | "tag":
 *                         {}}, …]}
 *
 * The server answers shapes in the pixels of the image it was sent. Readers
 * take any bytes (a server's answer is untrusted; fuzzed in
 * tests/fuzz/v7_response_fuzz.c) and fail with LP_E_UNAVAILABLE naming what
 * is wrong with the answer. */
#ifndef LOUPE_INFER_V7_H
#define LOUPE_INFER_V7_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/buf.h"
#include "loupe/core/error.h"
#include "loupe/models/detect.h"
#include "loupe/models/spec.h"

/* Checks a /classes answer: every label of spec is one of the server's
 * class names (LP_E_INVALID naming "labels[i]" otherwise). */
int lp_v7_classes_check(const char *text, size_t len, const lp_model_spec *spec, lp_error *err);

/* Appends the /infer request for an image of w × h RGB pixels (rows of
 * stride bytes) to out: the image as an 8-bit RGB PNG, base64 in JSON.
 * LP_E_NOMEM or LP_E_TOO_LARGE (out's maximum). */
int lp_v7_request_write(lp_buf *out, const uint8_t *rgb, int w, int h, size_t stride, lp_error *err);

/* Reads an /infer answer about an image of w × h pixels into out (cap
 * entries): each result whose name is one of spec's labels and whose
 * confidence (1 when absent) is at least score_threshold, as spec's task
 * takes it:
 *   detect    its box (a polygon's bounding box) clipped to the image;
 *   segment   its polygon (a path of 3 points or more; a box becomes its
 *             rectangle), the points clipped to the image, points in a;
 *   classify  a tag of the image (its shape, if any, not read; a label
 *             answered twice keeps its best confidence);
 * a shape left empty is dropped; the best output.max_detections (classify:
 * output.top_k) by confidence are kept, best first. *n the number kept. */
int lp_v7_results_read(const char *text, size_t len, const lp_model_spec *spec, int w, int h, lp_arena *a,
                       lp_model_det *out, size_t cap, size_t *n, lp_error *err);

#endif
