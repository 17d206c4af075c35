/* The stored form: the geometry blob codec. Layout in docs/ANNOTATIONS.md;
 * see include/loupe/annotation/stored.h. */
#include "loupe/annotation/stored.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "loupe/core/util.h"
#include "loupe/geometry/measure.h"

/* ---- the layout's assumptions ------------------------------------------------------ */

/* Coordinates are IEEE 754 binary64 and a path's points are copied to and
 * from the blob as one array of doubles (x0, y0, x1, y1, …): lp_geom_point
 * must be exactly two doubles, x first, with no padding. */
_Static_assert(sizeof(double) == 8, "blob coordinates are 8-byte doubles");
_Static_assert(sizeof(lp_geom_point) == 2 * sizeof(double), "lp_geom_point is stored as two doubles");
_Static_assert(offsetof(lp_geom_point, x) == 0, "lp_geom_point stores x first");
_Static_assert(offsetof(lp_geom_point, y) == sizeof(double), "lp_geom_point stores y second, unpadded");
/* The type byte holds every annotation type. */
_Static_assert(LP_ANN_TYPE_COUNT <= 255, "annotation types fit the blob's type byte");

/* ---- stored geometry --------------------------------------------------------------- */

#define BLOB_VERSION LP_ANN_BLOB_VERSION
/* The type byte is fixed per type and never renumbered, whatever the order
 * of the types in memory: 0 … 9 the geometry types up to text, 10 … 15
 * raster_layer … graph, 16 a polygon sent in Darwin's legacy single-path
 * form (the polygon layout, written back as {"path": [points]}), 17
 * rotated_box. */
#define BLOB_POLYGON_PATH 16
#define BLOB_TYPE_BYTES 18
static const unsigned char type_byte_of[LP_ANN_TYPE_COUNT] = {
    [LP_GEOM_BOUNDING_BOX] = 0, [LP_GEOM_POLYGON] = 1, [LP_GEOM_LINE] = 2, [LP_GEOM_KEYPOINT] = 3,
    [LP_GEOM_SKELETON] = 4, [LP_GEOM_ELLIPSE] = 5, [LP_GEOM_CUBOID] = 6, [LP_GEOM_TAG] = 7,
    [LP_GEOM_MASK] = 8, [LP_GEOM_TEXT] = 9, [LP_ANN_RASTER_LAYER] = 10, [LP_ANN_COMPLEX_POLYGON] = 11,
    [LP_ANN_TABLE] = 12, [LP_ANN_SIMPLE_TABLE] = 13, [LP_ANN_STRING] = 14, [LP_ANN_GRAPH] = 15,
    [LP_GEOM_ROTATED_BOX] = 17,
};
_Static_assert(LP_ANN_TYPE_COUNT == 17, "a fixed type byte for every annotation type");

static int put_u8(lp_buf *o, unsigned v)
{
    unsigned char c = (unsigned char)v;
    return lp_buf_append(o, &c, 1);
}

static int put_u32(lp_buf *o, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return lp_buf_append(o, b, 4);
}

