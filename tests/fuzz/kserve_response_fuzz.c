/* Fuzzes the readers of a KServe v2 model server's answers (src/infer/kserve.c): the model's
 * metadata checked against a spec, and the infer answer read into tensors. A model server is
 * reached over the network and its answers are untrusted. Invariants: a read answer holds tensors
 * whose element counts are their shapes' products, within the bound given; nothing leaks. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/infer/kserve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *doc;
    static lp_model_spec spec;
    lp_kserve_model m;
    lp_onnx_tensor *outs = NULL;
    size_t n = 0, total = 0;
    lp_error err;

    if (!doc) {
        lp_error_clear(&err);
        doc = json_loads("{\"name\": \"d\", \"task\": \"detect\", \"runtime\": \"http\", \"endpoint\": {\"protocol\": "
                         "\"kserve_v2\", \"url\": \"http://10.0.0.5\", \"model_name\": \"det\"}, \"input\": "
                         "{\"width\": 64, \"height\": 32}, \"output\": {\"decoder\": \"boxes_scores_classes\", "
                         "\"names\": {\"boxes\": \"b\", \"scores\": \"s\"}}, \"labels\": [\"cat\"]}",
                         0, NULL);
        if (!doc || lp_model_spec_read(doc, 100, &spec, &err) != 0)
            abort();
    }
    lp_error_clear(&err);
    if (lp_kserve_metadata_check((const char *)data, size, &spec, &m, &err) == 0) {
        if (!m.input[0])
            abort();
    } else {
        memset(&m, 0, sizeof m);
    }
    lp_error_clear(&err);
    if (lp_kserve_response_read((const char *)data, size, &m, 4096, &outs, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            size_t want = 1;
            for (size_t d = 0; d < outs[i].ndims; d++)
                want *= (size_t)outs[i].shape[d];
            if (want != outs[i].count || !outs[i].name)
                abort();
            total += outs[i].count;
        }
        if (total > 4096)
            abort();
        lp_onnx_tensors_free(outs, n);
        free(outs);
    } else if (outs || err.code == LP_OK) {
        abort();
    }
    lp_kserve_model_free(&m);
    return 0;
}
