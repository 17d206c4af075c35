/* Reading a model's description. See loupe/models/spec.h. */
#include "loupe/models/spec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loupe/core/util.h"

const char *const lp_model_task_names[] = {"detect", "segment", "classify", "keypoints", "text_detect", NULL};
const char *const lp_model_runtime_names[] = {"onnx", "http", NULL};
const char *const lp_model_protocol_names[] = {"kserve_v2", "v7_byom", NULL};
const char *const lp_model_layout_names[] = {"NCHW", "NHWC", NULL};
const char *const lp_model_resize_names[] = {"letterbox", "stretch", NULL};
const char *const lp_model_queue_names[] = {"cpu", "gpu", NULL};
const char *const lp_model_decoder_names[] = {"boxes_scores_classes", "ssd_anchors", "masks", "keypoints",
                                              "text_polygons", "logits", NULL};
const char *const lp_model_box_format_names[] = {"xyxy", "xyxy_norm", "cxcywh_norm", NULL};
const char *const lp_model_mask_layout_names[] = {"image", "box", "prototypes", NULL};

/* The decoders each task may use. */
static int decoder_fits(lp_model_task t, lp_model_decoder d)
{
    switch (t) {
    case LP_MODEL_DETECT: return d == LP_DEC_BOXES_SCORES_CLASSES || d == LP_DEC_SSD_ANCHORS;
    case LP_MODEL_SEGMENT: return d == LP_DEC_MASKS;
    case LP_MODEL_CLASSIFY: return d == LP_DEC_LOGITS;
    case LP_MODEL_KEYPOINTS: return d == LP_DEC_KEYPOINTS;
    case LP_MODEL_TEXT_DETECT: return d == LP_DEC_TEXT_POLYGONS;
    }
    return 0;
}

/* Each decoder's members of "output" besides "decoder", and of "output.names". */
static const char *const OPT_BSC[] = {"decoder", "names", "box_format", "max_detections", NULL};
static const char *const OPT_SSD[] = {"decoder", "names", "box_format", "max_detections", "strides",
                                      "anchors_per_cell", "box_scale", "score_sigmoid", NULL};
static const char *const OPT_MASKS[] = {"decoder",        "names",       "box_format",   "max_detections",
                                        "mask_threshold", "mask_layout", "mask_sigmoid", NULL};
static const char *const OPT_KP[] = {"decoder",         "names",              "box_format", "max_detections",
                                     "keypoints_count", "keypoint_threshold", NULL};
static const char *const OPT_TEXT[] = {"decoder",   "names",    "binary_threshold", "unclip_ratio",
                                       "min_size", "max_detections", NULL};
static const char *const OPT_LOGITS[] = {"decoder", "names", "softmax", "top_k", NULL};
static const char *const *const DECODER_OPTIONS[] = {OPT_BSC, OPT_SSD, OPT_MASKS, OPT_KP, OPT_TEXT, OPT_LOGITS};

static const char *const NAMES_BSC[] = {"boxes", "scores", "classes", "embedding", NULL};
static const char *const NAMES_SSD[] = {"boxes", "scores", "embedding", NULL};
static const char *const NAMES_MASKS[] = {"masks", "boxes", "scores", "classes", "prototypes", "embedding", NULL};
static const char *const NAMES_KP[] = {"keypoints", "boxes", "scores", "embedding", NULL};
static const char *const NAMES_TEXT[] = {"probability_map", NULL};
static const char *const NAMES_LOGITS[] = {"logits", "embedding", NULL};
static const char *const *const DECODER_NAMES[] = {NAMES_BSC, NAMES_SSD, NAMES_MASKS, NAMES_KP, NAMES_TEXT, NAMES_LOGITS};

static const char *const TOP[] = {"name",   "task",   "runtime",         "endpoint", "input", "output",
                                  "labels", "class_map", "score_threshold", "nms_iou",  "queue", NULL};
