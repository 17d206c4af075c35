/* Running a registered model on a slot's image. See loupe/jobs/model_infer.h. */
#include "loupe/jobs/model_infer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs_int.h"
#include "loupe/annotation/stored.h"
#include "loupe/core/buf.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/classes_sql.h"
#include "loupe/db/media_sql.h"
#include "loupe/db/models_sql.h"
#include "loupe/formats/darwin.h"
#include "loupe/infer/http.h"
#include "loupe/infer/onnx.h"
#include "loupe/jobs/decoder.h"
#include "loupe/media/image.h"
#include "loupe/models/shapes.h"
#include "loupe/models/score.h"
#include "loupe/models/tensor.h"
#include "loupe/storage/storage.h"

/* Models a worker keeps loaded. */
#define LOADED_MAX 4

struct lp_model_loaded {
    char id[LP_DB_UUID_LEN];
    int64_t version;
    json_t *doc;                /* the stored spec: spec borrows its strings */
    lp_model_spec spec;
    lp_onnx_session *session;   /* runtime onnx */
    lp_infer_http *http;        /* runtime http (one image a call) */
    json_t *skeletons;          /* keypoints: class id → the class's skeleton, when it has one */
    int batch;                  /* images one run takes (the model's fixed batch, else infer_batch) */
    int batch_fixed;            /* the model takes exactly batch images a run */
    uint64_t used;              /* last use, for eviction */
};

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static lp_onnx *runtime;
static lp_model_loaded *loaded[LOADED_MAX];
static uint64_t uses;

int lp_model_infer_threads(int64_t setting, long cpus)
{
    if (setting > 0)
        return (int)setting;
    /* one core is left to the decoder, which decodes the next images meanwhile */
    return cpus > 2 ? (int)(cpus - 1) : cpus > 0 ? (int)cpus : 1;
}

/* The process's ONNX Runtime, loaded on first use (a failure is tried again next time). */
static lp_onnx *onnx_runtime(const lp_config *cfg, lp_error *err)
{
    lp_onnx *rt;
    pthread_mutex_lock(&runtime_lock);
    if (!runtime) {
        int threads = lp_model_infer_threads(cfg->infer_threads, sysconf(_SC_NPROCESSORS_ONLN));
        if ((runtime = lp_onnx_load(cfg->onnx_runtime_path, threads, err))) {
            /* idle threads sleep: the cores they would spin on decode the next images */
            lp_onnx_set_spinning(runtime, 0);
            LP_INFO("models", "ONNX Runtime loaded from %s%s, %d threads per run", cfg->onnx_runtime_path,
                    lp_onnx_has_cuda(runtime) ? " (with CUDA)" : "", threads);
        }
    }
    rt = runtime;
    pthread_mutex_unlock(&runtime_lock);
    return rt;
}

static void loaded_free(lp_model_loaded *m)
{
    if (!m)
        return;
    lp_onnx_session_free(m->session);
    lp_infer_http_free(m->http);
    json_decref(m->skeletons);
    json_decref(m->doc);
    free(m);
}

static int fetch_chunk(void *ud, const void *p, size_t n, lp_error *err)
{
    return lp_buf_append(ud, p, n) == 0 ? 0 : lp_error_set(err, LP_E_TOO_LARGE, "the model file is too large");
}

/* keypoints: the skeletons of the classes class_map names, read once per load (a class's skeleton
 * changed later is seen when the model is loaded again). */
static int load_skeletons(lp_db *db, const char *team_id, lp_model_loaded *m, lp_error *err)
{
    json_t *ids = json_array(), *v;
    const char *key;
    lp_arena *a = lp_arena_new(0, 0);
    lp_class_row *rows = NULL;
    char *text = NULL;
    size_t n = 0;
    int rc = -1;

    if (!ids || !a || !(m->skeletons = json_object()))
        goto oom;
    json_object_foreach((json_t *)m->spec.class_map, key, v) {
        json_array_append(ids, v);
    }
    if (!(text = json_dumps(ids, JSON_COMPACT)))
        goto oom;
    if (json_array_size(ids) > 0 && lp_db_classes_by_ids(db, a, team_id, text, &rows, &n, err) != 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        json_t *sk = rows[i].skeleton ? json_loads(rows[i].skeleton, 0, NULL) : NULL;
        if (json_is_array(json_object_get(sk, "nodes")))
            json_object_set(m->skeletons, rows[i].id, sk);
        json_decref(sk);
    }
    rc = 0;
    goto done;
oom:
    lp_error_set(err, LP_E_NOMEM, "out of memory loading model %s", m->id);
done:
    free(text);
    json_decref(ids);
    lp_arena_free(a);
    return rc;
}

/* A model served over HTTP: its server asked about it (loupe/infer/http.h). */
static int open_http(const lp_config *cfg, lp_model_loaded *m, lp_error *err)
{
    lp_infer_http_settings s = {cfg->net_allow, cfg->model_http_timeout, (int)cfg->model_http_retries,
                                cfg->model_http_max_response};
    if (!(m->http = lp_infer_http_open(&m->spec, &s, lp_now_mono_ms() + cfg->model_http_timeout, err)))
        return -1;
    m->batch = 1;
    LP_INFO("models", "model %s (version %lld) served by %s", m->id, (long long)m->version, m->spec.endpoint_url);
    return 0;
}