static inline void le64(unsigned char *b, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1
#else
#define HOST_LE 0
#endif

static int put_f64s(lp_buf *o, const double *d, size_t n)
{
    if (HOST_LE)
        return lp_buf_append(o, d, n * sizeof *d);
    unsigned char b[8 * 16];
    while (n) {
        size_t k = n < 16 ? n : 16;
        for (size_t i = 0; i < k; i++)
            le64(b + 8 * i, d[i]);
        if (lp_buf_append(o, b, 8 * k) != 0)
            return -1;
        d += k;
        n -= k;
    }
    return 0;
}

static int put_points(lp_buf *o, const lp_geom_path *p)
{
    if (put_u32(o, (uint32_t)p->npoints) != 0)
        return -1;
    /* lp_geom_point is two doubles with no padding */
    return put_f64s(o, (const double *)(const void *)p->points, p->npoints * 2);
}

static int put_bbox(lp_buf *o, const lp_geom_bbox *b)
{
    double v[4] = {b->x, b->y, b->w, b->h};
    return put_f64s(o, v, 4);
}

int lp_ann_geom_encode(const lp_ann_geom *g, lp_buf *o)
{
    unsigned type_byte = g->type == LP_GEOM_POLYGON && g->legacy_path ? BLOB_POLYGON_PATH : type_byte_of[g->type];
    if (put_u8(o, BLOB_VERSION) != 0 || put_u8(o, type_byte) != 0)
        return -1;
    const lp_geom_shape *s = &g->shape;
    switch (g->type) {
    case LP_GEOM_BOUNDING_BOX: return put_bbox(o, &s->u.bbox);
    case LP_GEOM_KEYPOINT: return put_f64s(o, &s->u.keypoint.x, 1) || put_f64s(o, &s->u.keypoint.y, 1) ? -1 : 0;
    case LP_GEOM_ELLIPSE: {
        double v[5] = {s->u.ellipse.center.x, s->u.ellipse.center.y, s->u.ellipse.radius.x, s->u.ellipse.radius.y,
                       s->u.ellipse.angle};
        return put_f64s(o, v, 5);
    }
    case LP_GEOM_CUBOID: return put_bbox(o, &s->u.cuboid.front) || put_bbox(o, &s->u.cuboid.back) ? -1 : 0;
    case LP_GEOM_ROTATED_BOX: {
        double v[5] = {s->u.rbox.x, s->u.rbox.y, s->u.rbox.w, s->u.rbox.h, s->u.rbox.angle};
        return put_f64s(o, v, 5);
    }
    case LP_GEOM_LINE: return put_points(o, &s->u.line);
    case LP_GEOM_POLYGON:
    case LP_ANN_COMPLEX_POLYGON:
        if (put_u32(o, (uint32_t)s->u.polygon.npaths) != 0)
            return -1;
        for (size_t i = 0; i < s->u.polygon.npaths; i++)
            if (put_points(o, &s->u.polygon.paths[i]) != 0)
                return -1;
        return 0;
    case LP_GEOM_SKELETON:
        if (put_u32(o, (uint32_t)s->u.skeleton.nnodes) != 0)
            return -1;
        for (size_t i = 0; i < s->u.skeleton.nnodes; i++) {
            const lp_geom_skeleton_node *nd = &s->u.skeleton.nodes[i];
            double v[2] = {nd->x, nd->y};
            size_t nl = nd->name ? strlen(nd->name) : 0;
            if (put_f64s(o, v, 2) != 0 || put_u8(o, nd->occluded ? 1 : 0) != 0 ||
                put_u32(o, nd->name ? (uint32_t)nl : UINT32_MAX) != 0 || lp_buf_append(o, nd->name, nl) != 0)
                return -1;
        }
        return 0;
    case LP_ANN_RASTER_LAYER:
        if (put_u32(o, (uint32_t)g->ndense) != 0)
            return -1;
        for (size_t i = 0; i < g->ndense; i++)
            if (put_u32(o, g->dense[i]) != 0)
                return -1;
        return put_u32(o, (uint32_t)g->raw_len) || lp_buf_append(o, g->raw, g->raw_len) ? -1 : 0;
    default: /* tag, mask, text, table, simple_table, string, graph: the JSON value as text */
        return put_u32(o, (uint32_t)g->raw_len) || lp_buf_append(o, g->raw, g->raw_len) ? -1 : 0;
    }
}

typedef struct blob_rd {
    const unsigned char *p, *end;
    bool bad;
} blob_rd;

static uint32_t get_u32(blob_rd *b)
{
    if (b->end - b->p < 4) {
        b->bad = true;
        return 0;
    }
    uint32_t v = (uint32_t)b->p[0] | (uint32_t)b->p[1] << 8 | (uint32_t)b->p[2] << 16 | (uint32_t)b->p[3] << 24;
    b->p += 4;
    return v;
}

static void get_f64s(blob_rd *b, double *d, size_t n)
{
    if ((size_t)(b->end - b->p) / 8 < n) {
        b->bad = true;
        memset(d, 0, n * sizeof *d);
        return;
    }
    if (HOST_LE) {
        memcpy(d, b->p, n * 8);
        b->p += n * 8;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--)
            v = (v << 8) | b->p[k];
        memcpy(&d[i], &v, 8);
        b->p += 8;
    }
}

