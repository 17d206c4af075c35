/* The Open Inference Protocol v2 (KServe, Triton REST) in JSON: the pure
 * halves of the exchange with a model server — the infer request written
 * from Loupe's input tensor, the model's metadata checked against its spec,
 * the infer response read into output tensors (docs/MODELS.md, "HTTP
 * runtimes"). No I/O: loupe/infer/http.h makes the calls.
 *
 *   GET  /v2/models/{name}        {"name", "inputs": [{"name", "datatype",
 *                                  "shape"}], "outputs": [{"name", …}]}
 *   POST /v2/models/{name}/infer  {"inputs": [{"name", "shape", "datatype":
 *                                  "FP32" | "FP16" | "UINT8", "data": [...]}]}
 *                               → {"model_name", "outputs": [{"name",
 *                                  "shape", "datatype", "data"}]}
 *
 * Readers take any bytes (a server's answer is untrusted; fuzzed in
 * tests/fuzz/kserve_response_fuzz.c) and fail with LP_E_UNAVAILABLE naming
 * what is wrong with the answer. */
#ifndef LOUPE_INFER_KSERVE_H
#define LOUPE_INFER_KSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/buf.h"
#include "loupe/core/error.h"
#include "loupe/infer/onnx.h"
#include "loupe/models/spec.h"

/* Most outputs a response may hold. */
#define LP_KSERVE_OUTPUTS_MAX 64

/* The input datatypes Loupe sends. */
typedef enum lp_kserve_datatype {
    LP_KSERVE_FP32 = 0,  /* the input tensor as the spec makes it (fit, scale, mean, std) */
    LP_KSERVE_FP16,      /* the same values; the server narrows them */
    LP_KSERVE_UINT8      /* the pixels 0–255 (the spec's scale, mean and std must leave them as they are) */
} lp_kserve_datatype;

/* What the metadata says Loupe needs (lp_kserve_metadata_check). */
typedef struct lp_kserve_model {
    char input[LP_MODEL_TENSOR_NAME_MAX + 1];     /* the input tensor Loupe fills */
    lp_kserve_datatype datatype;                  /* of the input */
    int batched;                                  /* 1: rank 4, a batch of one first; 0: rank 3, one image */
    char *outputs[LP_KSERVE_OUTPUTS_MAX];         /* the output names in the model's order (new) */
    size_t noutputs;
} lp_kserve_model;

void lp_kserve_model_free(lp_kserve_model *m);

/* Checks a metadata answer (text, len bytes) against spec: its input
 * (input.name, else the first) is FP32, FP16 or UINT8 (UINT8: only when
 * the spec's scale is 1, mean 0 and std 1, so the tensor holds the pixels;
 * else LP_E_INVALID naming "input.scale"), of rank 4 (a batch first) or 3
 * (one image), whose fixed dimensions match input.width × input.height × 3
 * in input.layout, and every output
 * output.names names is among its outputs. Fills *m (free with
 * lp_kserve_model_free). LP_E_INVALID naming the member of the spec that
 * does not fit ("input.width", "output.names.boxes"), LP_E_UNAVAILABLE for
 * an answer that is not metadata. */
int lp_kserve_metadata_check(const char *text, size_t len, const lp_model_spec *spec, lp_kserve_model *m,
                             lp_error *err);

/* Appends the infer request for one input tensor to out: m's input name
 * and datatype, shape (ndims entries, a batch of one first; left out when
 * m is not batched), data of the shape's element count (UINT8: rounded and
 * clamped to 0–255). LP_E_NOMEM or LP_E_TOO_LARGE (out's maximum). */
int lp_kserve_request_write(lp_buf *out, const lp_kserve_model *m, const float *data, const int64_t *shape,
                            size_t ndims, lp_error *err);

/* Reads an infer answer into *outs (n_out tensors, new; free with
 * lp_onnx_tensors_free then free): each output's data (flat or nested
 * arrays, numbers or booleans) as floats, its shape, its name; ordered as
 * m's outputs (names m does not list follow, in the answer's order). At most
 * max_elements values in all. LP_E_UNAVAILABLE naming what is wrong
 * ("outputs[1].data has 10 values for shape [1, 4]"). */
int lp_kserve_response_read(const char *text, size_t len, const lp_kserve_model *m, size_t max_elements,
                            lp_onnx_tensor **outs, size_t *n_out, lp_error *err);

#endif
