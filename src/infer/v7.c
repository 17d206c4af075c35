/* A V7-style bring-your-own-model server, in JSON. See loupe/infer/v7.h. */
#include "loupe/infer/v7.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/crypto/encode.h"
#include "loupe/formats/png.h"
#include "loupe/geometry/measure.h"

static json_t *load(const char *text, size_t len, const char *what, lp_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    if (!doc)
        lp_error_set(err, LP_E_UNAVAILABLE, "the model server's %s is not JSON: %s", what, jerr.text);
    return doc;
}

/* The class name of a /classes entry (an object with "name", or a string), or NULL. */
static const char *class_name(const json_t *c)
{
    return json_is_string(c) ? json_string_value(c) : json_string_value(json_object_get(c, "name"));
}

int lp_v7_classes_check(const char *text, size_t len, const lp_model_spec *spec, lp_error *err)
{
    json_t *doc = load(text, len, "list of classes", err), *list, *label;
    size_t i;
    int rc = 0;

    if (!doc)
        return -1;
    list = json_is_array(doc) ? doc : json_object_get(doc, "classes");
    if (!json_is_array(list)) {
        json_decref(doc);
        return lp_error_set(err, LP_E_UNAVAILABLE, "the model server's /classes answer is not a list of classes");
    }
    json_array_foreach(spec->labels, i, label) {
        size_t k;
        const json_t *c;
        int found = 0;
        json_array_foreach(list, k, c) {
            const char *name = class_name(c);
            found |= name && strcmp(name, json_string_value(label)) == 0;
        }
        if (!found) {
            char f[32];
            snprintf(f, sizeof f, "labels[%zu]", i);
            rc = lp_error_field(err, LP_E_INVALID, f, "\"%s\" is not one of the model server's classes (GET /classes)",
                                json_string_value(label));
        }
    }
    json_decref(doc);
    return rc;
}

/* ---- the request: the image as PNG ------------------------------------------------------- */

/* The pixels as an 8-bit RGB PNG into png (fast compression: it is sent once and decoded once). */
static int png_rgb(const uint8_t *rgb, int w, int h, size_t stride, lp_buf *png, lp_error *err)
{
    lp_png *p = lp_png_begin(png, (uint32_t)w, (uint32_t)h, LP_PNG_RGB, NULL, 0, 1, err);
    int rc = p ? 0 : -1;
    for (int y = 0; y < h && rc == 0; y++)
        rc = lp_png_row(p, rgb + (size_t)y * stride, err);
    if (rc == 0)
        rc = lp_png_end(p, err);
    lp_png_free(p);
    return rc;
}

int lp_v7_request_write(lp_buf *out, const uint8_t *rgb, int w, int h, size_t stride, lp_error *err)
{
    lp_buf png;
    char *b64 = NULL;
    int rc = -1;

    lp_buf_init(&png, out->max);
    if (png_rgb(rgb, w, h, stride, &png, err) != 0)
        goto done;
    size_t n = lp_base64_len(png.len);
    if (!(b64 = malloc(n + 1)) || lp_base64_encode(png.data, png.len, b64, n + 1) < 0) {
        lp_error_set(err, LP_E_NOMEM, "out of memory encoding an image for the model server");
        goto done;
    }
    if (lp_buf_puts(out, "{\"image\":{\"base64\":\"") || lp_buf_append(out, b64, n) || lp_buf_puts(out, "\"}}")) {
        lp_error_set(err, lp_buf_failure(out), "the request to the model server is too large or out of memory");
        goto done;
    }
    rc = 0;

done:
    free(b64);
    lp_buf_free(&png);
    return rc;
}

/* ---- the answer -------------------------------------------------------------------------- */

static int finite_num(const json_t *v, double *out)
{
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return -1;
    *out = json_number_value(v);
    return 0;
}

