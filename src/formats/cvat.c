/* CVAT XML out.
 *   annotations.xml — CVAT for images 1.1: one <image> per image item with
 *     <box> (a rotated_box with rotation="degrees"), <polygon>, <polyline>,
 *     <points>, <ellipse>, <skeleton>, <tag>,
 *     <cuboid> (two rectangular faces) and <mask> (CVAT's RLE of the mask's
 *     box) elements;
 *   videos/<path>/<stem>.xml — CVAT for video 1.1, one per video item: a
 *     <track> per annotation with its keyframes, a keyframe computed by the
 *     server (src/geometry) where a visible range or a hidden area ends and
 *     the annotation reappears, and `outside="1"` where it disappears.
 * Conversions are in docs/FORMATS.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_int.h"
#include "loupe/geometry/measure.h"
#include "loupe/geometry/rle.h"
#include "loupe/geometry/track.h"

typedef struct cvat {
    uint64_t image_id;
    FILE *images;     /* the <image> elements until annotations.xml is written */
    lp_buf img;       /* one image's elements */
} cvat;

static int put_labels(lp_fmt_writer *w, lp_buf *b)
{
    if (lp_buf_puts(b, "    <labels>\n"))
        return -1;
    for (uint32_t i = 0; i < w->classes->n; i++) {
        const lp_fmt_class *c = lp_fmt_class_at(w->classes, i);
        unsigned rgb[3];
        fmt_color_rgb(c->color, rgb);
        if (lp_buf_puts(b, "      <label>\n        <name>") || fmt_xml(b, c->name) ||
            lp_buf_printf(b, "</name>\n        <color>#%02x%02x%02x</color>\n        <type>%s</type>\n", rgb[0],
                          rgb[1], rgb[2], c->nodes ? "skeleton" : "any") ||
            lp_buf_puts(b, "        <attributes>\n        </attributes>\n"))
            return -1;
        if (c->nodes) {
            if (lp_buf_puts(b, "        <sublabels>\n"))
                return -1;
            for (size_t k = 0; k < c->nnodes; k++)
                if (lp_buf_puts(b, "          <sublabel><name>") || fmt_xml(b, c->nodes[k]) ||
                    lp_buf_puts(b, "</name><type>points</type></sublabel>\n"))
                    return -1;
            if (lp_buf_puts(b, "        </sublabels>\n"))
                return -1;
        }
        if (lp_buf_puts(b, "      </label>\n"))
            return -1;
    }
    return lp_buf_puts(b, "    </labels>\n");
}

static int put_head(lp_fmt_writer *w, lp_buf *b, const char *name, const char *mode, int64_t size)
{
    return lp_buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations>\n  <version>1.1</version>\n"
                          "  <meta>\n  <task>\n    <name>") ||
                   fmt_xml(b, name) ||
                   lp_buf_printf(b, "</name>\n    <size>%lld</size>\n    <mode>%s</mode>\n", (long long)size, mode) ||
                   lp_buf_puts(b, "    <created>") || fmt_xml(b, w->opt.created) ||
                   lp_buf_puts(b, "</created>\n") || put_labels(w, b) || lp_buf_puts(b, "  </task>\n  </meta>\n")
               ? -1
               : 0;
}

static int cvat_begin(lp_fmt_writer *w, lp_error *err)
{
    cvat *c = calloc(1, sizeof *c);
    if (!c)
        return lp_error_set(err, LP_E_NOMEM, "out of memory starting a CVAT export");
    w->state = c;
    lp_buf_init(&c->img, 1u << 30);
    if (!(c->images = tmpfile()))
        return lp_error_set(err, LP_E_IO, "could not create the spool file of a CVAT export: %s", strerror(errno));
    return 0;
}

static int put_points(lp_buf *b, const lp_geom_point *p, size_t n)
{
    if (lp_buf_puts(b, " points=\""))
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((i && lp_buf_puts(b, ";")) || fmt_num(b, p[i].x) || lp_buf_puts(b, ",") || fmt_num(b, p[i].y))
            return -1;
    return lp_buf_puts(b, "\"");
}

