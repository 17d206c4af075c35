/* Export writers: the dispatch, the item batch and what every format shares.
 * See include/loupe/formats/export.h and export_int.h. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export_int.h"
#include "loupe/annotation/stored.h"
#include "loupe/core/util.h"
#include "loupe/formats/json_text.h"
#include "loupe/geometry/measure.h"
#include "loupe/geometry/rle.h"

/* An export file's buffered bytes: flushed at this size, never larger than the cap. */
#define FLUSH_AT (64u * 1024u)
#define BUF_MAX (64u * 1024u * 1024u)

static const lp_fmt_ops *const FORMATS[] = {&lp_fmt_darwin_ops, &lp_fmt_coco_ops, &lp_fmt_voc_ops,
                                            &lp_fmt_yolo_ops,   &lp_fmt_cvat_ops, &lp_fmt_mask_ops,
                                            &lp_fmt_nifti_ops};
#define NFORMATS (sizeof FORMATS / sizeof *FORMATS)

const char *const lp_fmt_writer_names[] = {"darwin", "coco", "voc", "yolo", "cvat", "mask", "nifti", NULL};
const char *const lp_fmt_frames_names[] = {"all", "keyframes", "annotated", NULL};

static const lp_fmt_ops *find_ops(const char *name)
{
    for (size_t i = 0; name && i < NFORMATS; i++)
        if (strcmp(FORMATS[i]->name, name) == 0)
            return FORMATS[i];
    return NULL;
}

/* The variant to use: the default for NULL, NULL when not one of the format's. */
static const char *resolve_variant(const lp_fmt_ops *ops, const char *variant)
{
    if (!ops->variants)
        return variant ? NULL : "";
    return variant ? lp_strv_find(ops->variants, variant) : ops->variants[0];
}

int lp_fmt_per_image(const char *format)
{
    const lp_fmt_ops *ops = find_ops(format);
    return ops && ops->per_image;
}

int lp_fmt_variant_valid(const char *format, const char *variant)
{
    const lp_fmt_ops *ops = find_ops(format);
    return ops && resolve_variant(ops, variant) != NULL;
}

/* ---- classes ------------------------------------------------------------------ */

static int by_name(const void *a, const void *b)
{
    const lp_fmt_class *x = *(const lp_fmt_class *const *)a, *y = *(const lp_fmt_class *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->id, y->id);
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const lp_fmt_class *)a)->id, ((const lp_fmt_class *)b)->id);
}

int lp_fmt_classes_prepare(lp_fmt_classes *c, lp_error *err)
{
    if (c->n == 0)
        return 0;
    const lp_fmt_class **order = malloc(c->n * sizeof *order);
    if (!order)
        return lp_error_set(err, LP_E_NOMEM, "out of memory ordering the classes of an export");
    for (size_t i = 0; i < c->n; i++)
        order[i] = &c->v[i];
    qsort(order, c->n, sizeof *order, by_name);
    for (size_t i = 0; i < c->n; i++)
        ((lp_fmt_class *)order[i])->index = (uint32_t)i;
    free(order);
    qsort(c->v, c->n, sizeof *c->v, by_id);
    return 0;
}

const lp_fmt_class *lp_fmt_class_find(const lp_fmt_classes *c, const char *id)
{
    lp_fmt_class key = {.id = id};
    return c->n ? bsearch(&key, c->v, c->n, sizeof *c->v, by_id) : NULL;
}

const lp_fmt_class *lp_fmt_class_at(const lp_fmt_classes *c, uint32_t index)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].index == index)
            return &c->v[i];
    return NULL;
}

/* ---- the batch of one item ------------------------------------------------------ */

void lp_fmt_batch_clear(lp_fmt_batch *b)
{
    b->v = NULL;
    b->n = b->cap = 0;
}

static int nomem(lp_error *err) { return lp_error_set(err, LP_E_NOMEM, "out of memory reading an item to export"); }

static const void *dup_or_null(lp_arena *a, const void *p, size_t n, bool *bad)
{
    if (!p)
        return NULL;
    void *c = lp_arena_memdup(a, p, n + 1); /* text keeps its NUL */
    if (!c)
        *bad = true;
    else
        ((char *)c)[n] = '\0';
    return c;
}

static int copy_body(lp_arena *a, lp_ann_stored *dst, const lp_ann_stored *src)
{
    bool bad = false;
    dst->geom = dup_or_null(a, src->geom, src->geom_len, &bad);
    dst->geom_len = src->geom_len;
    dst->data = dup_or_null(a, src->data, src->data_len, &bad);
    dst->data_len = src->data_len;
    dst->extra = dup_or_null(a, src->extra, src->extra_len, &bad);
    dst->extra_len = src->extra_len;
    return bad ? -1 : 0;
}