static lp_model_loaded *load(lp_db *db, const lp_config *cfg, const char *team_id, const lp_model_row *row,
                             lp_error *err)
{
    lp_model_loaded *m = calloc(1, sizeof *m);
    json_error_t jerr;
    lp_buf file;
    lp_storage *st;
    lp_onnx *rt;

    lp_buf_init(&file, (size_t)cfg->model_max_bytes);
    if (!m) {
        lp_error_set(err, LP_E_NOMEM, "out of memory loading model %s", row->id);
        return NULL;
    }
    lp_strlcpy(m->id, row->id, sizeof m->id);
    m->version = row->version;
    /* the stored spec was checked against model_name_max and model_label_max
     * as it was registered: a lower setting since then does not stop it */
    lp_model_spec_limits lim = {(size_t)cfg->model_labels_max, LP_MODEL_NAME_CEIL, LP_MODEL_NAME_CEIL};
    if (!(m->doc = json_loads(row->spec, 0, &jerr)) || lp_model_spec_read_limits(m->doc, &lim, &m->spec, err) != 0) {
        if (err->code == LP_OK)
            lp_error_set(err, LP_E_INTERNAL, "model %s: its stored spec is not JSON", row->id);
        goto fail;
    }
    if (m->spec.runtime == LP_MODEL_HTTP && m->spec.protocol == LP_MODEL_V7_BYOM &&
        m->spec.task != LP_MODEL_DETECT && m->spec.task != LP_MODEL_SEGMENT && m->spec.task != LP_MODEL_CLASSIFY) {
        /* the server answers shapes itself: boxes, polygons or tags */
        lp_error_set(err, LP_E_INVALID, "model %s: V7-style servers run detect, segment and classify models "
                                        "(boxes, polygons, tags)", row->id);
        goto fail;
    }
    if (m->spec.output.decoder == LP_DEC_KEYPOINTS && m->spec.class_map &&
        load_skeletons(db, team_id, m, err) != 0)
        goto fail;
    if (m->spec.runtime == LP_MODEL_HTTP) {
        if (open_http(cfg, m, err) != 0)
            goto fail;
        return m;
    }
    if (!row->file_key) {
        lp_error_set(err, LP_E_INVALID, "model %s has no .onnx file: PUT it to its upload_url first", row->id);
        goto fail;
    }
    if (!(rt = onnx_runtime(cfg, err)) || !(st = lp_job_storage(cfg, err)) ||
        lp_storage_get(st, row->file_key, 0, LP_STORAGE_TO_END, fetch_chunk, &file, err) != 0)
        goto fail;
    if (!(m->session = lp_onnx_session_new(rt, file.data, file.len, m->spec.queue == LP_MODEL_GPU, err)))
        goto fail;
    int64_t fixed = lp_onnx_session_batch(m->session);
    m->batch_fixed = fixed > 0;
    m->batch = fixed > 0 ? (int)fixed : (int)cfg->infer_batch;
    lp_buf_free(&file);
    LP_INFO("models", "model %s (version %lld) loaded", row->id, (long long)row->version);
    return m;

fail:
    lp_buf_free(&file);
    loaded_free(m);
    return NULL;
}

/* The model this process holds as model_id at version (marked used), else NULL. */
static lp_model_loaded *held(const char *model_id, int64_t version)
{
    for (size_t i = 0; i < LOADED_MAX; i++) {
        if (loaded[i] && loaded[i]->version == version && strcmp(loaded[i]->id, model_id) == 0) {
            loaded[i]->used = ++uses;
            return loaded[i];
        }
    }
    return NULL;
}

int lp_model_infer_load(lp_db *db, const lp_config *cfg, const char *team_id, const char *model_id,
                        lp_model_loaded **out, lp_error *err)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_model_row row;
    size_t slot = 0;
    int rc = -1;

    if (!a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory loading model %s", model_id);
    if (lp_db_model_get(db, a, team_id, model_id, &row, err) != 0)
        goto done;
    if ((*out = held(row.id, row.version))) {
        rc = 0;
        goto done;
    }
    for (size_t i = 0; i < LOADED_MAX; i++) {
        if (loaded[i] && strcmp(loaded[i]->id, row.id) == 0) {
            loaded_free(loaded[i]); /* changed since: load it again */
            loaded[i] = NULL;
        }
    }
    for (size_t i = 1; i < LOADED_MAX; i++) { /* a free place, else the least recently used */
        if (!loaded[slot])
            break;
        if (!loaded[i] || loaded[i]->used < loaded[slot]->used)
            slot = i;
    }
    lp_model_loaded *m = load(db, cfg, team_id, &row, err);
    if (!m)
        goto done;
    loaded_free(loaded[slot]);
    loaded[slot] = m;
    m->used = ++uses;
    *out = m;
    rc = 0;

done:
    lp_arena_free(a);
    return rc;
}

const lp_model_spec *lp_model_infer_spec(const lp_model_loaded *m)
{
    return &m->spec;
}

/* An image decoded for the model: the decoder's PPM reply, its pixels and size. */
typedef struct decoded {
    lp_media_blob ppm;
    const uint8_t *pixels;
    int w, h;
} decoded;

/* The derived images a model may decode instead of the original: storage member, media's size members. */
static const struct {
    const char *key, *width, *height;
} DERIVED[] = {
    {"thumbnail", "thumbnail_width", "thumbnail_height"},
    {"preview", "preview_width", "preview_height"},
};

const char *lp_model_infer_source(const json_t *storage, const json_t *media, int64_t width, int64_t height,
                                  int max_side, const lp_image_fit *fit)
{
    const char *original = json_string_value(json_object_get(storage, "original")), *best = NULL;
    int64_t need, longest = width > height ? width : height, best_side = 0;

    if (!original || width <= 0 || height <= 0 || !json_is_false(json_object_get(media, "has_alpha")))
        return original;
    need = lp_image_fit_side(width, height, max_side, fit);
    for (size_t i = 0; i < sizeof DERIVED / sizeof DERIVED[0]; i++) {
        const char *key = json_string_value(json_object_get(storage, DERIVED[i].key));
        json_int_t w = json_integer_value(json_object_get(media, DERIVED[i].width));
        json_int_t h = json_integer_value(json_object_get(media, DERIVED[i].height));
        int64_t side = w > h ? w : h;
        if (key && w > 0 && h > 0 && side >= need && side < longest && (!best || side < best_side)) {
            best = key;
            best_side = side;
        }
    }
    return best ? best : original;
}

/* The slot's image as RGB pixels (the decoder's reply) into *out, decoded no larger than the
 * model's input box needs, from the smallest stored file that holds that (lp_model_infer_source);
 * the time spent copying the file and decoding it added to *fetch_us and *decode_us. */