static int put_box_attrs(lp_buf *b, const lp_geom_bbox *x)
{
    return lp_buf_puts(b, " xtl=\"") || fmt_num(b, x->x) || lp_buf_puts(b, "\" ytl=\"") || fmt_num(b, x->y) ||
           lp_buf_puts(b, "\" xbr=\"") || fmt_num(b, x->x + x->w) || lp_buf_puts(b, "\" ybr=\"") ||
           fmt_num(b, x->y + x->h) || lp_buf_puts(b, "\"");
}

/* An angle in radians as CVAT's rotation: degrees in [0, 360). */
static double degrees(double angle)
{
    double deg = fmod(angle * 180.0 / M_PI, 360.0);
    return deg < 0 ? deg + 360.0 : deg;
}

/* A cuboid's eight corners: face n (1 front, 2 back), each a rectangle. */
static int put_cuboid_attrs(lp_buf *b, const lp_geom_cuboid *c)
{
    for (int n = 1; n <= 2; n++) {
        const lp_geom_bbox *f = n == 1 ? &c->front : &c->back;
        double xs[4] = {f->x, f->x, f->x + f->w, f->x + f->w}, ys[4] = {f->y, f->y + f->h, f->y, f->y + f->h};
        static const char *const corners[] = {"tl", "bl", "tr", "br"};
        for (int i = 0; i < 4; i++)
            if (lp_buf_printf(b, " x%s%d=\"", corners[i], n) || fmt_num(b, xs[i]) ||
                lp_buf_printf(b, "\" y%s%d=\"", corners[i], n) || fmt_num(b, ys[i]) || lp_buf_puts(b, "\""))
                return -1;
    }
    return 0;
}

/* CVAT's mask RLE: row-major over the mask's box, starting with background. */
static int put_mask(lp_buf *b, const fmt_raster *r, uint8_t label, const lp_geom_bbox *box)
{
    uint32_t x0 = (uint32_t)box->x, y0 = (uint32_t)box->y, w = (uint32_t)box->w, h = (uint32_t)box->h;
    uint64_t run = 0;
    bool fg = false, first = true;
    if (lp_buf_puts(b, " rle=\""))
        return -1;
    for (uint32_t y = y0; y < y0 + h; y++)
        for (uint32_t x = x0; x < x0 + w; x++) {
            bool on = r->labels[(size_t)y * r->width + x] == label;
            if (on != fg) {
                if (lp_buf_printf(b, first ? "%llu" : ", %llu", (unsigned long long)run))
                    return -1;
                first = false;
                run = 0;
                fg = on;
            }
            run++;
        }
    if (lp_buf_printf(b, first ? "%llu" : ", %llu", (unsigned long long)run))
        return -1;
    return lp_buf_printf(b, "\" left=\"%u\" top=\"%u\" width=\"%u\" height=\"%u\"", x0, y0, w, h);
}

/* The element of one shape: `<tag label=… extra>…` (extra: frame attributes
 * of a track, or ""). 1 when CVAT has no element for it. */
