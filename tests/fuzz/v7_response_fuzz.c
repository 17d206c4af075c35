/* Fuzzes the readers of a V7-style model server's answers (src/infer/v7.c): /classes checked
 * against a model's labels, and the shapes of an /infer answer. A model server is reached over the
 * network and its answers are untrusted. Invariants: every kept shape lies within the image, has a
 * known label and a score at or over the threshold, and there are at most max_detections. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "loupe/infer/v7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *doc;
    static lp_model_spec spec;
    lp_model_det d[64];
    size_t n = 0;
    lp_error err;

    if (!doc) {
        lp_error_clear(&err);
        doc = json_loads("{\"name\": \"v\", \"task\": \"detect\", \"runtime\": \"http\", \"endpoint\": {\"protocol\": "
                         "\"v7_byom\", \"url\": \"http://10.0.0.5\"}, \"input\": {\"width\": 64, \"height\": 64}, "
                         "\"output\": {\"decoder\": \"boxes_scores_classes\", \"max_detections\": 5}, "
                         "\"labels\": [\"cat\", \"dog\"], \"score_threshold\": 0.25}",
                         0, NULL);
        if (!doc || lp_model_spec_read(doc, 100, &spec, &err) != 0)
            abort();
    }
    lp_error_clear(&err);
    (void)lp_v7_classes_check((const char *)data, size, &spec, &err);
    lp_error_clear(&err);
    lp_arena *a = lp_arena_new(0, 0);
    if (!a)
        abort();
    if (lp_v7_results_read((const char *)data, size, &spec, 640, 480, a, d, 64, &n, &err) == 0) {
        if (n > 5)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (d[i].label < 0 || d[i].label > 1 || d[i].score < 0.25f || d[i].x < 0 || d[i].y < 0 || d[i].w <= 0 ||
                d[i].h <= 0 || d[i].x + d[i].w > 640.0001 || d[i].y + d[i].h > 480.0001)
                abort();
        }
    } else if (err.code == LP_OK) {
        abort();
    }
    lp_arena_free(a);
    return 0;
}