static int decode(lp_arena *a, const lp_ann_stored *body, lp_ann_geom *g, lp_error *err)
{
    memset(g, 0, sizeof *g);
    g->type = -1;
    if (!body->geom)
        return 0;
    return lp_ann_geom_decode(body->geom, body->geom_len, a, g, err);
}

/* Room for one more element in an arena array of n (doubling). 0 or -1. */
static int grow(lp_arena *a, void **v, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : first;
    void *nv = lp_arena_alloc(a, c * size);
    if (!nv)
        return -1;
    if (n)
        memcpy(nv, *v, n * size);
    *v = nv;
    *cap = c;
    return 0;
}

static lp_fmt_ann *new_ann(lp_fmt_batch *b, const lp_ann_row *row, lp_error *err)
{
    lp_arena *a = b->arena;
    if (grow(a, (void **)&b->v, &b->cap, b->n, sizeof *b->v, 64) != 0) {
        nomem(err);
        return NULL;
    }
    lp_fmt_ann *x = &b->v[b->n];
    memset(x, 0, sizeof *x);
    x->row = *row;
    bool bad = false;
    x->row.slot = dup_or_null(a, row->slot, strlen(row->slot), &bad);
    if (bad || copy_body(a, &x->row.body, &row->body) != 0) {
        nomem(err);
        return NULL;
    }
    if (row->nranges && !(x->row.ranges = lp_arena_memdup(a, row->ranges, row->nranges * sizeof *row->ranges))) {
        nomem(err);
        return NULL;
    }
    if (row->nhidden && !(x->row.hidden = lp_arena_memdup(a, row->hidden, row->nhidden * sizeof *row->hidden))) {
        nomem(err);
        return NULL;
    }
    x->cls = b->classes ? lp_fmt_class_find(b->classes, x->row.class_id) : NULL;
    if (decode(a, &x->row.body, &x->geom, err) != 0)
        return NULL;
    b->n++;
    return x;
}

int lp_fmt_batch_add(lp_fmt_batch *b, const lp_ann_row *row, const lp_ann_frame_row *frame, lp_error *err)
{
    lp_fmt_ann *x = NULL;
    if (frame && b->n && strcmp(b->v[b->n - 1].row.id, row->id) == 0)
        x = &b->v[b->n - 1];
    else if (!(x = new_ann(b, row, err)))
        return -1;
    if (!frame)
        return 0;
    if (grow(b->arena, (void **)&x->frames, &x->cap_frames, x->nframes, sizeof *x->frames, 16) != 0)
        return nomem(err);
    lp_fmt_frame *f = &x->frames[x->nframes];
    memset(f, 0, sizeof *f);
    f->frame = frame->frame;
    f->keyframe = frame->keyframe;
    if (copy_body(b->arena, &f->body, &frame->body) != 0)
        return nomem(err);
    if (decode(b->arena, &f->body, &f->geom, err) != 0)
        return -1;
    x->nframes++;
    return 0;
}

/* ---- output ------------------------------------------------------------------------ */

/* ud: the lp_fmt_out itself, so the level travels with the archive. */
static int zip_open(void *ud, const char *name, bool compress, lp_error *err)
{
    const lp_fmt_out *o = ud;
    bool deflate = compress && o->level > 0;
    return lp_zip_begin(o->zip, name, deflate ? LP_ZIP_DEFLATE : LP_ZIP_STORE, o->level, err);
}

static int zip_write(void *ud, const void *p, size_t n, lp_error *err)
{
    return lp_zip_write(((const lp_fmt_out *)ud)->zip, p, n, err);
}

void lp_fmt_out_zip(lp_fmt_out *out, lp_zip *z, int level)
{
    out->open = zip_open;
    out->write = zip_write;
    out->ud = out;
    out->zip = z;
    out->level = level;
}

int fmt_flush(lp_fmt_writer *w, bool force, lp_error *err)
{
    if (w->buf.len == 0 || (!force && w->buf.len < FLUSH_AT))
        return 0;
    if (!w->file_open)
        return lp_error_set(err, LP_E_INTERNAL, "an export writer wrote outside a file");
    if (w->out->write(w->out->ud, w->buf.data, w->buf.len, err) != 0)
        return -1;
    lp_buf_reset(&w->buf);
    return 0;
}