static int slot_pixels(const lp_config *cfg, const lp_model_spec *spec, const lp_slot_row *slot, int64_t deadline_ms,
                       decoded *out, int64_t *fetch_us, int64_t *decode_us, lp_error *err)
{
    json_t *storage = json_loads(slot->storage ? slot->storage : "{}", 0, NULL);
    json_t *meta = slot->metadata ? json_loads(slot->metadata, 0, NULL) : NULL;
    lp_image_fit box = {spec->input.width, spec->input.height, spec->input.resize == LP_MODEL_STRETCH};
    int whole = spec->runtime == LP_MODEL_HTTP && spec->protocol == LP_MODEL_V7_BYOM; /* the server gets the image */
    const char *key = lp_model_infer_source(storage, json_object_get(meta, "media"), slot->width, slot->height,
                                            (int)cfg->model_image_max_side, whole ? NULL : &box);
    lp_decoder *dec = NULL;
    lp_storage *st = NULL;
    lp_media_limits limits;
    char path[4096] = "";
    size_t offset = 0;
    int fd = -1, rc = -1;
    int64_t t0 = lp_now_mono_us(), t1;

    if (strcmp(slot->type, "image") != 0 || !key) {
        lp_error_set(err, LP_E_INVALID, "slot \"%s\" of item %s has no image to run a model on", slot->name,
                     slot->item_id);
        goto done;
    }
    if (!(dec = lp_job_decoder(cfg, err)) || !(st = lp_job_storage(cfg, err)))
        goto done;
    snprintf(path, sizeof path, "%s/model-input-%s", lp_decoder_work_dir(dec), slot->id);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        lp_error_set(err, LP_E_IO, "cannot create %s: %s", path, strerror(errno));
        goto done;
    }
    if (lp_storage_get_fd(st, key, 0, LP_STORAGE_TO_END, fd, err) != 0)
        goto done;
    close(fd);
    fd = -1;
    t1 = lp_now_mono_us();
    *fetch_us += t1 - t0;
    lp_media_limits_from_config(&limits, cfg);
    rc = lp_decoder_pixels(dec, path, (int)cfg->model_image_max_side, whole ? NULL : &box, &limits, deadline_ms, &out->ppm, err);
    *decode_us += lp_now_mono_us() - t1;
    if (rc != 0 || lp_image_ppm_parse(out->ppm.data, out->ppm.len, &out->w, &out->h, &offset, err) != 0) {
        rc = -1;
        goto done;
    }
    out->pixels = (const uint8_t *)out->ppm.data + offset;
    rc = 0;

done:
    if (fd >= 0)
        close(fd);
    if (path[0])
        unlink(path);
    json_decref(meta);
    json_decref(storage);
    return rc;
}

/* The output tensor of role name (NULL: the n-th output), or NULL. */
static const lp_onnx_tensor *output(const lp_onnx_tensor *outs, size_t nouts, const char *name, size_t n)
{
    return name ? lp_onnx_tensor_find(outs, nouts, name) : n < nouts ? &outs[n] : NULL;
}

/* ssd_anchors: boxes and scores of every anchor, gathered from one tensor per
 * role or one per stride; *box_len values per anchor. Arrays in a. */
static int ssd_inputs(const lp_model_output *o, const lp_onnx_tensor *outs, size_t nouts, lp_arena *a,
                      const float **boxes, size_t *box_len, const float **scores, size_t *n, lp_error *err)
{
    const char *const *bparts = o->nboxes_parts ? o->boxes_parts : &o->boxes;
    const char *const *sparts = o->nscores_parts ? o->scores_parts : &o->scores;
    size_t nb = o->nboxes_parts ? o->nboxes_parts : 1, ns = o->nscores_parts ? o->nscores_parts : 1;
    size_t total_b = 0, total_s = 0;
    const lp_onnx_tensor *tb[LP_MODEL_STRIDES_MAX], *ts[LP_MODEL_STRIDES_MAX];

    for (size_t i = 0; i < nb; i++) {
        if (!(tb[i] = output(outs, nouts, bparts[i], 0)))
            return lp_error_set(err, LP_E_INVALID, "the model has no output \"%s\" (output.names.boxes)",
                                bparts[i] ? bparts[i] : "#0");
        total_b += tb[i]->count;
    }
    for (size_t i = 0; i < ns; i++) {
        if (!(ts[i] = output(outs, nouts, sparts[i], 1)))
            return lp_error_set(err, LP_E_INVALID, "the model has no output \"%s\" (output.names.scores)",
                                sparts[i] ? sparts[i] : "#1");
        total_s += ts[i]->count;
    }
    if (total_s == 0 || total_b % total_s != 0)
        return lp_error_set(err, LP_E_INVALID, "the model gives %zu box values for %zu scores", total_b, total_s);
    float *b = nb == 1 ? tb[0]->data : lp_arena_alloc(a, total_b * sizeof *b);
    float *s = ns == 1 ? ts[0]->data : lp_arena_alloc(a, total_s * sizeof *s);
    if (!b || !s)
        return lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's outputs");
    for (size_t i = 0, at = 0; nb > 1 && i < nb; at += tb[i]->count, i++)
        memcpy(b + at, tb[i]->data, tb[i]->count * sizeof *b);
    for (size_t i = 0, at = 0; ns > 1 && i < ns; at += ts[i]->count, i++)
        memcpy(s + at, ts[i]->data, ts[i]->count * sizeof *s);
    *boxes = b;
    *scores = s;
    *n = total_s;
    *box_len = total_b / total_s;
    return 0;
}

/* The grid of a tensor: its last two dimensions (height, then width). */
static void grid_of(const lp_onnx_tensor *t, size_t *w, size_t *h)
{
    *w = t->ndims >= 1 ? (size_t)t->shape[t->ndims - 1] : t->count;
    *h = t->ndims >= 2 ? (size_t)t->shape[t->ndims - 2] : 1;
}

static const lp_onnx_tensor *need(const lp_onnx_tensor *outs, size_t nouts, const char *name, size_t n,
                                  const char *role, lp_error *err)
{
    const lp_onnx_tensor *t = output(outs, nouts, name, n);
    if (!t)
        lp_error_set(err, LP_E_INVALID, "the model has no output \"%s\" (output.names.%s)", name ? name : "#",
                     role);
    return t;
}

static long decode_masks(const lp_model_spec *spec, const lp_model_fit *fit, const lp_onnx_tensor *outs,
                         size_t nouts, lp_arena *a, lp_model_det **dets, lp_error *err)
{
    const lp_model_output *o = &spec->output;
    const lp_onnx_tensor *m, *b, *s, *c = o->classes ? lp_onnx_tensor_find(outs, nouts, o->classes)
                                                     : nouts > 3 ? &outs[3] : NULL, *p = NULL;
    lp_model_mask_outputs in = {0};
    if (!(m = need(outs, nouts, o->masks, 0, "masks", err)) || !(b = need(outs, nouts, o->boxes, 1, "boxes", err)) ||
        !(s = need(outs, nouts, o->scores, 2, "scores", err)) ||
        (o->mask_layout == LP_MASK_PROTOTYPES && !(p = need(outs, nouts, o->prototypes, 4, "prototypes", err))))
        return -1;
    in.n = s->count;
    if (b->count != 4 * in.n || (c && c->count != in.n))
        return lp_error_set(err, LP_E_INVALID, "the model gives %zu box values, %zu scores and %zu classes", b->count,
                            in.n, c ? c->count : 0);
    in.boxes = b->data;
    in.scores = s->data;
    in.classes = c ? c->data : NULL;
    in.masks = m->data;
    in.masks_count = m->count;
    grid_of(p ? p : m, &in.mask_w, &in.mask_h);
    if (p) {
        in.prototypes = p->data;
        size_t plane = in.mask_w * in.mask_h;
        in.nprotos = plane > 0 ? p->count / plane : 0;
    }
    return lp_model_decode_masks(spec, fit, &in, a, dets, err);
}