static int put_shape(lp_buf *b, const lp_fmt_ann *ann, const lp_geom_shape *s, int type, const fmt_raster *r,
                     const char *extra, bool *converted, lp_arena *a, lp_error *err)
{
    const char *label = ann->cls->name;
    lp_geom_bbox box;
    *converted = false;
#define OPEN(tag)                                                                                                    \
    (lp_buf_puts(b, "    <" tag " label=\"") || fmt_xml(b, label) ||                                             \
     lp_buf_printf(b, "\" source=\"%s\" occluded=\"0\"%s", ann->row.source == LP_ANN_MODEL ? "auto" : "manual",      \
                   extra))
    switch (type) {
    case LP_GEOM_BOUNDING_BOX:
        return OPEN("box") || put_box_attrs(b, &s->u.bbox) || lp_buf_printf(b, " z_order=\"%d\"/>\n", ann->row.z);
    case LP_GEOM_CUBOID:
        return OPEN("cuboid") || put_cuboid_attrs(b, &s->u.cuboid) ||
               lp_buf_printf(b, " z_order=\"%d\"/>\n", ann->row.z);
    case LP_GEOM_POLYGON:
        *converted = s->u.polygon.npaths > 1; /* each path its own polygon: holes are not kept */
        for (size_t i = 0; i < s->u.polygon.npaths; i++)
            if (OPEN("polygon") || put_points(b, s->u.polygon.paths[i].points, s->u.polygon.paths[i].npoints) ||
                lp_buf_printf(b, " z_order=\"%d\"/>\n", ann->row.z))
                return -1;
        return 0;
    case LP_GEOM_LINE:
        return OPEN("polyline") || put_points(b, s->u.line.points, s->u.line.npoints) ||
               lp_buf_printf(b, " z_order=\"%d\"/>\n", ann->row.z);
    case LP_GEOM_KEYPOINT:
        return OPEN("points") || put_points(b, &s->u.keypoint, 1) ||
               lp_buf_printf(b, " z_order=\"%d\"/>\n", ann->row.z);
    case LP_GEOM_ROTATED_BOX: {
        const lp_geom_rbox *rb = &s->u.rbox;
        return OPEN("box") || put_box_attrs(b, &(lp_geom_bbox){rb->x, rb->y, rb->w, rb->h}) ||
               lp_buf_puts(b, " rotation=\"") || fmt_num(b, degrees(rb->angle)) ||
               lp_buf_printf(b, "\" z_order=\"%d\"/>\n", ann->row.z);
    }
    case LP_GEOM_ELLIPSE: {
        const lp_geom_ellipse *e = &s->u.ellipse;
        return OPEN("ellipse") || lp_buf_puts(b, " cx=\"") || fmt_num(b, e->center.x) ||
               lp_buf_puts(b, "\" cy=\"") || fmt_num(b, e->center.y) || lp_buf_puts(b, "\" rx=\"") ||
               fmt_num(b, e->radius.x) || lp_buf_puts(b, "\" ry=\"") || fmt_num(b, e->radius.y) ||
               lp_buf_puts(b, "\" rotation=\"") || fmt_num(b, degrees(e->angle)) ||
               lp_buf_printf(b, "\" z_order=\"%d\"/>\n", ann->row.z);
    }
    case LP_GEOM_SKELETON:
        if (OPEN("skeleton") || lp_buf_printf(b, " z_order=\"%d\">\n", ann->row.z))
            return -1;
        for (size_t i = 0; i < s->u.skeleton.nnodes; i++) {
            const lp_geom_skeleton_node *n = &s->u.skeleton.nodes[i];
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", i);
            if (lp_buf_puts(b, "      <points label=\"") || fmt_xml(b, n->name ? n->name : idx) ||
                lp_buf_printf(b, "\" source=\"manual\" outside=\"0\" occluded=\"%d\"", n->occluded ? 1 : 0) ||
                put_points(b, &(lp_geom_point){n->x, n->y}, 1) || lp_buf_puts(b, "/>\n"))
                return -1;
        }
        return lp_buf_puts(b, "    </skeleton>\n");
    case LP_GEOM_TAG:
        return lp_buf_puts(b, "    <tag label=\"") || fmt_xml(b, label) ||
               lp_buf_printf(b, "\" source=\"%s\"/>\n", ann->row.source == LP_ANN_MODEL ? "auto" : "manual");
    case LP_GEOM_MASK: {
        uint8_t lbl = fmt_raster_label(r, ann->row.id);
        lp_geom_shape m;
        if (!lbl || *extra)
            return 1;
        int rc = fmt_mask_rle(r, ann, LP_GEOM_RLE_ROW_MAJOR, a, &m.u.mask, err);
        if (rc != 0)
            return rc;
        if (lp_geom_rle_area(&m.u.mask) == 0)
            return 1;
        if (lp_geom_rle_bbox(&m.u.mask, (uint64_t)r->width * r->height, &box, err) != 0)
            return -1;
        return OPEN("mask") || put_mask(b, r, lbl, &box) || lp_buf_printf(b, " z_order=\"%d\"/>\n", ann->row.z);
    }
    default:
        return 1;
    }
#undef OPEN
}