/* A count of elements of at least min_size bytes each; the blob is bad (and
 * the count 0) when the rest of it cannot hold that many. */
static uint32_t get_count(blob_rd *b, size_t min_size)
{
    uint32_t n = get_u32(b);
    if (!b->bad && (size_t)(b->end - b->p) / min_size < n)
        b->bad = true;
    return b->bad ? 0 : n;
}

static int get_points(blob_rd *b, lp_arena *a, lp_geom_path *p)
{
    uint32_t n = get_count(b, 16);
    if (b->bad)
        return -1;
    p->npoints = n;
    p->points = lp_arena_alloc(a, (size_t)n * sizeof *p->points + 1);
    if (!p->points)
        return -1;
    get_f64s(b, (double *)(void *)p->points, (size_t)n * 2);
    return 0;
}

static const char *get_text(blob_rd *b, size_t *len)
{
    uint32_t n = get_u32(b);
    if (b->bad || (size_t)(b->end - b->p) < n) {
        b->bad = true;
        return NULL;
    }
    const char *t = (const char *)b->p;
    b->p += n;
    *len = n;
    return t;
}

int lp_ann_geom_decode(const void *blob, size_t len, lp_arena *a, lp_ann_geom *g, lp_error *err)
{
    blob_rd b = {.p = blob, .end = (const unsigned char *)blob + len};
    memset(g, 0, sizeof *g);
    if (len < 2 || b.p[0] != BLOB_VERSION || b.p[1] >= BLOB_TYPE_BYTES)
        return lp_error_set(err, LP_E_INTERNAL, "a stored annotation shape is damaged (unknown layout)");
    if (b.p[1] == BLOB_POLYGON_PATH) {
        g->type = LP_GEOM_POLYGON;
        g->legacy_path = true;
    } else {
        for (g->type = 0; type_byte_of[g->type] != b.p[1]; g->type++)
            ; /* every byte but BLOB_POLYGON_PATH below BLOB_TYPE_BYTES is some type's */
    }
    b.p += 2;
    g->shape.type = lp_ann_geom_type(g->type);
    lp_geom_shape *s = &g->shape;
    switch (g->type) {
    case LP_GEOM_BOUNDING_BOX: get_f64s(&b, &s->u.bbox.x, 4); break;
    case LP_GEOM_KEYPOINT: get_f64s(&b, &s->u.keypoint.x, 2); break;
    case LP_GEOM_ELLIPSE: {
        double v[5];
        get_f64s(&b, v, 5);
        s->u.ellipse = (lp_geom_ellipse){{v[0], v[1]}, {v[2], v[3]}, v[4]};
        break;
    }
    case LP_GEOM_CUBOID: get_f64s(&b, &s->u.cuboid.front.x, 4); get_f64s(&b, &s->u.cuboid.back.x, 4); break;
    case LP_GEOM_ROTATED_BOX: {
        double v[5];
        get_f64s(&b, v, 5);
        s->u.rbox = (lp_geom_rbox){v[0], v[1], v[2], v[3], v[4]};
        break;
    }
    case LP_GEOM_LINE:
        if (get_points(&b, a, &s->u.line) != 0 && !b.bad)
            goto nomem;
        break;
    case LP_GEOM_POLYGON:
    case LP_ANN_COMPLEX_POLYGON: {
        uint32_t n = get_count(&b, 4);
        if (b.bad)
            goto damaged;
        s->u.polygon.npaths = n;
        s->u.polygon.paths = lp_arena_calloc(a, n ? n : 1, sizeof *s->u.polygon.paths);
        if (!s->u.polygon.paths)
            goto nomem;
        for (uint32_t i = 0; i < n && !b.bad; i++)
            if (get_points(&b, a, &s->u.polygon.paths[i]) != 0 && !b.bad)
                goto nomem;
        break;
    }
    case LP_GEOM_SKELETON: {
        uint32_t n = get_count(&b, 21);
        if (b.bad)
            goto damaged;
        s->u.skeleton.nnodes = n;
        s->u.skeleton.nodes = lp_arena_calloc(a, n ? n : 1, sizeof *s->u.skeleton.nodes);
        if (!s->u.skeleton.nodes)
            goto nomem;
        for (uint32_t i = 0; i < n && !b.bad; i++) {
            lp_geom_skeleton_node *nd = &s->u.skeleton.nodes[i];
            double v[2];
            get_f64s(&b, v, 2);
            nd->x = v[0];
            nd->y = v[1];
            if (b.p >= b.end) {
                b.bad = true;
                break;
            }
            nd->occluded = *b.p++ != 0;
            uint32_t nl = get_u32(&b);
            if (nl != UINT32_MAX) {
                if ((size_t)(b.end - b.p) < nl) {
                    b.bad = true;
                    break;
                }
                char *name = lp_arena_strndup(a, (const char *)b.p, nl);
                if (!name)
                    goto nomem;
                nd->name = name;
                b.p += nl;
            }
        }
        break;
    }
    case LP_ANN_RASTER_LAYER: {
        uint32_t n = get_count(&b, 4);
        if (b.bad)
            goto damaged;
        g->dense = lp_arena_alloc(a, (size_t)n * 4 + 4);
        if (!g->dense)
            goto nomem;
        for (uint32_t i = 0; i < n; i++)
            g->dense[i] = get_u32(&b);
        g->ndense = n;
        g->raw = get_text(&b, &g->raw_len);
        break;
    }
    default:
        g->raw = get_text(&b, &g->raw_len);
        break;
    }
    if (b.bad || b.p != b.end)
        goto damaged;
    return 0;
damaged:
    return lp_error_set(err, LP_E_INTERNAL, "a stored %s shape is damaged", lp_ann_type_name(g->type));
nomem:
    return lp_error_set(err, LP_E_NOMEM, "out of memory decoding a stored shape");
}


