/* The Open Inference Protocol v2 in JSON. See loupe/infer/kserve.h. */
#include "loupe/infer/kserve.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"

/* Deepest nesting of a tensor's data (one array per dimension, and the outer one). */
#define DATA_DEPTH_MAX (LP_ONNX_DIMS_MAX + 1)

void lp_kserve_model_free(lp_kserve_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->noutputs; i++)
        free(m->outputs[i]);
    memset(m, 0, sizeof *m);
}

static json_t *load(const char *text, size_t len, const char *what, lp_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    if (!doc || !json_is_object(doc)) {
        lp_error_set(err, LP_E_UNAVAILABLE, "the model server's %s is not a JSON object%s%s", what,
                     doc ? "" : ": ", doc ? "" : jerr.text);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---- metadata ------------------------------------------------------------------------------ */

/* The spec's output names, role by role ("boxes", name); the per-stride parts of ssd_anchors included. */
static size_t spec_output_names(const lp_model_output *o, const char *roles[], const char *names[], size_t cap)
{
    const char *const r[] = {"boxes", "scores", "classes", "masks", "keypoints", "probability_map", "logits",
                             "embedding"};
    const char *const v[] = {o->boxes,     o->scores,          o->classes, o->masks,
                             o->keypoints, o->probability_map, o->logits,  o->embedding};
    size_t n = 0;
    for (size_t i = 0; i < sizeof r / sizeof *r && n < cap; i++) {
        if (v[i]) {
            roles[n] = r[i];
            names[n++] = v[i];
        }
    }
    for (size_t i = 0; i < o->nboxes_parts && n < cap; i++) {
        roles[n] = "boxes";
        names[n++] = o->boxes_parts[i];
    }
    for (size_t i = 0; i < o->nscores_parts && n < cap; i++) {
        roles[n] = "scores";
        names[n++] = o->scores_parts[i];
    }
    return n;
}

static const char *const DATATYPES[] = {"FP32", "FP16", "UINT8", NULL};

/* The input's shape against the tensor Loupe sends: [1, 3, H, W] (NCHW) or [1, H, W, 3], or the same
 * without the batch (rank 3); -1 is any. Sets m->batched. */
static int check_shape(const json_t *shape, const char *name, const lp_model_input *in, lp_kserve_model *m,
                       lp_error *err)
{
    int64_t want[4] = {1, 3, in->height, in->width};
    const char *field[4] = {"input", "input.layout", "input.height", "input.width"};
    size_t rank = json_array_size(shape), skip = rank == 3;
    if (in->layout == LP_MODEL_NHWC) {
        want[1] = in->height;
        want[2] = in->width;
        want[3] = 3;
        field[1] = "input.height";
        field[2] = "input.width";
        field[3] = "input.layout";
    }
    if (!json_is_array(shape) || (rank != 4 && rank != 3))
        return lp_error_field(err, LP_E_INVALID, "input",
                              "the server's input \"%s\" is not of rank 4 or 3; Loupe sends one image as "
                              "[1, 3, H, W] (NCHW) or [1, H, W, 3] (NHWC), or either without the batch",
                              name);
    m->batched = !skip;
    for (size_t i = skip; i < 4; i++) {
        const json_t *d = json_array_get(shape, i - skip);
        if (!json_is_integer(d))
            return lp_error_set(err, LP_E_UNAVAILABLE, "the model server's metadata gives input \"%s\" a shape "
                                                       "that is not integers", name);
        if (json_integer_value(d) >= 0 && json_integer_value(d) != want[i])
            return lp_error_field(err, LP_E_INVALID, field[i],
                                  "the server's input \"%s\" has %lld in dimension %zu where the spec gives %lld",
                                  name, (long long)json_integer_value(d), i, (long long)want[i]);
    }
    return 0;
}

int lp_kserve_metadata_check(const char *text, size_t len, const lp_model_spec *spec, lp_kserve_model *m,
                             lp_error *err)
{
    json_t *doc, *inputs, *outputs, *v, *input = NULL;
    const char *roles[LP_KSERVE_OUTPUTS_MAX], *names[LP_KSERVE_OUTPUTS_MAX];
    size_t i, nnames;
    int rc = -1, missing = 0;

    memset(m, 0, sizeof *m);
    if (!(doc = load(text, len, "metadata", err)))
        return -1;
    inputs = json_object_get(doc, "inputs");
    outputs = json_object_get(doc, "outputs");
    if (!json_is_array(inputs) || json_array_size(inputs) == 0 || !json_is_array(outputs)) {
        lp_error_set(err, LP_E_UNAVAILABLE, "the model server's metadata has no inputs or outputs arrays");
        goto done;
    }
    json_array_foreach(inputs, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (!name || strlen(name) > LP_MODEL_TENSOR_NAME_MAX) {
            lp_error_set(err, LP_E_UNAVAILABLE, "the model server's metadata lists an input without a name");
            goto done;
        }
        if (!input && (!spec->input.name || strcmp(spec->input.name, name) == 0))
            input = v;
    }
    if (!input) {
        lp_error_field(err, LP_E_INVALID, "input.name", "the server's model has no input \"%s\"", spec->input.name);
        goto done;
    }
    lp_strlcpy(m->input, json_string_value(json_object_get(input, "name")), sizeof m->input);
    const char *type = json_string_value(json_object_get(input, "datatype"));
    size_t t = 0;
    while (DATATYPES[t] && (!type || strcmp(type, DATATYPES[t]) != 0))
        t++;
    if (!DATATYPES[t]) {
        lp_error_field(err, LP_E_INVALID, "input", "the server's input \"%s\" is %.20s; Loupe sends FP32, FP16 "
                       "or UINT8", m->input, type ? type : "of no datatype");
        goto done;
    }
    m->datatype = (lp_kserve_datatype)t;
    if (m->datatype == LP_KSERVE_UINT8 &&
        (spec->input.scale != 1 || spec->input.mean[0] != 0 || spec->input.mean[1] != 0 || spec->input.mean[2] != 0 ||
         spec->input.std[0] != 1 || spec->input.std[1] != 1 || spec->input.std[2] != 1)) {
        lp_error_field(err, LP_E_INVALID, "input.scale", "the server's input \"%s\" is UINT8: it takes the pixels "
                       "as they are; give \"scale\": 1, \"mean\": [0], \"std\": [1]", m->input);
        goto done;
    }
    if (check_shape(json_object_get(input, "shape"), m->input, &spec->input, m, err) != 0)
        goto done;
    json_array_foreach(outputs, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (!name || strlen(name) > LP_MODEL_TENSOR_NAME_MAX || m->noutputs == LP_KSERVE_OUTPUTS_MAX) {
            lp_error_set(err, LP_E_UNAVAILABLE, "the model server's metadata lists an output without a name, or "
                                                "over %d outputs", LP_KSERVE_OUTPUTS_MAX);
            goto done;
        }
        if (!(m->outputs[m->noutputs] = strdup(name))) {
            lp_error_set(err, LP_E_NOMEM, "out of memory reading a model's metadata");
            goto done;
        }
        m->noutputs++;
    }
    nnames = spec_output_names(&spec->output, roles, names, LP_KSERVE_OUTPUTS_MAX);
    for (i = 0; i < nnames; i++) {
        int found = 0;
        for (size_t k = 0; k < m->noutputs && !found; k++)
            found = strcmp(m->outputs[k], names[i]) == 0;
        if (!found) {
            char f[64];
            snprintf(f, sizeof f, "output.names.%s", roles[i]);
            missing = lp_error_field(err, LP_E_INVALID, f, "the server's model has no output \"%s\"", names[i]);
        }
    }
    rc = missing;

done:
    json_decref(doc);
    if (rc != 0)
        lp_kserve_model_free(m);
    return rc;
}

/* ---- the request --------------------------------------------------------------------------- */

int lp_kserve_request_write(lp_buf *out, const lp_kserve_model *m, const float *data, const int64_t *shape,
                            size_t ndims, lp_error *err)
{
    json_t *name = json_string(m->input);
    char *quoted = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
    size_t count = 1, first = !m->batched && ndims > 1; /* an unbatched input: the batch of one left out */
    int rc = quoted ? lp_buf_printf(out, "{\"inputs\":[{\"name\":%s,\"datatype\":\"%s\",\"shape\":[", quoted,
                                    DATATYPES[m->datatype])
                    : LP_BUF_NOMEM;

    free(quoted);
    json_decref(name);
    for (size_t i = 0; rc == 0 && i < ndims; i++) {
        if (i >= first)
            rc = lp_buf_printf(out, "%s%lld", i > first ? "," : "", (long long)shape[i]);
        count *= (size_t)shape[i];
    }
    if (rc == 0)
        rc = lp_buf_puts(out, "],\"data\":[");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        double f = isfinite(data[i]) ? (double)data[i] : 0.0;
        rc = m->datatype == LP_KSERVE_UINT8 ? lp_buf_printf(out, "%s%d", i ? "," : "", (int)lround(fmin(fmax(f, 0), 255)))
                                            : lp_buf_printf(out, "%s%.7g", i ? "," : "", f);
    }
    if (rc == 0)
        rc = lp_buf_puts(out, "]}]}");
    if (rc != 0)
        return lp_error_set(err, lp_buf_failure(out), "the inference request is too large or out of memory");
    return 0;
}

/* ---- the response -------------------------------------------------------------------------- */

/* Copies the values of v (a number, a boolean, or arrays of them nested at most depth deep) into
 * dst at *at (cap values at most). -1 when something else is found or there are too many. */
static int flatten(const json_t *v, float *dst, size_t cap, size_t *at, int depth)
{
    if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        if (depth == 0)
            return -1;
        json_array_foreach(v, i, e) {
            if (flatten(e, dst, cap, at, depth - 1) != 0)
                return -1;
        }
        return 0;
    }
    if (*at >= cap)
        return -1;
    if (json_is_boolean(v))
        dst[(*at)++] = json_is_true(v) ? 1.0f : 0.0f;
    else if (json_is_number(v) && isfinite(json_number_value(v)))
        dst[(*at)++] = (float)json_number_value(v);
    else
        return -1;
    return 0;
}