static int cvat_image(lp_fmt_writer *w, cvat *c, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a,
                      lp_error *err)
{
    lp_buf *o = &c->img;
    fmt_raster r;
    char *file = fmt_file_name(a, NULL, it, NULL);
    lp_buf_reset(o);
    if (!file)
        return lp_error_set(err, LP_E_NOMEM, "out of memory naming a CVAT image");
    if (fmt_raster_load(it, b, a, &r, err) != 0)
        return -1;
    if (lp_buf_printf(o, "  <image id=\"%llu\" name=\"", (unsigned long long)c->image_id++) || fmt_xml(o, file) ||
        lp_buf_printf(o, "\" width=\"%lld\" height=\"%lld\">\n", (long long)(it->width > 0 ? it->width : 0),
                      (long long)(it->height > 0 ? it->height : 0)))
        return fmt_nomem(w, err);
    for (size_t i = 0; i < b->n; i++) {
        const lp_fmt_ann *ann = &b->v[i];
        bool conv = false;
        if (ann->row.type == LP_ANN_RASTER_LAYER)
            continue;
        int rc = !ann->cls || ann->row.video ? 1 : put_shape(o, ann, &ann->geom.shape, ann->geom.type, &r, "", &conv, a, err);
        if (rc < 0 && err->code != LP_OK)
            return -1;
        if (rc < 0)
            return fmt_nomem(w, err);
        if (rc > 0)
            FMT_DROPPED(w, ann->row.type);
        else if (conv)
            FMT_CONVERTED(w, ann->row.type);
        else
            FMT_WRITTEN(w, ann->row.type);
        if (o->len >= (1u << 16) && (fmt_spool(c->images, o->data, o->len, err) != 0))
            return -1;
        if (o->len >= (1u << 16))
            lp_buf_reset(o);
    }
    if (lp_buf_puts(o, "  </image>\n"))
        return fmt_nomem(w, err);
    return fmt_spool(c->images, o->data, o->len, err);
}

/* One shape event of a track. */
typedef struct event {
    int64_t frame;
    const lp_geom_shape *shape;
    bool outside, keyframe;
} event;

static int by_frame(const void *x, const void *y)
{
    const event *a = x, *b = y;
    return a->frame < b->frame ? -1 : a->frame > b->frame ? 1 : (int)a->outside - (int)b->outside;
}

/* The shape shown at f (held or interpolated), or NULL when absent. */
static const lp_geom_shape *shape_at(const lp_geom_track *t, int64_t f, lp_arena *a, lp_error *err, bool *failed)
{
    lp_geom_shape *s = lp_arena_alloc(a, sizeof *s);
    lp_geom_frame_kind kind;
    if (!s || lp_geom_track_at(t, f, a, s, &kind, err) != 0) {
        *failed = true;
        return NULL;
    }
    return kind == LP_GEOM_FRAME_ABSENT ? NULL : s;
}

static bool in_ranges(const lp_geom_frame_range *r, size_t n, int64_t f)
{
    for (size_t i = 0; i < n; i++)
        if (f >= r[i].start && f < r[i].end)
            return true;
    return false;
}