/* ---- rows ----------------------------------------------------------------------- */

/* st from body: data and extra borrowed, the shape appended to blobs at
 * *geom_off (SIZE_MAX: no shape). 0 or -1 (blobs full). */
static int store_body(const lp_ann_body *body, lp_ann_stored *st, lp_buf *blobs, size_t *geom_off)
{
    memset(st, 0, sizeof *st);
    st->data = body->data;
    st->data_len = body->data_len;
    st->extra = body->extra;
    st->extra_len = body->extra_len;
    *geom_off = SIZE_MAX;
    if (body->geom.type < 0)
        return 0;
    size_t off = blobs->len;
    if (lp_ann_geom_encode(&body->geom, blobs) != 0)
        return -1;
    *geom_off = off;
    st->geom_len = blobs->len - off;
    return 0;
}

/* The box a turning shape of a track keeps to between keyframes: the box of
 * the disc about its centre through its farthest points (a rotated box's
 * corners, an ellipse's longer semi-axis). Interpolation moves that centre
 * on a straight line and the disc's radius never exceeds the lerp of the
 * keyframes' radii, so every computed frame stays inside the union of the
 * keyframes' discs — which its exact extent at a keyframe would not. false
 * for the other types (their points move on straight lines). */
static bool turning_box(const lp_geom_shape *s, lp_geom_bbox *b)
{
    double cx, cy, r;
    if (s->type == LP_GEOM_ROTATED_BOX) {
        cx = s->u.rbox.x + s->u.rbox.w / 2;
        cy = s->u.rbox.y + s->u.rbox.h / 2;
        r = hypot(s->u.rbox.w, s->u.rbox.h) / 2;
    } else if (s->type == LP_GEOM_ELLIPSE) {
        cx = s->u.ellipse.center.x;
        cy = s->u.ellipse.center.y;
        r = fmax(s->u.ellipse.radius.x, s->u.ellipse.radius.y);
    } else {
        return false;
    }
    *b = (lp_geom_bbox){cx - r, cy - r, 2 * r, 2 * r};
    return isfinite(b->x) && isfinite(b->y) && isfinite(b->w);
}

/* Grows row's box by body's shape, when that shape has an extent (a frame
 * of a track: the box it keeps to while turning, turning_box). */