/* One output of an answer into t; *budget values left for the whole answer. */
static int read_output(const json_t *o, size_t index, size_t *budget, lp_onnx_tensor *t, lp_error *err)
{
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *type = json_string_value(json_object_get(o, "datatype"));
    const json_t *shape = json_object_get(o, "shape"), *d;
    size_t count = 1, at = 0, i;

    if (!name || !*name || strlen(name) > LP_MODEL_TENSOR_NAME_MAX)
        return lp_error_set(err, LP_E_UNAVAILABLE, "the model server's outputs[%zu] has no name", index);
    if (type && strcmp(type, "BYTES") == 0)
        return lp_error_set(err, LP_E_UNAVAILABLE, "the model server's output \"%s\" is BYTES; Loupe reads numbers",
                            name);
    if (!json_is_array(shape) || json_array_size(shape) > LP_ONNX_DIMS_MAX)
        return lp_error_set(err, LP_E_UNAVAILABLE, "the model server's output \"%s\" has no shape of at most %d "
                                                   "dimensions", name, LP_ONNX_DIMS_MAX);
    json_array_foreach(shape, i, d) {
        json_int_t n = json_integer_value(d);
        if (!json_is_integer(d) || n < 0 || (n > 0 && count > *budget / (size_t)n))
            return lp_error_set(err, LP_E_UNAVAILABLE, "the model server's output \"%s\" has a shape that is not "
                                                       "sizes, or over %zu values in all", name, *budget);
        t->shape[i] = n;
        count *= (size_t)n;
    }
    t->ndims = json_array_size(shape);
    if (!(t->name = strdup(name)) || !(t->data = malloc((count ? count : 1) * sizeof *t->data)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading the model server's output \"%s\"", name);
    if (flatten(json_object_get(o, "data"), t->data, count, &at, DATA_DEPTH_MAX) != 0 || at != count)
        return lp_error_set(err, LP_E_UNAVAILABLE, "the model server's output \"%s\" does not hold the %zu numbers "
                                                   "of its shape", name, count);
    t->count = count;
    *budget -= count;
    return 0;
}

/* Where an output goes: its place among the model's outputs, else after them. */
static size_t rank_of(const lp_kserve_model *m, const char *name, size_t index)
{
    for (size_t i = 0; m && i < m->noutputs; i++)
        if (strcmp(m->outputs[i], name) == 0)
            return i;
    return LP_KSERVE_OUTPUTS_MAX + index;
}

int lp_kserve_response_read(const char *text, size_t len, const lp_kserve_model *m, size_t max_elements,
                            lp_onnx_tensor **outs, size_t *n_out, lp_error *err)
{
    json_t *doc, *outputs, *o;
    lp_onnx_tensor *t = NULL;
    size_t n = 0, i, budget = max_elements, ranks[LP_KSERVE_OUTPUTS_MAX];
    int rc = -1;

    *outs = NULL;
    *n_out = 0;
    if (!(doc = load(text, len, "answer", err)))
        return -1;
    outputs = json_object_get(doc, "outputs");
    if (!json_is_array(outputs) || json_array_size(outputs) == 0 || json_array_size(outputs) > LP_KSERVE_OUTPUTS_MAX) {
        const char *msg = json_string_value(json_object_get(doc, "error"));
        lp_error_set(err, LP_E_UNAVAILABLE, "the model server's answer has no outputs (1 to %d)%s%.200s",
                     LP_KSERVE_OUTPUTS_MAX, msg ? ": " : "", msg ? msg : "");
        goto done;
    }
    n = json_array_size(outputs);
    if (!(t = calloc(n, sizeof *t))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory reading the model server's answer");
        goto done;
    }
    json_array_foreach(outputs, i, o) {
        if (!json_is_object(o)) {
            lp_error_set(err, LP_E_UNAVAILABLE, "the model server's outputs[%zu] is not an object", i);
            goto done;
        }
        if (read_output(o, i, &budget, &t[i], err) != 0)
            goto done;
        ranks[i] = rank_of(m, t[i].name, i);
    }
    for (i = 1; i < n; i++) { /* insertion sort by rank: a handful of outputs */
        lp_onnx_tensor x = t[i];
        size_t r = ranks[i], k = i;
        for (; k > 0 && ranks[k - 1] > r; k--) {
            t[k] = t[k - 1];
            ranks[k] = ranks[k - 1];
        }
        t[k] = x;
        ranks[k] = r;
    }
    *outs = t;
    *n_out = n;
    t = NULL;
    rc = 0;

done:
    if (t) {
        lp_onnx_tensors_free(t, n);
        free(t);
    }
    json_decref(doc);
    return rc;
}