/* The box of a result, xyxy: its bounding_box, else its polygon's extent. */
static int result_box(const json_t *r, double b[4])
{
    const json_t *bb = json_object_get(r, "bounding_box"), *path, *p;
    double x, y, w, hh;
    size_t i;
    if (json_is_object(bb)) {
        if (finite_num(json_object_get(bb, "x"), &x) || finite_num(json_object_get(bb, "y"), &y) ||
            finite_num(json_object_get(bb, "w"), &w) || finite_num(json_object_get(bb, "h"), &hh) || w < 0 || hh < 0)
            return -1;
        b[0] = x;
        b[1] = y;
        b[2] = x + w;
        b[3] = y + hh;
        return 0;
    }
    path = json_object_get(json_object_get(r, "polygon"), "path");
    if (!json_is_array(path) || json_array_size(path) == 0)
        return -1;
    b[0] = b[1] = INFINITY;
    b[2] = b[3] = -INFINITY;
    json_array_foreach(path, i, p) {
        if (finite_num(json_object_get(p, "x"), &x) || finite_num(json_object_get(p, "y"), &y))
            return -1;
        b[0] = fmin(b[0], x);
        b[1] = fmin(b[1], y);
        b[2] = fmax(b[2], x);
        b[3] = fmax(b[3], y);
    }
    return 0;
}

static int label_of(const lp_model_spec *spec, const char *name)
{
    size_t i;
    const json_t *l;
    json_array_foreach(spec->labels, i, l) {
        if (strcmp(json_string_value(l), name) == 0)
            return (int)i;
    }
    return -1;
}

/* A segment model's result as a polygon of one path (points in a), clipped to the image; a box
 * becomes its rectangle. 1 with d's shape and box set, 0 when nothing is left, -1 when it is not a
 * shape. */
static int result_polygon(const json_t *r, int w, int h, lp_arena *a, lp_model_det *d)
{
    const json_t *path = json_object_get(json_object_get(r, "polygon"), "path"), *p;
    double b[4];
    size_t n = json_is_array(path) ? json_array_size(path) : 4, i;
    lp_geom_bbox box;
    lp_error ignored;
    lp_geom_point *pts;
    lp_geom_path *one;
    if ((json_is_array(path) && n < 3) || result_box(r, b) != 0)
        return -1;
    if (!(pts = lp_arena_calloc(a, n, sizeof *pts)) || !(one = lp_arena_alloc(a, sizeof *one)))
        return -2;
    if (json_is_array(path)) {
        json_array_foreach(path, i, p) {
            pts[i].x = json_number_value(json_object_get(p, "x")); /* finite: result_box read them */
            pts[i].y = json_number_value(json_object_get(p, "y"));
        }
    } else {
        pts[0] = (lp_geom_point){b[0], b[1]};
        pts[1] = (lp_geom_point){b[2], b[1]};
        pts[2] = (lp_geom_point){b[2], b[3]};
        pts[3] = (lp_geom_point){b[0], b[3]};
    }
    for (i = 0; i < n; i++) {
        pts[i].x = fmin(fmax(pts[i].x, 0), w);
        pts[i].y = fmin(fmax(pts[i].y, 0), h);
    }
    *one = (lp_geom_path){pts, n};
    d->shape = (lp_geom_shape){.type = LP_GEOM_POLYGON, .u.polygon = {one, 1}};
    lp_error_clear(&ignored);
    if (lp_geom_shape_bbox(&d->shape, &box, &ignored) != 0 || !(box.w > 0 && box.h > 0))
        return 0;
    d->x = box.x;
    d->y = box.y;
    d->w = box.w;
    d->h = box.h;
    return 1;
}

/* A detect model's result as its box clipped to the image: 1, 0 when nothing is left, -1 when it is
 * not a shape. */