int fmt_open(lp_fmt_writer *w, const char *name, bool compress, lp_error *err)
{
    if (fmt_flush(w, true, err) != 0 || w->out->open(w->out->ud, name, compress, err) != 0)
        return -1;
    w->file_open = true;
    w->stats.files++;
    return 0;
}

int fmt_nomem(lp_fmt_writer *w, lp_error *err)
{
    return lp_error_set(err, lp_buf_failure(&w->buf), "an export file's buffer is full or memory ran out");
}

int fmt_spool(FILE *f, const void *p, size_t n, lp_error *err)
{
    if (n && fwrite(p, 1, n, f) != n)
        return lp_error_set(err, LP_E_IO, "could not write an export's spool file: %s", strerror(errno));
    return 0;
}

int fmt_spool_copy(lp_fmt_writer *w, FILE *f, lp_error *err)
{
    char chunk[16384];
    size_t got;
    if (fmt_flush(w, true, err) != 0)
        return -1;
    if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
        return lp_error_set(err, LP_E_IO, "could not read back an export's spool file: %s", strerror(errno));
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (w->out->write(w->out->ud, chunk, got, err) != 0)
            return -1;
    if (ferror(f))
        return lp_error_set(err, LP_E_IO, "could not read back an export's spool file");
    return 0;
}

char *fmt_file_name(lp_arena *a, const char *prefix, const lp_fmt_item *it, const char *ext)
{
    const char *path = it->path ? it->path : "/";
    while (*path == '/')
        path++;
    size_t name_len = strlen(it->name);
    if (ext) {
        const char *dot = strrchr(it->name, '.');
        if (dot && dot != it->name)
            name_len = (size_t)(dot - it->name);
    }
    char *s = lp_arena_printf(a, "%s%s%s%s%.*s%s", prefix ? prefix : "", prefix && *prefix ? "/" : "", path,
                              *path ? "/" : "", (int)name_len, it->name, ext ? ext : "");
    if (!s)
        return NULL;
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7f)
            *p = '_';
    /* an item named ".." (or similar) never climbs out of the archive's folders */
    for (char *p = s; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == s || p[-1] == '/') && (p[2] == '/' || p[2] == '\0' || p[2] == '.'))
            p[0] = '_';
    return s;
}

char *lp_fmt_media_name(lp_arena *a, const lp_fmt_item *it) { return fmt_file_name(a, "images", it, NULL); }

void fmt_color_rgb(const char *color, unsigned out[3])
{
    out[0] = out[1] = out[2] = 0;
    if (!color)
        return;
    if (color[0] == '#' && strlen(color) >= 7) {
        for (int i = 0; i < 3; i++) {
            char h[3] = {color[1 + 2 * i], color[2 + 2 * i], 0};
            out[i] = (unsigned)strtoul(h, NULL, 16) & 255u;
        }
        return;
    }
    unsigned r, g, b;
    if (sscanf(color, "rgba(%u ,%u ,%u", &r, &g, &b) == 3 || sscanf(color, "rgb(%u ,%u ,%u", &r, &g, &b) == 3) {
        out[0] = r & 255u;
        out[1] = g & 255u;
        out[2] = b & 255u;
    }
}

int fmt_num(lp_buf *b, double v)
{
    char t[32];
    size_t n = lp_json_format_double(isfinite(v) ? v : 0, t);
    return lp_buf_append(b, t, n);
}

int fmt_uint(lp_buf *b, uint64_t v)
{
    char t[20];
    size_t n = sizeof t;
    do {
        t[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return lp_buf_append(b, t + n, sizeof t - n);
}

int fmt_csv(lp_buf *b, const char *s)
{
    if (lp_buf_puts(b, "\""))
        return -1;
    for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1)
        if (lp_buf_append(b, s, (size_t)(q - s + 1)) || lp_buf_puts(b, "\""))
            return -1;
    return lp_buf_puts(b, s) || lp_buf_puts(b, "\"") ? -1 : 0;
}

int fmt_xml(lp_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
                rep = "?"; /* not allowed in XML 1.0 */
        }
        if (rep) {
            if (lp_buf_append(b, run, (size_t)(s - run)) != 0 || lp_buf_puts(b, rep) != 0)
                return -1;
            run = s + 1;
        }
    }
    return lp_buf_append(b, run, (size_t)(s - run));
}

bool fmt_image_sized(const lp_fmt_item *it)
{
    return it->width > 0 && it->height > 0 && strcmp(it->slot_type, "image") == 0;
}

int fmt_skip_item(lp_fmt_writer *w, const lp_fmt_batch *b)
{
    w->stats.items_skipped++;
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].row.type != LP_ANN_RASTER_LAYER)
            FMT_DROPPED(w, b->v[i].row.type);
    return 0;
}