static int put_track(lp_fmt_writer *w, const lp_fmt_ann *ann, uint64_t id, lp_arena *a, lp_error *err)
{
    lp_buf *o = &w->buf;
    lp_geom_track t;
    int rc = fmt_ann_track(ann, a, &t, err);
    if (rc != 0)
        return rc;
    const lp_geom_keyframe *kf = t.keyframes;
    size_t nk = t.nkeyframes;
    size_t cap = ann->nframes + 2 * (ann->row.nranges + ann->row.nhidden) + 1;
    event *ev = lp_arena_alloc(a, cap * sizeof *ev);
    size_t ne = 0;
    bool failed = false;
    if (!ev)
        return lp_error_set(err, LP_E_NOMEM, "out of memory writing a CVAT track");
    int type = kf[0].shape.type;
    if (type != LP_GEOM_BOUNDING_BOX && type != LP_GEOM_POLYGON && type != LP_GEOM_LINE && type != LP_GEOM_KEYPOINT &&
        type != LP_GEOM_ELLIPSE && type != LP_GEOM_ROTATED_BOX)
        return 1;
    for (size_t i = 0; i < nk; i++)
        if (in_ranges(t.ranges, t.nranges, kf[i].frame) && !in_ranges(t.hidden, t.nhidden, kf[i].frame))
            ev[ne++] = (event){kf[i].frame, &kf[i].shape, false, true};
    /* where it (re)appears: a range's start, a hidden area's end */
    for (size_t i = 0; i < t.nranges + t.nhidden; i++) {
        int64_t f = i < t.nranges ? t.ranges[i].start : t.hidden[i - t.nranges].end;
        const lp_geom_shape *s = shape_at(&t, f, a, err, &failed);
        if (s)
            ev[ne++] = (event){f, s, false, true};
    }
    /* where it disappears: a range's end, a hidden area's start */
    for (size_t i = 0; i < t.nranges + t.nhidden; i++) {
        int64_t f = i < t.nranges ? t.ranges[i].end : t.hidden[i - t.nranges].start;
        const lp_geom_shape *s = f > 0 ? shape_at(&t, f - 1, a, err, &failed) : NULL;
        if (s && !shape_at(&t, f, a, err, &failed))
            ev[ne++] = (event){f, s, true, true};
    }
    if (failed)
        return -1;
    qsort(ev, ne, sizeof *ev, by_frame);
    if (lp_buf_printf(o, "  <track id=\"%llu\" label=\"", (unsigned long long)id) || fmt_xml(o, ann->cls->name) ||
        lp_buf_printf(o, "\" source=\"%s\">\n", ann->row.source == LP_ANN_MODEL ? "auto" : "manual"))
        return fmt_nomem(w, err);
    int64_t last = -1;
    for (size_t i = 0; i < ne; i++) {
        if (ev[i].frame == last) /* one shape per frame: the first event wins */
            continue;
        last = ev[i].frame;
        char extra[96];
        bool conv;
        snprintf(extra, sizeof extra, " frame=\"%lld\" keyframe=\"1\" outside=\"%d\"", (long long)ev[i].frame,
                 ev[i].outside ? 1 : 0);
        rc = put_shape(o, ann, ev[i].shape, type, NULL, extra, &conv, a, err);
        if (rc != 0)
            return rc < 0 && err->code == LP_OK ? fmt_nomem(w, err) : rc;
    }
    return lp_buf_puts(o, "  </track>\n") ? fmt_nomem(w, err) : 0;
}

static int cvat_video(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err)
{
    char *name = fmt_file_name(a, "videos", it, ".xml");
    if (!name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory naming a CVAT video file");
    if (fmt_open(w, name, true, err) != 0 ||
        (put_head(w, &w->buf, it->name, "interpolation", it->frame_count > 0 ? it->frame_count : 0) != 0))
        return fmt_nomem(w, err);
    uint64_t id = 0;
    for (size_t i = 0; i < b->n; i++) {
        const lp_fmt_ann *ann = &b->v[i];
        int rc = !ann->cls || !ann->row.video || ann->row.type == LP_ANN_RASTER_LAYER ? 1
                                                                                   : put_track(w, ann, id, a, err);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            FMT_DROPPED(w, ann->row.type);
            continue;
        }
        id++;
        if (ann->row.interpolated)
            FMT_WRITTEN(w, ann->row.type);
        else
            FMT_CONVERTED(w, ann->row.type); /* CVAT interpolates between keyframes */
        if (fmt_flush(w, false, err) != 0)
            return -1;
    }
    return lp_buf_puts(&w->buf, "</annotations>\n") ? fmt_nomem(w, err) : 0;
}

static int cvat_item(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err)
{
    cvat *c = w->state;
    int rc;
    if (strcmp(it->slot_type, "image") != 0)
        rc = cvat_video(w, it, b, a, err);
    else
        rc = cvat_image(w, c, it, b, a, err);
    if (rc == 0)
        w->stats.items++;
    return rc;
}

static int cvat_end(lp_fmt_writer *w, lp_error *err)
{
    cvat *c = w->state;
    if (fmt_open(w, "annotations.xml", true, err) != 0)
        return -1;
    if (put_head(w, &w->buf, "Loupe export", "annotation", (int64_t)c->image_id) != 0)
        return fmt_nomem(w, err);
    if (fmt_spool_copy(w, c->images, err) != 0)
        return -1;
    return lp_buf_puts(&w->buf, "</annotations>\n") ? fmt_nomem(w, err) : 0;
}

static void cvat_free(lp_fmt_writer *w)
{
    cvat *c = w->state;
    if (!c)
        return;
    if (c->images)
        fclose(c->images);
    lp_buf_free(&c->img);
    free(c);
}

const lp_fmt_ops lp_fmt_cvat_ops = {"cvat", NULL, cvat_begin, cvat_item, cvat_end, cvat_free, false};