static int result_bbox(const json_t *r, int w, int h, lp_model_det *d)
{
    double b[4];
    if (result_box(r, b) != 0)
        return -1;
    b[0] = fmin(fmax(b[0], 0), w);
    b[2] = fmin(fmax(b[2], 0), w);
    b[1] = fmin(fmax(b[1], 0), h);
    b[3] = fmin(fmax(b[3], 0), h);
    if (b[2] <= b[0] || b[3] <= b[1])
        return 0;
    d->x = b[0];
    d->y = b[1];
    d->w = b[2] - b[0];
    d->h = b[3] - b[1];
    return 1;
}

/* A classify model's result as a tag of the image: its shape, if any, is not read. Another tag of the
 * same label already in out[0..k) keeps the better confidence: 0 when d is not needed. */
static int result_tag(lp_model_det *out, size_t k, int w, int h, lp_model_det *d)
{
    for (size_t j = 0; j < k; j++)
        if (out[j].label == d->label) {
            if (d->score > out[j].score) {
                out[j].score = d->score;
                out[j].index = d->index;
            }
            return 0;
        }
    d->w = w;
    d->h = h;
    d->shape.type = LP_GEOM_TAG;
    return 1;
}

int lp_v7_results_read(const char *text, size_t len, const lp_model_spec *spec, int w, int h, lp_arena *a,
                       lp_model_det *out, size_t cap, size_t *n, lp_error *err)
{
    json_t *doc = load(text, len, "answer", err), *results, *r;
    const char *status;
    size_t i, k = 0;
    int rc = -1;

    *n = 0;
    if (!doc)
        return -1;
    status = json_string_value(json_object_get(doc, "status"));
    results = json_object_get(doc, "results");
    if (status && strcmp(status, "succeeded") != 0) {
        const char *why = json_string_value(json_object_get(doc, "error"));
        lp_error_set(err, LP_E_UNAVAILABLE, "the model server answered status \"%.40s\"%s%.200s", status,
                     why ? ": " : "", why ? why : "");
        goto done;
    }
    if (!json_is_array(results)) {
        lp_error_set(err, LP_E_UNAVAILABLE, "the model server's answer has no results list");
        goto done;
    }
    json_array_foreach(results, i, r) {
        const json_t *name = json_object_get(r, "name");
        double conf = 1;
        int label, got;
        lp_model_det d;
        if (!json_is_string(name))
            name = json_object_get(r, "label");
        if (!json_is_object(r) || !json_is_string(name) ||
            (json_object_get(r, "confidence") && finite_num(json_object_get(r, "confidence"), &conf))) {
            lp_error_set(err, LP_E_UNAVAILABLE, "the model server's results[%zu] is not a named result (name, "
                                                "confidence)", i);
            goto done;
        }
        label = label_of(spec, json_string_value(name));
        d = (lp_model_det){.score = (float)conf, .label = label, .index = i};
        got = spec->task == LP_MODEL_CLASSIFY  ? (label < 0 ? 0 : result_tag(out, k, w, h, &d))
              : spec->task == LP_MODEL_SEGMENT ? result_polygon(r, w, h, a, &d)
                                               : result_bbox(r, w, h, &d);
        if (got == -2) {
            lp_error_set(err, LP_E_NOMEM, "out of memory reading the model server's answer");
            goto done;
        }
        if (got < 0) {
            lp_error_set(err, LP_E_UNAVAILABLE, "the model server's results[%zu] is not a named shape (name, "
                                                "confidence, bounding_box or polygon of 3 points or more)", i);
            goto done;
        }
        if (!got || label < 0 || conf < spec->score_threshold)
            continue;
        if (k == cap) {
            lp_error_set(err, LP_E_UNAVAILABLE, "the model server answered over %zu shapes", cap);
            goto done;
        }
        out[k++] = d;
    }
    /* best first, at most max_detections (top_k tags); an IoU is never over 1: nothing is suppressed */
    *n = lp_model_nms(out, k, 1.0,
                      (size_t)(spec->task == LP_MODEL_CLASSIFY ? spec->output.top_k : spec->output.max_detections));
    rc = 0;

done:
    json_decref(doc);
    return rc;
}