static const char *const ENDPOINT[] = {"protocol", "url", "model_name", NULL};
static const char *const INPUT[] = {"width", "height", "layout", "resize", "scale", "mean", "std", "name", NULL};

/* ---- member readers: field errors carry prefix + name ------------------------------------ */

/* A member of obj; null is the same as absent (a model read back with GET is a valid body). */
static const json_t *member(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_null(v) ? NULL : v;
}

static int bad(lp_error *err, const char *prefix, const char *name, const char *msg)
{
    char f[128];
    snprintf(f, sizeof f, "%s%s", prefix, name);
    return lp_error_field(err, LP_E_INVALID, f, "%s", msg);
}

static int in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    return -1;
}

static void only(const json_t *obj, const char *prefix, const char *const *allowed, const char *why, lp_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (in_list(allowed, key) < 0)
            bad(err, prefix, key, why);
    }
}

/* 0 with *out (borrowed, NULL when absent and optional), or -1. */
static int str(const json_t *obj, const char *prefix, const char *name, int required, size_t max, const char **out,
               lp_error *err)
{
    const json_t *v = member(obj, name);
    *out = NULL;
    if (!v)
        return required ? bad(err, prefix, name, "is required") : 0;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return bad(err, prefix, name, "must be a non-empty string");
    if (json_string_length(v) > max) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be at most %zu bytes", max);
        return bad(err, prefix, name, msg);
    }
    *out = json_string_value(v);
    return 0;
}

static int choice(const json_t *obj, const char *prefix, const char *name, int required, const char *const *choices,
                  int *out, lp_error *err)
{
    const char *s;
    char msg[256];
    size_t n = 0;
    if (str(obj, prefix, name, required, 64, &s, err) != 0 || !s)
        return s || !required ? 0 : -1;
    if ((*out = in_list(choices, s)) >= 0)
        return 0;
    n += (size_t)snprintf(msg, sizeof msg, "must be one of");
    for (int i = 0; choices[i] && n < sizeof msg; i++)
        n += (size_t)snprintf(msg + n, sizeof msg - n, "%s \"%s\"", i ? "," : "", choices[i]);
    *out = 0;
    return bad(err, prefix, name, msg);
}

static int number(const json_t *obj, const char *prefix, const char *name, double lo, double hi, int open_lo,
                  double *out, lp_error *err)
{
    const json_t *v = member(obj, name);
    char msg[96];
    if (!v)
        return 0;
    double d = json_number_value(v);
    if (json_is_number(v) && isfinite(d) && (open_lo ? d > lo : d >= lo) && d <= hi) {
        *out = d;
        return 0;
    }
    snprintf(msg, sizeof msg, "must be a number %s %g and at most %g", open_lo ? "over" : "of at least", lo, hi);
    return bad(err, prefix, name, msg);
}

static int integer(const json_t *obj, const char *prefix, const char *name, int required, int lo, int hi, int *out,
                   lp_error *err)
{
    const json_t *v = member(obj, name);
    char msg[96];
    if (!v)
        return required ? bad(err, prefix, name, "is required") : 0;
    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi) {
        *out = (int)json_integer_value(v);
        return 0;
    }
    snprintf(msg, sizeof msg, "must be an integer from %d to %d", lo, hi);
    return bad(err, prefix, name, msg);
}