/* ---- geometry --------------------------------------------------------------------------- */

int fmt_ellipse_polygon(const lp_geom_ellipse *e, lp_arena *a, lp_geom_polygon *out, lp_error *err)
{
    lp_geom_path *path = lp_arena_alloc(a, sizeof *path);
    lp_geom_point *pts = lp_arena_alloc(a, FMT_ELLIPSE_POINTS * sizeof *pts);
    if (!path || !pts)
        return nomem(err);
    double c = cos(e->angle), s = sin(e->angle);
    for (int i = 0; i < FMT_ELLIPSE_POINTS; i++) {
        double t = 2 * M_PI * i / FMT_ELLIPSE_POINTS;
        double x = e->radius.x * cos(t), y = e->radius.y * sin(t);
        pts[i].x = e->center.x + x * c - y * s;
        pts[i].y = e->center.y + x * s + y * c;
    }
    path->points = pts;
    path->npoints = FMT_ELLIPSE_POINTS;
    out->paths = path;
    out->npaths = 1;
    return 0;
}

int fmt_rbox_polygon(const lp_geom_rbox *b, lp_arena *a, lp_geom_polygon *out, lp_error *err)
{
    lp_geom_path *path = lp_arena_alloc(a, sizeof *path);
    lp_geom_point *pts = lp_arena_alloc(a, 4 * sizeof *pts);
    if (!path || !pts)
        return nomem(err);
    lp_geom_rbox_corners(b, pts);
    *path = (lp_geom_path){pts, 4};
    *out = (lp_geom_polygon){path, 1};
    return 0;
}

/* The members of a raster layer other than dense_rle, as a JSON object. */
static json_t *raster_members(const lp_ann_geom *g)
{
    size_t n = g->raw_len;
    char *text = malloc(n + 3);
    if (!text)
        return NULL;
    text[0] = '{';
    if (n)
        memcpy(text + 1, g->raw, n);
    text[n + 1] = '}';
    text[n + 2] = '\0';
    json_t *o = json_loadb(text, n + 2, 0, NULL);
    free(text);
    return o;
}

int fmt_raster_load(const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, fmt_raster *r, lp_error *err)
{
    memset(r, 0, sizeof *r);
    const lp_fmt_ann *layer = NULL;
    for (size_t i = 0; i < b->n && !layer; i++)
        if (b->v[i].geom.type == LP_ANN_RASTER_LAYER && strcmp(b->v[i].row.slot, it->slot) == 0)
            layer = &b->v[i];
    if (!layer || it->width <= 0 || it->height <= 0)
        return 0;
    const char *what = lp_arena_printf(a, "item %s: slot %s", it->id, it->slot);
    return what ? fmt_raster_decode(&layer->geom, it->width, it->height, what, a, r, err) : nomem(err);
}

int fmt_raster_decode(const lp_ann_geom *g, int64_t width, int64_t height, const char *what, lp_arena *a,
                      fmt_raster *r, lp_error *err)
{
    memset(r, 0, sizeof *r);
    uint64_t total = (uint64_t)width * (uint64_t)height, sum = 0;
    for (size_t i = 1; i < g->ndense; i += 2)
        sum += g->dense[i];
    if (sum != total || total > SIZE_MAX)
        return lp_error_set(err, LP_E_INVALID, "%s: the raster layer covers %llu pixels, but the slot has %llu", what,
                            (unsigned long long)sum, (unsigned long long)total);
    if (!(r->labels = lp_arena_alloc(a, (size_t)total ? (size_t)total : 1)))
        return nomem(err);
    size_t at = 0;
    for (size_t i = 0; i + 1 < g->ndense; i += 2) {
        memset(r->labels + at, (int)g->dense[i], g->dense[i + 1]);
        at += g->dense[i + 1];
    }
    json_t *members = raster_members(g);
    json_t *map = json_object_get(members, "mask_annotation_ids_mapping");
    size_t n = json_is_object(map) ? json_object_size(map) : 0;
    r->ids = lp_arena_alloc(a, (n ? n : 1) * sizeof *r->ids);
    r->id_labels = lp_arena_alloc(a, n ? n : 1);
    if (!r->ids || !r->id_labels) {
        json_decref(members);
        return nomem(err);
    }
    const char *key;
    json_t *value;
    json_object_foreach(map, key, value) {
        if (!json_is_integer(value))
            continue;
        if (!(r->ids[r->nids] = lp_arena_strdup(a, key))) {
            json_decref(members);
            return nomem(err);
        }
        r->id_labels[r->nids++] = (uint8_t)json_integer_value(value);
    }
    json_decref(members);
    r->width = (uint32_t)width;
    r->height = (uint32_t)height;
    r->present = true;
    return 0;
}