static long decode(const lp_model_spec *spec, const lp_model_fit *fit, const lp_onnx_tensor *outs, size_t nouts,
                   lp_arena *a, lp_model_det **dets, lp_error *err)
{
    const lp_model_output *o = &spec->output;
    const lp_onnx_tensor *t, *b, *s;
    size_t w, h;
    switch (o->decoder) {
    case LP_DEC_MASKS: return decode_masks(spec, fit, outs, nouts, a, dets, err);
    case LP_DEC_KEYPOINTS:
        if (!(t = need(outs, nouts, o->keypoints, 0, "keypoints", err)) ||
            !(b = need(outs, nouts, o->boxes, 1, "boxes", err)) || !(s = need(outs, nouts, o->scores, 2, "scores", err)))
            return -1;
        if (b->count != 4 * s->count)
            return lp_error_set(err, LP_E_INVALID, "the model gives %zu box values for %zu scores", b->count,
                                s->count);
        return lp_model_decode_keypoints(spec, fit, b->data, s->data, s->count, t->data, t->count, a, dets, err);
    case LP_DEC_TEXT_POLYGONS:
        if (!(t = need(outs, nouts, o->probability_map, 0, "probability_map", err)))
            return -1;
        grid_of(t, &w, &h);
        if (w * h != t->count)
            return lp_error_set(err, LP_E_INVALID, "the model's probability map holds %zu values, not one %zu × %zu map",
                                t->count, w, h);
        return lp_model_decode_text(spec, fit, t->data, w, h, a, dets, err);
    case LP_DEC_LOGITS:
        if (!(t = need(outs, nouts, o->logits, 0, "logits", err)))
            return -1;
        return lp_model_decode_logits(spec, fit, t->data, t->count, a, dets, err);
    case LP_DEC_SSD_ANCHORS: {
        const float *boxes = NULL, *scores = NULL;
        size_t box_len = 0, n = 0;
        if (ssd_inputs(o, outs, nouts, a, &boxes, &box_len, &scores, &n, err) != 0)
            return -1;
        if (!(*dets = lp_arena_calloc(a, n ? n : 1, sizeof **dets)))
            return lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's outputs");
        return lp_model_decode_ssd(spec, fit, boxes, box_len, scores, n, *dets, err);
    }
    case LP_DEC_BOXES_SCORES_CLASSES: break;
    }
    b = output(outs, nouts, o->boxes, 0);
    s = output(outs, nouts, o->scores, 1);
    if (!b || !s)
        return lp_error_set(err, LP_E_INVALID, "the model has no %s output (output.names)", b ? "scores" : "boxes");
    size_t n = b->count / 4, nlabels = json_array_size(spec->labels);
    int per_class = nlabels > 1 && b->count == 4 * n && s->count == n * nlabels && s->count != n;
    /* classes: named, else the third output unless that is the named embedding */
    int third = nouts > 2 && !(o->embedding && outs[2].name && strcmp(outs[2].name, o->embedding) == 0);
    const lp_onnx_tensor *c = per_class    ? NULL
                              : o->classes ? lp_onnx_tensor_find(outs, nouts, o->classes)
                              : third      ? &outs[2]
                                           : NULL;
    if (!per_class && (b->count != 4 * s->count || (c && c->count != s->count)))
        return lp_error_set(err, LP_E_INVALID, "the model gives %zu box values, %zu scores and %zu classes", b->count,
                            s->count, c ? c->count : 0);
    if (!(*dets = lp_arena_calloc(a, n ? n : 1, sizeof **dets)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's outputs");
    if (per_class)
        return lp_model_decode_bsc_probs(spec, fit, b->data, s->data, n, *dets, err);
    return lp_model_decode_bsc(spec, fit, b->data, s->data, c ? c->data : NULL, n, *dets, err);
}

/* keypoints: each skeleton's nodes named after its class's skeleton (arrays in a). */
static int name_nodes(const lp_model_loaded *m, lp_model_det *dets, size_t n, lp_arena *a, lp_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *cls = lp_model_class_of(&m->spec, dets[i].label);
        json_t *nodes = json_object_get(json_object_get(m->skeletons, cls ? cls : ""), "nodes");
        size_t k = json_array_size(nodes);
        const char **names = lp_arena_alloc(a, (k ? k : 1) * sizeof *names);
        if (!names)
            return lp_error_set(err, LP_E_NOMEM, "out of memory naming keypoints");
        for (size_t j = 0; j < k; j++)
            names[j] = json_string_value(json_object_get(json_array_get(nodes, j), "name"));
        lp_model_keypoints_name(&dets[i], names, k);
    }
    return 0;
}

/* The detections' probabilities copied into a (they point into the outputs, freed next). */
static int keep_probs(lp_model_det *dets, long k, lp_arena *a, lp_error *err)
{
    for (long i = 0; i < k; i++) {
        if (!dets[i].probs)
            continue;
        float *p = lp_arena_alloc(a, dets[i].nprobs * sizeof *p);
        if (!p)
            return lp_error_set(err, LP_E_NOMEM, "out of memory decoding the model's outputs");
        memcpy(p, dets[i].probs, dets[i].nprobs * sizeof *p);
        dets[i].probs = p;
    }
    return 0;
}

/* The item's embedding: the model's output.names.embedding tensor, else the built-in descriptor
 * of the image; L2-normalised, in a. */
static int embedding_of(const lp_config *cfg, const lp_model_spec *spec, const lp_onnx_tensor *outs, size_t nouts,
                        const uint8_t *pixels, int w, int h, lp_arena *a, lp_model_embedding *emb, lp_error *err)
{
    const lp_onnx_tensor *t = spec->output.embedding ? lp_onnx_tensor_find(outs, nouts, spec->output.embedding) : NULL;
    size_t dims = t ? t->count : LP_MODEL_DESCRIPTOR_DIMS;
    if (spec->output.embedding && !t)
        return lp_error_set(err, LP_E_INVALID, "the model has no output \"%s\" (output.names.embedding)",
                            spec->output.embedding);
    if (dims == 0 || dims > (size_t)cfg->model_embedding_max)
        return lp_error_set(err, LP_E_INVALID, "the model's embedding has %zu values; at most %lld are kept "
                            "(model_embedding_max)", dims, (long long)cfg->model_embedding_max);
    if (!(emb->v = lp_arena_alloc(a, dims * sizeof *emb->v)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory keeping an embedding");
    if (t)
        memcpy(emb->v, t->data, dims * sizeof *emb->v);
    else
        lp_model_descriptor(pixels, w, h, (size_t)w * 3, emb->v);
    lp_model_l2_normalise(emb->v, dims);
    emb->dims = dims;
    emb->from_model = t != NULL;
    return 0;
}

/* ---- Running images, decoded ahead, batch at a time --------------------------------------- */

/* How far the decoding thread may run ahead of the model, in batches. */
#define AHEAD_BATCHES 2

/* A run over items: the decoding thread (produce) fills decoded[i] and items[i].err in order;
 * the model's thread takes them batch at a time. */
typedef struct pipeline {
    const lp_config *cfg;
    const lp_model_spec *spec;
    lp_model_infer_item *items;
    decoded *img;
    size_t n, ahead;
    int64_t deadline_ms;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    size_t ready;               /* under mu: items [0, ready) are decoded or failed */
    size_t taken;               /* under mu: items [0, taken) are the model's */
    int stop;                   /* under mu */
    int64_t fetch_us, decode_us; /* the decoding thread's */
} pipeline;

static void decode_one(pipeline *p, size_t i)
{
    lp_error_clear(&p->items[i].err);
    if (p->deadline_ms > 0 && lp_now_mono_ms() > p->deadline_ms)
        lp_error_set(&p->items[i].err, LP_E_TIMEOUT, "the run passed its deadline before this image was decoded");
    else
        slot_pixels(p->cfg, p->spec, p->items[i].slot, p->deadline_ms, &p->img[i], &p->fetch_us, &p->decode_us,
                    &p->items[i].err);
}

static void *produce(void *arg)
{
    pipeline *p = arg;
    for (size_t i = 0; i < p->n; i++) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && i >= p->taken + p->ahead)
            pthread_cond_wait(&p->cond, &p->mu);
        int stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        decode_one(p, i);
        pthread_mutex_lock(&p->mu);
        p->ready = i + 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Waits until item i is decoded (or failed), and marks it taken. */
static void take(pipeline *p, size_t i, int threaded, int64_t *wait_us)
{
    int64_t t0 = lp_now_mono_us();
    if (!threaded) {
        decode_one(p, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    while (p->ready <= i)
        pthread_cond_wait(&p->cond, &p->mu);
    p->taken = i + 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    *wait_us += lp_now_mono_us() - t0;
}

/* The tensor shape of a batch of k images. */
static void batch_shape(const lp_model_input *in, int64_t k, int64_t shape[4])
{
    shape[0] = k;
    if (in->layout == LP_MODEL_NHWC) {
        shape[1] = in->height, shape[2] = in->width, shape[3] = 3;
    } else {
        shape[1] = 3, shape[2] = in->height, shape[3] = in->width;
    }
}

/* Image j's part of the outputs of a batch of k (views into outs: nothing owned), or -1 when an
 * output does not have the batch as its first dimension. */
static int batch_part(const lp_onnx_tensor *outs, size_t nouts, size_t k, size_t j, lp_onnx_tensor *view)
{
    for (size_t o = 0; o < nouts; o++) {
        view[o] = outs[o];
        if (k == 1)
            continue;
        if (outs[o].ndims == 0 || outs[o].shape[0] != (int64_t)k || outs[o].count % k != 0)
            return -1;
        view[o].count = outs[o].count / k;
        view[o].data = outs[o].data + j * view[o].count;
        view[o].shape[0] = 1;
    }
    return 0;
}

/* Decodes image i's outputs into its detections (their probabilities kept), in the slot's pixels,
 * and its embedding when asked. */
static void detections(const lp_config *cfg, const lp_model_loaded *m, lp_model_infer_item *it, const decoded *img,
                       const lp_model_fit *fit, const lp_onnx_tensor *outs, size_t nouts, lp_arena *a)
{
    const lp_model_spec *spec = &m->spec;
    const lp_slot_row *slot = it->slot;
    long k = decode(spec, fit, outs, nouts, a, &it->dets, &it->err);
    it->width = img->w;
    it->height = img->h;
    if (k < 0 || keep_probs(it->dets, k, a, &it->err) != 0 ||
        (it->embed && embedding_of(cfg, spec, outs, nouts, img->pixels, img->w, img->h, a, &it->emb, &it->err) != 0))
        goto fail;
    /* from the decoded image's pixels to the slot's */
    double sx = slot->width > 0 ? (double)slot->width / img->w : 1;
    double sy = slot->height > 0 ? (double)slot->height / img->h : 1;
    for (long i = 0; i < k; i++)
        lp_model_det_scale(&it->dets[i], sx, sy);
    if (spec->output.decoder == LP_DEC_KEYPOINTS && name_nodes(m, it->dets, (size_t)k, a, &it->err) != 0)
        goto fail;
    it->n = (size_t)k;
    return;

fail:
    it->dets = NULL;
    it->n = 0;
}

/* Runs the batch idx[0..k) (decoded images; a fixed-batch model gets the rest of its batch
 * blank) and decodes each image's outputs; a failed run is each image's error. 1 when the
 * outputs cannot be split by image (the caller runs them one by one), else 0. */
static int run_batch(lp_model_loaded *m, pipeline *p, const size_t *idx, size_t k, size_t rows, float *tensor,
                     lp_onnx_tensor *outs, lp_onnx_tensor *view, size_t nouts, lp_arena *a, lp_model_infer_stats *st)
{
    const lp_model_spec *spec = &m->spec;
    size_t len = lp_model_tensor_len(&spec->input);
    lp_model_fit fit[LP_MODEL_INFER_BATCH_MAX];
    int64_t shape[4], t0 = lp_now_mono_us();
    lp_error err;
    int split = 0;

    lp_error_clear(&err);
    for (size_t j = 0; j < k; j++) {
        lp_model_infer_item *it = &p->items[idx[j]];
        const decoded *img = &p->img[idx[j]];
        if (lp_model_fit_compute(&spec->input, img->w, img->h, &fit[j], &it->err) == 0)
            lp_model_tensor_pack(&spec->input, &fit[j], img->pixels, (size_t)img->w * 3, tensor + j * len);
    }
    if (rows > k)
        memset(tensor + k * len, 0, (rows - k) * len * sizeof *tensor);
    int64_t t1 = lp_now_mono_us();
    st->pack_us += t1 - t0;
    batch_shape(&spec->input, (int64_t)rows, shape);
    int rc = lp_onnx_run(m->session, spec->input.name, tensor, shape, 4, outs, &err);
    int64_t t2 = lp_now_mono_us();
    st->run_us += t2 - t1;
    st->runs++;
    for (size_t j = 0; j < k; j++) {
        lp_model_infer_item *it = &p->items[idx[j]];
        if (it->err.code != LP_OK)
            continue;
        if (rc != 0) {
            it->err = err;
        } else if (batch_part(outs, nouts, rows, j, view) != 0) {
            split = 1;
            break;
        } else {
            detections(p->cfg, m, it, &p->img[idx[j]], &fit[j], view, nouts, a);
            st->images++;
        }
    }
    if (rc == 0)
        lp_onnx_tensors_free(outs, nouts);
    st->outputs_us += lp_now_mono_us() - t2;
    return split;
}

/* A model server runs image i (decoded): KServe gets its tensor and the decoders read the outputs; a
 * V7-style server gets the image and answers shapes in its pixels. */
static void http_one(const lp_config *cfg, lp_model_loaded *m, lp_model_infer_item *it, const decoded *img,
                     lp_arena *a, int64_t deadline_ms, lp_model_infer_stats *st)
{
    const lp_model_spec *spec = &m->spec;
    lp_onnx_tensor *outs = NULL;
    size_t nouts = 0, k = 0;
    lp_model_fit fit;
    float *tensor = NULL;
    int64_t shape[4], t0 = lp_now_mono_us();

    st->runs++;
    if (spec->protocol == LP_MODEL_V7_BYOM) {
        lp_model_det *d = lp_arena_calloc(a, LP_INFER_HTTP_RESULTS_MAX, sizeof *d);
        if (!d) {
            lp_error_set(&it->err, LP_E_NOMEM, "out of memory running model %s", m->id);
            return;
        }
        if (lp_infer_http_image(m->http, img->pixels, img->w, img->h, (size_t)img->w * 3, deadline_ms, a, d,
                                LP_INFER_HTTP_RESULTS_MAX, &k, &it->err) != 0 ||
            (it->embed && embedding_of(cfg, spec, NULL, 0, img->pixels, img->w, img->h, a, &it->emb, &it->err) != 0))
            return;
        double sx = it->slot->width > 0 ? (double)it->slot->width / img->w : 1;
        double sy = it->slot->height > 0 ? (double)it->slot->height / img->h : 1;
        for (size_t i = 0; i < k; i++)
            lp_model_det_scale(&d[i], sx, sy);
        it->dets = d;
        it->n = k;
        it->width = img->w;
        it->height = img->h;
        st->images++;
        st->run_us += lp_now_mono_us() - t0;
        return;
    }
    if (lp_model_fit_compute(&spec->input, img->w, img->h, &fit, &it->err) != 0)
        return;
    if (!(tensor = malloc(lp_model_tensor_len(&spec->input) * sizeof *tensor))) {
        lp_error_set(&it->err, LP_E_NOMEM, "out of memory running model %s", m->id);
        return;
    }
    lp_model_tensor_pack(&spec->input, &fit, img->pixels, (size_t)img->w * 3, tensor);
    batch_shape(&spec->input, 1, shape);
    if (lp_infer_http_tensor(m->http, tensor, shape, 4, deadline_ms, &outs, &nouts, &it->err) == 0) {
        st->run_us += lp_now_mono_us() - t0;
        detections(cfg, m, it, img, &fit, outs, nouts, a);
        st->images++;
    }
    lp_onnx_tensors_free(outs, nouts);
    free(outs);
    free(tensor);
}

/* A model served over HTTP: the images one by one (each call waits on the server). */
static int http_slots(const lp_config *cfg, lp_model_loaded *m, lp_model_infer_item *items, size_t n, lp_arena *a,
                      int64_t deadline_ms, lp_model_infer_stats *st)
{
    for (size_t i = 0; i < n; i++) {
        decoded img;
        memset(&img, 0, sizeof img);
        if (slot_pixels(cfg, &m->spec, items[i].slot, deadline_ms, &img, &st->fetch_us, &st->decode_us,
                        &items[i].err) == 0)
            http_one(cfg, m, &items[i], &img, a, deadline_ms, st);
        lp_media_blob_free(&img.ppm);
    }
    return 0;
}

int lp_model_infer_slots(const lp_config *cfg, lp_model_loaded *m, lp_model_infer_item *items, size_t n, lp_arena *a,
                         int64_t deadline_ms, lp_model_infer_stats *stats, lp_error *err)
{
    size_t nouts = 0, batch = m->batch > 0 ? (size_t)m->batch : 1, idx[LP_MODEL_INFER_BATCH_MAX];
    lp_onnx_tensor *outs = NULL, *view = NULL;
    float *tensor = NULL;
    pthread_t thread;
    int threaded = 0, synced = 0, rc = -1;
    pipeline p;

    memset(&thread, 0, sizeof thread);
    if (batch > LP_MODEL_INFER_BATCH_MAX)
        batch = m->batch_fixed ? 0 : LP_MODEL_INFER_BATCH_MAX;
    memset(&p, 0, sizeof p);
    for (size_t i = 0; i < n; i++) {
        items[i].dets = NULL;
        items[i].n = 0;
        lp_error_clear(&items[i].err);
    }
    if (n == 0)
        return 0;
    if (m->http)
        return http_slots(cfg, m, items, n, a, deadline_ms, stats);
    if (batch == 0)
        return lp_error_set(err, LP_E_INVALID, "model %s takes batches of %d images (at most %d are run at once)",
                            m->id, m->batch, LP_MODEL_INFER_BATCH_MAX);
    lp_onnx_session_outputs(m->session, &nouts);
    p.cfg = cfg;
    p.spec = &m->spec;
    p.items = items;
    p.n = n;
    p.ahead = AHEAD_BATCHES * batch;
    p.deadline_ms = deadline_ms;
    if (!(p.img = calloc(n, sizeof *p.img)) || !(outs = calloc(nouts, sizeof *outs)) ||
        !(view = calloc(nouts, sizeof *view)) ||
        !(tensor = malloc(batch * lp_model_tensor_len(&m->spec.input) * sizeof *tensor))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory running model %s", m->id);
        goto done;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cond, NULL);
    synced = 1;
    /* one image (live inference) is decoded here; more on a second thread, ahead of the model */
    threaded = n > 1 && pthread_create(&thread, NULL, produce, &p) == 0;
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        while (i < n && k < batch) {
            take(&p, i, threaded, &stats->wait_us);
            if (items[i].err.code == LP_OK)
                idx[k++] = i;
            i++;
        }
        if (k == 0)
            continue;
        size_t rows = m->batch_fixed ? batch : k;
        if (run_batch(m, &p, idx, k, rows, tensor, outs, view, nouts, a, stats) != 0) {
            /* its outputs do not split by image: this model runs one image at a time from now on */
            LP_INFO("models", "model %s: its outputs do not follow a batch of %zu images; running it one image "
                              "at a time", m->id, rows);
            m->batch = 1;
            batch = 1;
            for (size_t j = 0; j < k; j++)
                run_batch(m, &p, &idx[j], 1, 1, tensor, outs, view, nouts, a, stats);
        }
        for (size_t j = 0; j < k; j++)
            lp_media_blob_free(&p.img[idx[j]].ppm);
    }
    rc = 0;

done:
    if (threaded) {
        pthread_mutex_lock(&p.mu);
        p.stop = 1;
        pthread_cond_broadcast(&p.cond);
        pthread_mutex_unlock(&p.mu);
        pthread_join(thread, NULL);
    }
    if (synced) {
        pthread_mutex_destroy(&p.mu);
        pthread_cond_destroy(&p.cond);
    }
    for (size_t i = 0; p.img && i < n; i++)
        lp_media_blob_free(&p.img[i].ppm);
    stats->fetch_us += p.fetch_us;
    stats->decode_us += p.decode_us;
    free(p.img);
    free(outs);
    free(view);
    free(tensor);
    return rc;
}

/* A detection's shape as annotations store it (arrays borrowed from d). */
static void det_geom(const lp_model_det *d, lp_ann_geom *g)
{
    memset(g, 0, sizeof *g);
    g->shape = d->shape;
    g->type = (int)d->shape.type;
    if (d->shape.type == LP_GEOM_BOUNDING_BOX)
        g->shape.u.bbox = (lp_geom_bbox){d->x, d->y, d->w, d->h};
    else if (d->shape.type == LP_GEOM_TAG) {
        g->raw = "{}";
        g->raw_len = 2;
    }
}

/* {"label", "class_id", "score", "probabilities"? (when the model gives them), "<type>": <shape as annotations
 * show it>}; with blob, the shape's
 * stored form in hex as "geom" and its "type". New reference, NULL out of memory. */
static json_t *det_json(const lp_model_loaded *m, const lp_model_det *d, int blob)
{
    lp_ann_geom g;
    lp_buf o;
    json_t *doc = NULL;
    char *hex = NULL;

    det_geom(d, &g);
    lp_buf_init(&o, 64u << 20);
    if (blob) {
        if (lp_ann_geom_encode(&g, &o) != 0 || !(hex = malloc(2 * o.len + 1)))
            goto done;
        for (size_t i = 0; i < o.len; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)o.data[i]);
        hex[2 * o.len] = '\0';
        lp_buf_free(&o);
        lp_buf_init(&o, 64u << 20);
    }
    if (lp_buf_puts(&o, "{") != 0 || lp_darwin_write_geom(&o, &g) != 0 || lp_buf_puts(&o, "}") != 0 ||
        !(doc = json_loadb(o.data, o.len, 0, NULL)))
        goto done;
    json_object_set_new(doc, "label", json_string(json_string_value(json_array_get(m->spec.labels, (size_t)d->label))));
    const char *cls = lp_model_class_of(&m->spec, d->label);
    json_object_set_new(doc, "class_id", cls ? json_string(cls) : json_null());
    json_object_set_new(doc, "score", json_real(d->score));
    if (d->probs) {
        json_t *probs = json_array();
        for (size_t i = 0; probs && i < d->nprobs; i++)
            json_array_append_new(probs, json_real(d->probs[i]));
        json_object_set_new(doc, "probabilities", probs);
    }
    if (blob) {
        json_object_set_new(doc, "type", json_string(lp_ann_type_name(g.type)));
        json_object_set_new(doc, "geom", json_string(hex));
    }
done:
    free(hex);
    lp_buf_free(&o);
    return doc;
}

json_t *lp_model_infer_det_json(const lp_model_loaded *m, const char *item_id, const char *slot, int ordinal,
                                const lp_model_det *d)
{
    json_t *doc = det_json(m, d, 1);
    if (doc && (json_object_set_new(doc, "item_id", json_string(item_id)) != 0 ||
                json_object_set_new(doc, "slot", json_string(slot)) != 0 ||
                json_object_set_new(doc, "ordinal", json_integer(ordinal)) != 0)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int lp_model_infer_is_request(const char *body, size_t len)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    int yes = doc && json_is_string(json_object_get(doc, "rpc")) &&
              strcmp(json_string_value(json_object_get(doc, "rpc")), LP_MODEL_INFER_RPC) == 0;
    json_decref(doc);
    return yes;
}

static json_t *error_answer(const lp_error *err)
{
    return json_pack("{s:{s:s, s:s}}", "error", "code", lp_code_name(err->code), "message",
                     err->message[0] ? err->message : "inference failed without a message");
}

/* The slot row louped read and sent with a live request (slot_id, width, height, storage, media: the slot
 * is a ready image), into *slot (strings in a): 1, 0 when the request has none (the slot is read
 * then), -1 out of memory. */
static int slot_of_request(const json_t *req, lp_arena *a, lp_slot_row *slot, lp_error *err)
{
    const char *id = json_string_value(json_object_get(req, "slot_id"));
    const json_t *storage = json_object_get(req, "storage"), *w = json_object_get(req, "width"),
                 *h = json_object_get(req, "height");
    json_t *meta;
    char *st = NULL, *md = NULL;

    if (!id || !lp_is_uuid(id) || !json_is_object(storage) || !json_is_integer(w) || !json_is_integer(h))
        return 0;
    meta = json_pack("{s:O*}", "media", json_object_get(req, "media"));
    st = json_dumps(storage, JSON_COMPACT);
    md = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_decref(meta);
    lp_strlcpy(slot->id, id, sizeof slot->id);
    lp_strlcpy(slot->item_id, json_string_value(json_object_get(req, "item_id")), sizeof slot->item_id);
    slot->name = lp_arena_strdup(a, json_string_value(json_object_get(req, "slot")));
    slot->type = (char *)"image";
    slot->status = (char *)"ready";
    slot->width = json_integer_value(w);
    slot->height = json_integer_value(h);
    slot->storage = st ? lp_arena_strdup(a, st) : NULL;
    slot->metadata = md ? lp_arena_strdup(a, md) : NULL;
    free(st);
    free(md);
    if (!slot->name || !slot->storage || !slot->metadata)
        return lp_error_set(err, LP_E_NOMEM, "out of memory answering a live inference");
    return 1;
}

/* The detections of a live request's image: an item's slot, or an image sent with the request (image_id:
 * stored by louped at lp_storage_key_model_input, run as a slot of unknown size: *w × *h its decoded
 * size, the pixels its shapes are in). */
static int live_run(lp_db *db, const lp_config *cfg, lp_arena *a, const json_t *req, const char *team,
                    lp_model_loaded *m, int64_t deadline, lp_model_det **dets, size_t *n, int *w, int *h,
                    lp_model_infer_stats *st, int64_t *lookup_us, lp_error *err)
{
    const char *image = json_string_value(json_object_get(req, "image_id"));
    const char *item = json_string_value(json_object_get(req, "item_id"));
    const char *slot_name = json_string_value(json_object_get(req, "slot"));
    lp_model_infer_item it;
    lp_slot_row slot;
    char key[LP_STORAGE_KEY_MAX + 1];
    json_t *storage = NULL;
    int64_t t0 = lp_now_mono_us();

    memset(&slot, 0, sizeof slot);
    if (!image) {
        if (!item || !slot_name)
            return lp_error_set(err, LP_E_MALFORMED, "a live inference request names no item_id and slot, nor an "
                                                     "image_id");
        int got = slot_of_request(req, a, &slot, err);
        if (got < 0 || (got == 0 && lp_db_media_slot_get(db, a, team, item, slot_name, 0, &slot, err) != 0))
            return -1;
        *lookup_us += lp_now_mono_us() - t0;
    } else {
        if (!lp_is_uuid(image))
            return lp_error_set(err, LP_E_MALFORMED, "a live inference request's image_id is not a UUID");
        lp_storage_key_model_input(team, image, key, sizeof key);
        lp_strlcpy(slot.id, image, sizeof slot.id);
        lp_strlcpy(slot.item_id, image, sizeof slot.item_id);
        slot.name = (char *)"image";
        slot.type = (char *)"image";
        slot.width = slot.height = -1;
        if (!(storage = json_pack("{s:s}", "original", key)) || !(slot.storage = json_dumps(storage, JSON_COMPACT))) {
            json_decref(storage);
            return lp_error_set(err, LP_E_NOMEM, "out of memory answering a live inference");
        }
    }
    memset(&it, 0, sizeof it);
    it.slot = &slot;
    int rc = lp_model_infer_slots(cfg, m, &it, 1, a, deadline, st, err);
    if (storage) {
        free(slot.storage);
        json_decref(storage);
    }
    if (rc != 0)
        return -1;
    if (it.err.code != LP_OK) {
        *err = it.err;
        return -1;
    }
    *dets = it.dets;
    *n = it.n;
    if (image) { /* an image sent with the request: the size its shapes are in */
        *w = it.width;
        *h = it.height;
    }
    return 0;
}

/* {"lookup", "fetch", "decode", "model"}: where a live answer's time went, in milliseconds (lookup: the
 * model's and the slot's rows read, and the model loaded when it was not). New reference. */
static json_t *live_stages(const lp_model_infer_stats *st, int64_t lookup_us)
{
    return json_pack("{s:f, s:f, s:f, s:f}", "lookup", (double)lookup_us / 1000.0, "fetch",
                     (double)st->fetch_us / 1000.0,
                     "decode", (double)st->decode_us / 1000.0, "model",
                     (double)(st->pack_us + st->run_us + st->outputs_us) / 1000.0);
}

json_t *lp_model_infer_answer(lp_db *db, const lp_config *cfg, lp_arena *a, const char *body, size_t len)
{
    json_t *req = json_loadb(body, len, 0, NULL), *preds = NULL, *answer = NULL, *version;
    const char *team, *model;
    json_int_t expires = 0;
    lp_model_loaded *m;
    lp_model_det *dets;
    lp_model_infer_stats st;
    size_t n;
    int w = 0, h = 0;
    lp_error err;
    int64_t start = lp_now_mono_ms(), start_us = lp_now_mono_us(), lookup_us = 0;
    int rc;

    lp_error_clear(&err);
    if (!req || json_unpack(req, "{s:s, s:s, s:I}", "team_id", &team, "model_id", &model, "expires_at_ms",
                            &expires) != 0) {
        lp_error_set(&err, LP_E_MALFORMED, "a live inference request lacks team_id, model_id or expires_at_ms");
        answer = error_answer(&err);
        goto done;
    }
    if (lp_now_wall_ms() >= expires)
        goto done; /* its caller gave up */
    int64_t deadline = start + (expires - lp_now_wall_ms());
    memset(&st, 0, sizeof st);
    /* the model at the version louped read, when this process holds it: nothing to read again */
    version = json_object_get(req, "model_version");
    rc = json_is_integer(version) && (m = held(model, json_integer_value(version)))
             ? 0
             : lp_model_infer_load(db, cfg, team, model, &m, &err);
    lookup_us = lp_now_mono_us() - start_us;
    if (rc != 0 || live_run(db, cfg, a, req, team, m, deadline, &dets, &n, &w, &h, &st, &lookup_us, &err) != 0 ||
        !(preds = json_array())) {
        if (err.code == LP_OK)
            lp_error_set(&err, LP_E_NOMEM, "out of memory answering a live inference");
        answer = error_answer(&err);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(preds, det_json(m, &dets[i], 0));
    answer = json_pack("{s:O, s:f, s:o}", "predictions", preds, "infer_ms", (double)(lp_now_mono_us() - start_us) / 1000.0,
                       "stages_ms", live_stages(&st, lookup_us));
    if (answer && w > 0 && h > 0)
        json_object_set_new(answer, "image", json_pack("{s:i, s:i}", "width", w, "height", h));

done:
    json_decref(preds);
    json_decref(req);
    return answer;
}