static int boolean(const json_t *obj, const char *prefix, const char *name, int *out, lp_error *err)
{
    const json_t *v = member(obj, name);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return bad(err, prefix, name, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

static const json_t *object(const json_t *obj, const char *prefix, const char *name, int required, lp_error *err)
{
    const json_t *v = member(obj, name);
    if (!v) {
        if (required)
            bad(err, prefix, name, "is required");
        return NULL;
    }
    if (!json_is_object(v)) {
        bad(err, prefix, name, "must be an object");
        return NULL;
    }
    return v;
}

/* mean or std: one number for every channel, or three. */
static void channels(const json_t *obj, const char *name, int positive, double out[3], lp_error *err)
{
    const json_t *v = member(obj, name);
    char f[32];
    if (!v)
        return;
    if (!json_is_array(v) || (json_array_size(v) != 1 && json_array_size(v) != 3)) {
        bad(err, "input.", name, "must be an array of 1 or 3 numbers (one per channel)");
        return;
    }
    for (size_t i = 0; i < 3; i++) {
        size_t k = json_array_size(v) == 1 ? 0 : i;
        const json_t *e = json_array_get(v, k);
        double d = json_number_value(e);
        if (!json_is_number(e) || !isfinite(d) || (positive && d <= 0) || fabs(d) > 1e6) {
            snprintf(f, sizeof f, "input.%s[%zu]", name, k);
            lp_error_field(err, LP_E_INVALID, f, "must be a number%s", positive ? " over 0" : "");
            return;
        }
        out[i] = d;
    }
}

/* strides and anchors_per_cell of ssd_anchors: *n integers of 1..max. */
static void int_list(const json_t *obj, const char *name, int max, int *out, size_t *n, lp_error *err)
{
    const json_t *v = member(obj, name);
    char f[48];
    if (!v)
        return;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > LP_MODEL_STRIDES_MAX) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be an array of 1 to %d integers", LP_MODEL_STRIDES_MAX);
        bad(err, "output.", name, msg);
        return;
    }
    *n = json_array_size(v);
    for (size_t i = 0; i < *n; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > max) {
            snprintf(f, sizeof f, "output.%s[%zu]", name, i);
            lp_error_field(err, LP_E_INVALID, f, "must be an integer from 1 to %d", max);
            return;
        }
        out[i] = (int)json_integer_value(e);
    }
}

/* ---- the parts ---------------------------------------------------------------------------- */

static void read_endpoint(const json_t *doc, lp_model_spec *s, lp_error *err)
{
    const json_t *ep = object(doc, "", "endpoint", s->runtime == LP_MODEL_HTTP, err);
    int p = 0;
    if (!ep)
        return;
    if (s->runtime != LP_MODEL_HTTP) {
        bad(err, "", "endpoint", "is only for runtime \"http\"");
        return;
    }
    only(ep, "endpoint.", ENDPOINT, "is not a member of endpoint", err);
    int known = choice(ep, "endpoint.", "protocol", 1, lp_model_protocol_names, &p, err) == 0 && member(ep, "protocol");
    if (known)
        s->protocol = (lp_model_protocol)p;
    if (str(ep, "endpoint.", "url", 1, LP_MODEL_URL_MAX, &s->endpoint_url, err) == 0 && s->endpoint_url &&
        strncmp(s->endpoint_url, "http://", 7) != 0 && strncmp(s->endpoint_url, "https://", 8) != 0)
        bad(err, "endpoint.", "url", "must be an http:// or https:// URL");
    str(ep, "endpoint.", "model_name", known && s->protocol == LP_MODEL_KSERVE_V2, LP_MODEL_TENSOR_NAME_MAX,
        &s->endpoint_model, err);
}

static void read_input(const json_t *doc, lp_model_input *in, lp_error *err)
{
    const json_t *o = object(doc, "", "input", 1, err);
    int c = 0;
    in->layout = LP_MODEL_NCHW;
    in->resize = LP_MODEL_LETTERBOX;
    in->scale = 1.0 / 255.0;
    for (int i = 0; i < 3; i++) {
        in->mean[i] = 0;
        in->std[i] = 1;
    }
    if (!o)
        return;
    only(o, "input.", INPUT, "is not a member of input", err);
    integer(o, "input.", "width", 1, 1, LP_MODEL_SIDE_MAX, &in->width, err);
    integer(o, "input.", "height", 1, 1, LP_MODEL_SIDE_MAX, &in->height, err);
    if (choice(o, "input.", "layout", 0, lp_model_layout_names, &c, err) == 0)
        in->layout = (lp_model_layout)c;
    c = 0;
    if (choice(o, "input.", "resize", 0, lp_model_resize_names, &c, err) == 0)
        in->resize = (lp_model_resize)c;
    number(o, "input.", "scale", 0, 1e6, 1, &in->scale, err);
    channels(o, "mean", 0, in->mean, err);
    channels(o, "std", 1, in->std, err);
    str(o, "input.", "name", 0, LP_MODEL_TENSOR_NAME_MAX, &in->name, err);
}