uint8_t fmt_raster_label(const fmt_raster *r, const char *id)
{
    for (size_t i = 0; r->present && i < r->nids; i++)
        if (strcmp(r->ids[i], id) == 0 || (strlen(id) == 36 && strcasecmp(r->ids[i], id) == 0))
            return r->id_labels[i];
    return 0;
}

int fmt_mask_rle(const fmt_raster *r, const lp_fmt_ann *ann, lp_geom_rle_order order, lp_arena *a, lp_geom_rle *out,
                 lp_error *err)
{
    uint8_t label = fmt_raster_label(r, ann->row.id);
    if (!label)
        return 1;
    uint64_t px = (uint64_t)r->width * r->height;
    return lp_geom_rle_encode(r->labels, r->width, r->height, label, order, px, a, out, err);
}

int fmt_ann_bbox(const lp_fmt_ann *ann, const lp_ann_geom *g, const fmt_raster *r, lp_arena *a, lp_geom_bbox *out,
                 lp_error *err)
{
    if (g->type < 0 || g->type == LP_GEOM_TAG || g->type == LP_GEOM_TEXT || g->type == LP_ANN_RASTER_LAYER)
        return 1;
    if (g->type == LP_GEOM_MASK) {
        lp_geom_rle rle;
        int rc = fmt_mask_rle(r, ann, LP_GEOM_RLE_ROW_MAJOR, a, &rle, err);
        if (rc != 0)
            return rc;
        if (lp_geom_rle_area(&rle) == 0)
            return 1;
        return lp_geom_rle_bbox(&rle, (uint64_t)rle.width * rle.height, out, err);
    }
    return lp_geom_shape_bbox(&g->shape, out, err);
}

/* ---- the writer ------------------------------------------------------------------------- */

lp_fmt_writer *lp_fmt_writer_new(const char *format, const lp_fmt_out *out, const lp_fmt_classes *classes,
                                 const lp_fmt_options *opt, lp_error *err)
{
    const lp_fmt_ops *ops = find_ops(format);
    if (!ops) {
        lp_error_field(err, LP_E_INVALID, "format", "must be one of darwin, coco, voc, yolo, cvat, mask, nifti");
        return NULL;
    }
    const char *variant = resolve_variant(ops, opt ? opt->variant : NULL);
    if (!variant) {
        lp_error_field(err, LP_E_INVALID, "options.variant", "is not a variant of the %s format", format);
        return NULL;
    }
    if (opt && opt->frames != LP_FMT_FRAMES_NONE && !ops->per_image) {
        lp_error_field(err, LP_E_INVALID, "options.frames", "applies only to coco, voc, yolo and mask");
        return NULL;
    }
    lp_fmt_writer *w = calloc(1, sizeof *w);
    if (!w) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting an export writer");
        return NULL;
    }
    w->ops = ops;
    w->out = out;
    w->classes = classes;
    if (opt)
        w->opt = *opt;
    w->opt.variant = variant;
    if (!w->opt.schema_version)
        w->opt.schema_version = "1";
    if (!w->opt.created)
        w->opt.created = "";
    lp_buf_init(&w->buf, BUF_MAX);
    if (ops->begin(w, err) != 0) {
        lp_fmt_writer_free(w);
        return NULL;
    }
    return w;
}

int lp_fmt_writer_item(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *anns, lp_arena *a,
                       lp_error *err)
{
    int rc = w->ops->per_image && w->opt.frames != LP_FMT_FRAMES_NONE && strcmp(it->slot_type, "video") == 0
                 ? fmt_video_frames(w, it, anns, a, err)
                 : w->ops->item(w, it, anns, a, err);
    return rc != 0 ? -1 : fmt_flush(w, false, err);
}

int lp_fmt_writer_end(lp_fmt_writer *w, lp_error *err)
{
    if (w->ops->end && w->ops->end(w, err) != 0)
        return -1;
    return fmt_flush(w, true, err);
}

const lp_fmt_stats *lp_fmt_writer_stats(const lp_fmt_writer *w) { return &w->stats; }

void lp_fmt_writer_free(lp_fmt_writer *w)
{
    if (!w)
        return;
    if (w->ops->free)
        w->ops->free(w);
    lp_buf_free(&w->buf);
    lp_arena_free(w->frame);
    free(w);
}