static void bbox_add(lp_ann_row *row, const lp_ann_body *body, bool frame)
{
    lp_geom_bbox b;
    lp_error ignored;
    int t = body->geom.type;
    lp_geom_shape shape = body->geom.shape;
    /* a complex polygon is a polygon's paths; text types and raster layers
     * have no shape; a stored mask has no pixels of its own (they are in
     * the raster layer) */
    if (t == LP_ANN_COMPLEX_POLYGON)
        shape.type = t = LP_GEOM_POLYGON;
    if (t < 0 || t >= (int)LP_GEOM_TYPE_COUNT || t == LP_GEOM_TAG || t == LP_GEOM_TEXT || t == LP_GEOM_MASK ||
        (!(frame && turning_box(&shape, &b)) && lp_geom_shape_bbox(&shape, &b, &ignored) != 0))
        return;
    if (row->has_bbox) {
        double x1 = fmax(row->bbox.x + row->bbox.w, b.x + b.w), y1 = fmax(row->bbox.y + row->bbox.h, b.y + b.h);
        b.x = fmin(row->bbox.x, b.x);
        b.y = fmin(row->bbox.y, b.y);
        b.w = x1 - b.x;
        b.h = y1 - b.y;
    }
    row->bbox = b;
    row->has_bbox = true;
}

int lp_ann_store(const lp_ann *const *anns, size_t n, lp_arena *a, lp_buf *blobs, lp_ann_row **rows_out,
                 lp_ann_frame_row **frames_out, size_t *nframes_out, lp_error *err)
{
    size_t nframes = 0, fi = 0;
    for (size_t i = 0; i < n; i++)
        nframes += anns[i]->nframes;
    lp_ann_row *rows = lp_arena_calloc(a, n ? n : 1, sizeof *rows);
    lp_ann_frame_row *frames = lp_arena_calloc(a, nframes ? nframes : 1, sizeof *frames);
    /* where each shape went in blobs, which may move until the last is in */
    size_t *offs = lp_arena_calloc(a, n + nframes + 1, sizeof *offs);
    if (!rows || !frames || !offs)
        return lp_error_set(err, LP_E_NOMEM, "out of memory storing annotations");
    for (size_t i = 0; i < n; i++) {
        const lp_ann *an = anns[i];
        lp_ann_row *r = &rows[i];
        lp_strlcpy(r->id, an->id ? an->id : "", sizeof r->id);
        lp_strlcpy(r->class_id, an->class_id ? an->class_id : "", sizeof r->class_id);
        r->slot = an->slot;
        r->type = an->type;
        r->has_z = an->has_z;
        r->z = an->z;
        r->source = an->source;
        r->has_confidence = an->has_confidence;
        r->confidence = an->confidence;
        r->version = 1;
        r->interpolated = an->interpolated;
        if (store_body(&an->body, &r->body, blobs, &offs[i]) != 0)
            goto full;
        if (!an->video) {
            bbox_add(r, &an->body, false);
            continue;
        }
        r->video = true;
        r->ranges = an->ranges;
        r->nranges = an->nranges;
        r->ranges_given = an->ranges_given;
        r->has_hidden = an->has_hidden;
        r->hidden = an->hidden;
        r->nhidden = an->nhidden;
        for (size_t k = 0; k < an->nframes; k++, fi++) {
            lp_ann_frame_row *fr = &frames[fi];
            fr->annotation_id = an->id;
            fr->frame = an->frames[k].frame;
            fr->keyframe = an->frames[k].keyframe;
            bbox_add(r, &an->frames[k].body, true);
            if (store_body(&an->frames[k].body, &fr->body, blobs, &offs[n + fi]) != 0)
                goto full;
        }
    }
    /* blobs no longer moves: resolve the places */
    for (size_t i = 0; i < n + nframes; i++) {
        lp_ann_stored *st = i < n ? &rows[i].body : &frames[i - n].body;
        if (offs[i] != SIZE_MAX)
            st->geom = blobs->data + offs[i];
    }
    *rows_out = rows;
    *frames_out = frames;
    *nframes_out = nframes;
    return 0;
full:
    return lp_error_set(err, LP_E_TOO_LARGE, "the annotations' shapes are too large to store");
}