static const char **name_slot(lp_model_output *o, const char *key)
{
    const char *const keys[] = {"boxes",     "scores",          "classes", "masks",    "prototypes",
                                "keypoints", "probability_map", "logits",  "embedding"};
    const char **slots[] = {&o->boxes,     &o->scores,          &o->classes, &o->masks,    &o->prototypes,
                            &o->keypoints, &o->probability_map, &o->logits,  &o->embedding};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strcmp(keys[i], key) == 0)
            return slots[i];
    return NULL;
}

/* names.boxes or names.scores of ssd_anchors given as an array: one tensor per stride. */
static void name_parts(const json_t *v, const char *key, lp_model_output *out, lp_error *err)
{
    int boxes = strcmp(key, "boxes") == 0;
    const char **parts = boxes ? out->boxes_parts : out->scores_parts;
    size_t *n = boxes ? &out->nboxes_parts : &out->nscores_parts;
    const json_t *e;
    size_t i;
    char f[64];
    if (json_array_size(v) == 0 || json_array_size(v) > LP_MODEL_STRIDES_MAX) {
        snprintf(f, sizeof f, "must be a tensor name or an array of 1 to %d names", LP_MODEL_STRIDES_MAX);
        bad(err, "output.names.", key, f);
        return;
    }
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || json_string_length(e) == 0 || json_string_length(e) > LP_MODEL_TENSOR_NAME_MAX) {
            snprintf(f, sizeof f, "output.names.%s[%zu]", key, i);
            lp_error_field(err, LP_E_INVALID, f, "must be a non-empty string of at most %d bytes",
                           LP_MODEL_TENSOR_NAME_MAX);
            *n = 0;
            return;
        }
        parts[i] = json_string_value(e);
    }
    *n = json_array_size(v);
    *name_slot(out, key) = parts[0];
}

static void read_output(const json_t *doc, lp_model_task task, lp_model_output *out, lp_error *err)
{
    const json_t *o = object(doc, "", "output", 1, err), *names;
    const char *key;
    json_t *v;
    char f[64], why[96];
    int d = 0, c = 0;
    out->max_detections = 100;
    out->mask_threshold = 0.5;
    out->binary_threshold = 0.3;
    out->unclip_ratio = 1.5;
    out->min_size = 3;
    out->keypoint_threshold = 0.5;
    out->top_k = 1;
    if (!o || choice(o, "output.", "decoder", 1, lp_model_decoder_names, &d, err) != 0)
        return;
    out->decoder = (lp_model_decoder)d;
    if (!decoder_fits(task, out->decoder)) {
        snprintf(why, sizeof why, "does not decode the outputs of a %s model", lp_model_task_names[task]);
        bad(err, "output.", "decoder", why);
    }
    snprintf(why, sizeof why, "is not an option of decoder %s", lp_model_decoder_names[d]);
    only(o, "output.", DECODER_OPTIONS[d], why, err);
    if ((names = object(o, "output.", "names", 0, err))) {
        snprintf(why, sizeof why, "is not an output of decoder %s", lp_model_decoder_names[d]);
        only(names, "output.names.", DECODER_NAMES[d], why, err);
        json_object_foreach((json_t *)names, key, v) {
            const char **slot = name_slot(out, key);
            if (slot && in_list(DECODER_NAMES[d], key) >= 0) {
                if (d == LP_DEC_SSD_ANCHORS && json_is_array(v) && strcmp(key, "embedding") != 0)
                    name_parts(v, key, out, err);
                else
                    str(names, "output.names.", key, 1, LP_MODEL_TENSOR_NAME_MAX, slot, err);
            }
        }
    }
    if (choice(o, "output.", "box_format", 0, lp_model_box_format_names, &c, err) == 0)
        out->box_format = (lp_model_box_format)c;
    integer(o, "output.", "max_detections", 0, 1, 10000, &out->max_detections, err);
    int_list(o, "strides", 1024, out->strides, &out->nstrides, err);
    size_t na = 0;
    int_list(o, "anchors_per_cell", 64, out->anchors_per_cell, &na, err);
    if (out->decoder == LP_DEC_SSD_ANCHORS) {
        if (!out->nstrides)
            bad(err, "output.", "strides", "is required by decoder ssd_anchors");
        if (!na)
            bad(err, "output.", "anchors_per_cell", "is required by decoder ssd_anchors");
        else if (na != out->nstrides) {
            snprintf(f, sizeof f, "must have one entry per stride (%zu)", out->nstrides);
            bad(err, "output.", "anchors_per_cell", f);
        }
        snprintf(f, sizeof f, "must name one tensor per stride (%zu)", out->nstrides);
        if (out->nboxes_parts && out->nboxes_parts != out->nstrides)
            bad(err, "output.names.", "boxes", f);
        if (out->nscores_parts && out->nscores_parts != out->nstrides)
            bad(err, "output.names.", "scores", f);
    }
    number(o, "output.", "box_scale", 0, 1e6, 0, &out->box_scale, err);
    boolean(o, "output.", "score_sigmoid", &out->score_sigmoid, err);
    number(o, "output.", "mask_threshold", 0, 1, 0, &out->mask_threshold, err);
    c = 0;
    if (choice(o, "output.", "mask_layout", 0, lp_model_mask_layout_names, &c, err) == 0)
        out->mask_layout = (lp_model_mask_layout)c;
    boolean(o, "output.", "mask_sigmoid", &out->mask_sigmoid, err);
    integer(o, "output.", "keypoints_count", out->decoder == LP_DEC_KEYPOINTS, 1, 1000, &out->keypoints_count, err);
    number(o, "output.", "keypoint_threshold", 0, 1, 0, &out->keypoint_threshold, err);
    number(o, "output.", "binary_threshold", 0, 1, 0, &out->binary_threshold, err);
    number(o, "output.", "unclip_ratio", 0, 100, 1, &out->unclip_ratio, err);
    integer(o, "output.", "min_size", 0, 0, LP_MODEL_SIDE_MAX, &out->min_size, err);
    boolean(o, "output.", "softmax", &out->softmax, err);
    integer(o, "output.", "top_k", 0, 1, 1000, &out->top_k, err);
}

static void read_labels(const json_t *doc, size_t labels_max, size_t label_max, lp_model_spec *s, lp_error *err)
{
    const json_t *labels = member(doc, "labels"), *map, *v;
    const char *key;
    char f[256];
    if (!labels) {
        bad(err, "", "labels", "is required");
        return;
    }
    if (!json_is_array(labels) || json_array_size(labels) == 0 || json_array_size(labels) > labels_max) {
        snprintf(f, sizeof f, "must be an array of 1 to %zu label names (model_labels_max)", labels_max);
        bad(err, "", "labels", f);
        return;
    }
    s->labels = labels;
    for (size_t i = 0; i < json_array_size(labels); i++) {
        const json_t *e = json_array_get(labels, i);
        snprintf(f, sizeof f, "labels[%zu]", i);
        if (!json_is_string(e) || json_string_length(e) == 0) {
            lp_error_field(err, LP_E_INVALID, f, "must be a non-empty string");
            continue;
        }
        if (json_string_length(e) > label_max) {
            lp_error_field(err, LP_E_INVALID, f, "is %zu bytes long, over the limit of %zu (model_label_max)",
                           json_string_length(e), label_max);
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (json_equal((json_t *)e, json_array_get(labels, k))) {
                lp_error_field(err, LP_E_INVALID, f, "repeats labels[%zu]", k);
                break;
            }
    }
    if (!(map = object(doc, "", "class_map", 0, err)))
        return;
    s->class_map = map;
    json_object_foreach((json_t *)map, key, v) {
        int known = 0;
        for (size_t i = 0; i < json_array_size(labels) && !known; i++)
            known = json_is_string(json_array_get(labels, i)) &&
                    strcmp(json_string_value(json_array_get(labels, i)), key) == 0;
        snprintf(f, sizeof f, "class_map.%.100s", key);
        if (!known)
            lp_error_field(err, LP_E_INVALID, f, "is not one of labels");
        else if (!json_is_string(v) || !lp_is_uuid(json_string_value(v)))
            lp_error_field(err, LP_E_INVALID, f, "must be a class id (UUID)");
    }
}

int lp_model_spec_read(const json_t *doc, size_t labels_max, lp_model_spec *out, lp_error *err)
{
    lp_model_spec_limits lim = {labels_max, LP_MODEL_NAME_MAX, LP_MODEL_LABEL_MAX};
    return lp_model_spec_read_limits(doc, &lim, out, err);
}

int lp_model_spec_read_limits(const json_t *doc, const lp_model_spec_limits *lim, lp_model_spec *out, lp_error *err)
{
    int c = 0;
    memset(out, 0, sizeof *out);
    out->score_threshold = 0.5;
    out->nms_iou = 0.45;
    if (!json_is_object(doc))
        return lp_error_set(err, LP_E_INVALID, "the model must be a JSON object");
    size_t mark = err->nfields;
    only(doc, "", TOP, "is not a member of a model", err);
    const json_t *name = member(doc, "name");
    if (json_is_string(name) && json_string_length(name) > lim->name_max)
        lp_error_field(err, LP_E_INVALID, "name", "is %zu bytes long, over the limit of %zu (model_name_max)",
                       json_string_length(name), lim->name_max);
    else
        str(doc, "", "name", 1, lim->name_max, &out->name, err);
    if (choice(doc, "", "task", 1, lp_model_task_names, &c, err) == 0)
        out->task = (lp_model_task)c;
    c = 0;
    if (choice(doc, "", "runtime", 1, lp_model_runtime_names, &c, err) == 0)
        out->runtime = (lp_model_runtime)c;
    read_endpoint(doc, out, err);
    read_input(doc, &out->input, err);
    read_output(doc, out->task, &out->output, err);
    read_labels(doc, lim->labels_max, lim->label_max, out, err);
    number(doc, "", "score_threshold", 0, 1, 0, &out->score_threshold, err);
    number(doc, "", "nms_iou", 0, 1, 0, &out->nms_iou, err);
    c = 0;
    if (choice(doc, "", "queue", 0, lp_model_queue_names, &c, err) == 0)
        out->queue = (lp_model_queue)c;
    return err->nfields > mark || err->code != LP_OK ? -1 : 0;
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *triple(const double v[3]) { return json_pack("[f, f, f]", v[0], v[1], v[2]); }

static json_t *output_json(const lp_model_output *o)
{
    json_t *doc = json_pack("{s:s}", "decoder", lp_model_decoder_names[o->decoder]), *names = json_object();
    const char *const *keys = DECODER_NAMES[o->decoder];
    if (!doc || !names) {
        json_decref(doc);
        json_decref(names);
        return NULL;
    }
    for (size_t i = 0; keys[i]; i++) {
        const char **slot = name_slot((lp_model_output *)o, keys[i]);
        int boxes = strcmp(keys[i], "boxes") == 0, scores = strcmp(keys[i], "scores") == 0;
        size_t nparts = boxes ? o->nboxes_parts : scores ? o->nscores_parts : 0;
        if (nparts) {
            json_t *list = json_array();
            for (size_t k = 0; k < nparts; k++)
                json_array_append_new(list, json_string(boxes ? o->boxes_parts[k] : o->scores_parts[k]));
            json_object_set_new(names, keys[i], list);
        } else if (*slot)
            json_object_set_new(names, keys[i], json_string(*slot));
    }
    json_object_set_new(doc, "names", names);
    switch (o->decoder) {
    case LP_DEC_SSD_ANCHORS: {
        json_t *st = json_array(), *ap = json_array();
        for (size_t i = 0; i < o->nstrides; i++) {
            json_array_append_new(st, json_integer(o->strides[i]));
            json_array_append_new(ap, json_integer(o->anchors_per_cell[i]));
        }
        json_object_set_new(doc, "strides", st);
        json_object_set_new(doc, "anchors_per_cell", ap);
        json_object_set_new(doc, "box_scale", json_real(o->box_scale));
        json_object_set_new(doc, "score_sigmoid", json_boolean(o->score_sigmoid));
        json_object_set_new(doc, "box_format", json_string(lp_model_box_format_names[o->box_format]));
        json_object_set_new(doc, "max_detections", json_integer(o->max_detections));
        break;
    }
    case LP_DEC_BOXES_SCORES_CLASSES:
        json_object_set_new(doc, "box_format", json_string(lp_model_box_format_names[o->box_format]));
        json_object_set_new(doc, "max_detections", json_integer(o->max_detections));
        break;
    case LP_DEC_MASKS:
        json_object_set_new(doc, "box_format", json_string(lp_model_box_format_names[o->box_format]));
        json_object_set_new(doc, "max_detections", json_integer(o->max_detections));
        json_object_set_new(doc, "mask_threshold", json_real(o->mask_threshold));
        json_object_set_new(doc, "mask_layout", json_string(lp_model_mask_layout_names[o->mask_layout]));
        json_object_set_new(doc, "mask_sigmoid", json_boolean(o->mask_sigmoid));
        break;
    case LP_DEC_KEYPOINTS:
        json_object_set_new(doc, "box_format", json_string(lp_model_box_format_names[o->box_format]));
        json_object_set_new(doc, "max_detections", json_integer(o->max_detections));
        json_object_set_new(doc, "keypoints_count", json_integer(o->keypoints_count));
        json_object_set_new(doc, "keypoint_threshold", json_real(o->keypoint_threshold));
        break;
    case LP_DEC_TEXT_POLYGONS:
        json_object_set_new(doc, "binary_threshold", json_real(o->binary_threshold));
        json_object_set_new(doc, "unclip_ratio", json_real(o->unclip_ratio));
        json_object_set_new(doc, "min_size", json_integer(o->min_size));
        json_object_set_new(doc, "max_detections", json_integer(o->max_detections));
        break;
    case LP_DEC_LOGITS:
        json_object_set_new(doc, "softmax", json_boolean(o->softmax));
        json_object_set_new(doc, "top_k", json_integer(o->top_k));
        break;
    }
    return doc;
}

json_t *lp_model_spec_json(const lp_model_spec *s)
{
    const lp_model_input *in = &s->input;
    json_t *endpoint = s->runtime == LP_MODEL_HTTP
                           ? json_pack("{s:s, s:s, s:o}", "protocol", lp_model_protocol_names[s->protocol], "url",
                                       s->endpoint_url, "model_name", str_or_null(s->endpoint_model))
                           : json_null();
    return json_pack("{s:s, s:s, s:s, s:o, s:{s:i, s:i, s:s, s:s, s:f, s:o, s:o, s:o}, s:o, s:O, s:o, s:f, s:f, s:s}",
                     "name", s->name, "task", lp_model_task_names[s->task], "runtime",
                     lp_model_runtime_names[s->runtime], "endpoint", endpoint, "input", "width", in->width, "height",
                     in->height, "layout", lp_model_layout_names[in->layout], "resize",
                     lp_model_resize_names[in->resize], "scale", in->scale, "mean", triple(in->mean), "std",
                     triple(in->std), "name", str_or_null(in->name), "output", output_json(&s->output), "labels",
                     s->labels, "class_map", s->class_map ? json_incref((json_t *)s->class_map) : json_object(), "score_threshold", s->score_threshold, "nms_iou",
                     s->nms_iou, "queue", lp_model_queue_names[s->queue]);
}
