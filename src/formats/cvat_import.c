/* CVAT XML in: CVAT for images 1.1 (<image> elements, one item each) and
 * CVAT for video 1.1 (<track> elements: one video item per file).
 *
 * Images: <image name="a/b/c.jpg" width height> is the item at "/a/b" named
 * "c.jpg"; its <box> (xtl ytl xbr ybr), <polygon> (points), <polyline> (a
 * line), <points> (a keypoint per point), <ellipse> (cx cy rx ry, rotation
 * in degrees), <skeleton> (its <points> children by label, occluded) and
 * <tag> become annotations of the class named by label; source="auto" is
 * a model's; z_order is kept. A <cuboid> (its eight corners, xtl1 … ybr2)
 * is a cuboid whose front face is the box of the four corners numbered 1
 * and back face of those numbered 2 (exact for the cuboids Loupe writes:
 * rectangles). A <mask> (CVAT's RLE: run lengths over its box left, top,
 * width × height, row by row, starting with background) is a mask
 * annotation with a new id, and the image's masks one raster layer (of the
 * first mask's class, as COCO's), later masks over earlier ones: exact.
 *
 * Video: the item is the task's <name> (else its <source>) in the file's
 * folder after a leading "videos/"; its slot a video of <size> frames. Each
 * <track> is a video annotation, interpolated as CVAT does: every shape with
 * outside="0" and keyframe="1" a keyframe, visible from a shape with
 * outside="0" up to (not including) the next with outside="1" (to the end of
 * the video when none follows). docs/FORMATS.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "loupe/core/util.h"
#include "loupe/geometry/track.h"

static lp_imp_role cvat_role(const lp_imp_reader *r, const char *name)
{
    (void)r;
    return imp_has_ext(name, ".xml") ? LP_IMP_ROLE_ITEMS : LP_IMP_ROLE_SKIP;
}

/* A track's shape at one frame. */
typedef struct tshape {
    int64_t frame;
    bool outside, keyframe;
    lp_ann_body body;
} tshape;

typedef struct cfile {
    lp_imp_item it;              /* the image (or the video) being read */
    lp_imp_slot slot;
    size_t cap_anns, nwhere, cap_where;
    const char **where;
    bool root_ok, in_image, video;
    const char *task_name, *task_source;
    int64_t task_size;
    /* the image's masks: its label map (NULL until one), their ids by label − 1 */
    uint8_t *labels;
    char (*mask_ids)[37];
    unsigned nmasks;
    const char *layer_class;
    /* a <skeleton> being read */
    lp_ann *skel;
    size_t skel_cap;
    /* a <track> being read */
    const char *track_label, *track_where;
    bool track_auto;
    tshape *shapes;
    size_t nshapes, cap_shapes;
    lp_ann *tracks;              /* the video's annotations, yielded at the end */
    size_t ntracks, cap_tracks;
    const char **track_wheres;
    size_t ntw, cap_tw;
} cfile;

static int nomem(imp_xml *x) { return lp_error_set(x->err, LP_E_NOMEM, "out of memory reading %s", x->file); }

/* Attribute name as a finite number; *bad names the first that is not. */
static double num_attr(const char **attrs, const char *name, const char **bad)
{
    const char *v = imp_xml_attr(attrs, name);
    char *end;
    double d = v ? strtod(v, &end) : NAN;
    if (!v || *end || !isfinite(d)) {
        if (!*bad)
            *bad = name;
        return 0;
    }
    return d;
}

/* "x1,y1;x2,y2;…" as points (new in a); NULL for another text (or NOMEM:
 * *nomem). */
static lp_geom_point *parse_points(lp_arena *a, const char *s, size_t *n, bool *oom)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ';';
    lp_geom_point *pts = lp_arena_alloc(a, cap * sizeof *pts);
    if (!pts) {
        *oom = true;
        return NULL;
    }
    size_t k = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || *end != ',')
            return NULL;
        p = end + 1;
        double y = strtod(p, &end);
        if (end == p || (*end != ';' && *end != '\0') || !isfinite(x) || !isfinite(y) || k == cap)
            return NULL;
        pts[k++] = (lp_geom_point){x, y};
        p = *end == ';' ? end + 1 : end;
    }
    *n = k;
    return k ? pts : NULL;
}

/* The box of a cuboid face's four corners (face 0: the attributes numbered
 * 1, the front; face 1: numbered 2, the back). */
static lp_geom_bbox face_box(const char **attrs, int face, const char **bad)
{
    static const char *const names[2][8] = {{"xtl1", "ytl1", "xbl1", "ybl1", "xtr1", "ytr1", "xbr1", "ybr1"},
                                            {"xtl2", "ytl2", "xbl2", "ybl2", "xtr2", "ytr2", "xbr2", "ybr2"}};
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int i = 0; i < 8; i += 2) {
        double x = num_attr(attrs, names[face][i], bad), y = num_attr(attrs, names[face][i + 1], bad);
        x0 = fmin(x0, x), y0 = fmin(y0, y), x1 = fmax(x1, x), y1 = fmax(y1, y);
    }
    return (lp_geom_bbox){x0, y0, x1 - x0, y1 - y0};
}

/* Why a rotation whose degrees are finite but whose radians are not (past
 * about 5.7e307 degrees) is refused, naming the attribute as the other
 * reasons do. */
static const char *too_turned(imp_xml *x, const char **attrs, bool *oom)
{
    const char *why = lp_arena_printf(x->a, "has an invalid rotation=\"%.40s\": must be a number of degrees within "
                                      "±5e307", imp_xml_attr(attrs, "rotation"));
    *oom = !why;
    return why ? why : "";
}

/* The shape of a CVAT element (box, polygon, …), or a reason it has none. */
static const char *shape_of(imp_xml *x, const char *el, const char **attrs, lp_geom_shape *s, bool *oom)
{
    const char *bad = NULL;
    memset(s, 0, sizeof *s);
    if (strcmp(el, "box") == 0) {
        double x0 = num_attr(attrs, "xtl", &bad), y0 = num_attr(attrs, "ytl", &bad);
        double x1 = num_attr(attrs, "xbr", &bad), y1 = num_attr(attrs, "ybr", &bad);
        /* rotation: degrees clockwise about the centre; a turned box is a rotated_box */
        double deg = imp_xml_attr(attrs, "rotation") ? num_attr(attrs, "rotation", &bad) : 0;
        if (!bad && !isfinite(deg * M_PI / 180.0))
            return too_turned(x, attrs, oom);
        s->type = deg != 0 ? LP_GEOM_ROTATED_BOX : LP_GEOM_BOUNDING_BOX;
        if (deg != 0)
            s->u.rbox = (lp_geom_rbox){x0, y0, x1 - x0, y1 - y0, deg * M_PI / 180.0};
        else
            s->u.bbox = (lp_geom_bbox){x0, y0, x1 - x0, y1 - y0};
    } else if (strcmp(el, "ellipse") == 0) {
        s->type = LP_GEOM_ELLIPSE;
        s->u.ellipse.center = (lp_geom_point){num_attr(attrs, "cx", &bad), num_attr(attrs, "cy", &bad)};
        s->u.ellipse.radius = (lp_geom_point){num_attr(attrs, "rx", &bad), num_attr(attrs, "ry", &bad)};
        const char *rot = imp_xml_attr(attrs, "rotation");
        s->u.ellipse.angle = rot ? num_attr(attrs, "rotation", &bad) * M_PI / 180.0 : 0;
        if (!bad && !isfinite(s->u.ellipse.angle))
            return too_turned(x, attrs, oom);
    } else if (strcmp(el, "polygon") == 0 || strcmp(el, "polyline") == 0 || strcmp(el, "points") == 0) {
        const char *text = imp_xml_attr(attrs, "points");
        size_t n = 0;
        lp_geom_point *pts = text ? parse_points(x->a, text, &n, oom) : NULL;
        if (!pts)
            return *oom ? "" : "has no points=\"x,y;x,y;…\"";
        lp_geom_path *path = lp_arena_alloc(x->a, sizeof *path);
        if (!path) {
            *oom = true;
            return "";
        }
        *path = (lp_geom_path){pts, n};
        if (el[4] == 'g') {
            s->type = LP_GEOM_POLYGON;
            s->u.polygon = (lp_geom_polygon){path, 1};
        } else if (el[4] == 'l') {
            s->type = LP_GEOM_LINE;
            s->u.line = *path;
        } else {
            if (n != 1)
                return "holds more than one point (read as keypoints one at a time only in images)";
            s->type = LP_GEOM_KEYPOINT;
            s->u.keypoint = pts[0];
        }
    } else if (strcmp(el, "cuboid") == 0) {
        s->type = LP_GEOM_CUBOID;
        s->u.cuboid.front = face_box(attrs, 0, &bad);
        s->u.cuboid.back = face_box(attrs, 1, &bad);
    } else if (strcmp(el, "mask") == 0) {
        return "is read in images only, not in tracks";
    } else {
        return "has no reader (not an element of CVAT for images or video 1.1)";
    }
    return bad ? lp_arena_printf(x->a, "has no number in %s", bad) : NULL;
}


/* A new annotation of the image from an element. */
static lp_ann *new_ann(imp_xml *x, cfile *f, const char **attrs, int type, const char *where)
{
    lp_ann *ann = imp_push(x->a, (void **)&f->it.anns, &f->it.nanns, &f->cap_anns, sizeof *ann);
    const char **w = imp_push(x->a, (void **)&f->where, &f->nwhere, &f->cap_where, sizeof *w);
    const char *label = imp_xml_attr(attrs, "label"), *src = imp_xml_attr(attrs, "source");
    const char *z = imp_xml_attr(attrs, "z_order");
    if (!ann || !w || !(ann->class_name = lp_arena_strdup(x->a, label ? label : ""))) {
        nomem(x);
        return NULL;
    }
    *w = where;
    ann->type = type;
    ann->body.geom.type = type;
    ann->body.data = "{}";
    ann->body.data_len = 2;
    if (src && strcmp(src, "auto") == 0) {
        ann->has_source = true;
        ann->source = LP_ANN_MODEL;
    }
    if (z && *z && strcmp(z, "0") != 0) {
        ann->has_z = true;
        ann->z = (int32_t)strtol(z, NULL, 10);
    }
    return ann;
}

static int drop(imp_xml *x, const char *where, const char *el, const char *why)
{
    return imp_problem(x->r, x->file, where, LP_IMP_SKIP_ANNOTATION, x->err, "<%s> %s; it was not read", el, why);
}

/* Checks a shape with the geometry library: *why (new in x->a) says what
 * is wrong, or stays NULL. */
static void check_shape(imp_xml *x, const lp_geom_shape *s, const char **why)
{
    lp_error ge;
    lp_error_clear(&ge);
    if (lp_geom_validate(s, &x->r->opt.lim->geom, &ge) != 0)
        *why = lp_arena_strdup(x->a, ge.nfields ? ge.fields[0].message : ge.message);
}

/* An attribute as an integer in 0..max; *bad names the first that is not. */
static uint32_t int_attr(const char **attrs, const char *name, uint32_t max, const char **bad)
{
    double d = num_attr(attrs, name, bad);
    if (d < 0 || d > max || d != floor(d)) {
        if (!*bad)
            *bad = name;
        return 0;
    }
    return (uint32_t)d;
}

/* Walks CVAT's RLE text ("3, 5, 2, …": background first) over a box at
 * left, top, w pixels wide in an image W wide, setting its foreground
 * pixels to label in labels (NULL: only counts). The pixels the runs cover,
 * or -1 when the text is not run lengths (or they pass 2^40). */
static int64_t mask_runs(const char *rle, uint32_t left, uint32_t top, uint32_t w, uint32_t W, uint8_t *labels,
                         uint8_t label)
{
    uint64_t i = 0;
    bool fg = false;
    for (const char *p = rle;; fg = !fg) {
        char *end;
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            return (int64_t)i;
        unsigned long long run = strtoull(p, &end, 10);
        if (end == p || (*end && *end != ',' && *end != ' ') || run > ((uint64_t)1 << 40) - i)
            return -1;
        for (unsigned long long k = 0; labels && fg && k < run; k++) {
            uint64_t j = i + k;
            labels[(size_t)(top + j / w) * W + left + j % w] = label;
        }
        i += run;
        p = end;
    }
}

/* A <mask>: its pixels into the image's label map (over the masks before
 * it), and a mask annotation with a new id. */
static int image_mask(imp_xml *x, cfile *f, const char **attrs, const char *where)
{
    const char *bad = NULL, *rle = imp_xml_attr(attrs, "rle");
    if (f->slot.width < 1 || f->slot.height < 1)
        return drop(x, where, "mask", "is in an <image> without width and height");
    if (f->nmasks == 255)
        return drop(x, where, "mask", "is past the 255 masks an image holds (its raster layer's labels)");
    uint32_t W = (uint32_t)f->slot.width, H = (uint32_t)f->slot.height;
    uint32_t left = int_attr(attrs, "left", W - 1, &bad), top = int_attr(attrs, "top", H - 1, &bad);
    uint32_t w = int_attr(attrs, "width", W, &bad), h = int_attr(attrs, "height", H, &bad);
    if (bad)
        return drop(x, where, "mask", lp_arena_printf(x->a, "has no %s within the image", bad));
    if (w == 0 || h == 0 || left + w > W || top + h > H)
        return drop(x, where, "mask", "has a box outside the image");
    if (!rle)
        return drop(x, where, "mask", "has no rle=\"…\"");
    if (!f->labels && (!(f->labels = lp_arena_calloc(x->a, (size_t)W * H, 1)) ||
                       !(f->mask_ids = lp_arena_alloc(x->a, 255 * sizeof *f->mask_ids))))
        return nomem(x);
    /* check the runs first, so that a bad mask paints nothing */
    uint8_t label = (uint8_t)(f->nmasks + 1);
    int64_t total = mask_runs(rle, left, top, w, W, NULL, label);
    if (total < 0)
        return drop(x, where, "mask", "has an rle that is not run lengths (\"3, 5, 2, …\")");
    if ((uint64_t)total != (uint64_t)w * h)
        return drop(x, where, "mask", lp_arena_printf(x->a, "has runs of %lld pixels in total, not its box's %llu",
                                                      (long long)total, (unsigned long long)w * h));
    mask_runs(rle, left, top, w, W, f->labels, label);
    lp_ann *ann = new_ann(x, f, attrs, LP_GEOM_MASK, where);
    if (!ann)
        return -1;
    lp_uuid_v4(f->mask_ids[f->nmasks]);
    ann->id = f->mask_ids[f->nmasks];
    ann->body.geom.shape.type = LP_GEOM_MASK;
    ann->body.geom.raw = "{}"; /* as Darwin's {"mask": {}}: the pixels are the raster layer's */
    ann->body.geom.raw_len = 2;
    if (f->nmasks++ == 0)
        f->layer_class = ann->class_name;
    return 0;
}

/* The image's raster layer, once its masks are read. */
static int image_layer(imp_xml *x, cfile *f)
{
    lp_buf b;
    lp_buf_init(&b, (size_t)f->slot.width * (size_t)f->slot.height * 24 + (1u << 20));
    int rc = imp_raster_text(&b, f->layer_class, f->labels, (uint32_t)f->slot.width, (uint32_t)f->slot.height,
                             (const char (*)[37])f->mask_ids, f->nmasks) != 0
                 ? nomem(x)
                 : imp_darwin_ann(x->r, x->file, "raster layer", &b, LP_IMP_SKIP_ANNOTATION, &f->it, &f->cap_anns,
                                  x->a, x->err);
    lp_buf_free(&b);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    const char **w = imp_push(x->a, (void **)&f->where, &f->nwhere, &f->cap_where, sizeof *w);
    if (!w)
        return nomem(x);
    *w = "raster layer";
    return 0;
}

static int image_shape(imp_xml *x, cfile *f, const char *el, const char **attrs)
{
    const char *where = imp_xml_where(x), *label = imp_xml_attr(attrs, "label");
    if (!where)
        return nomem(x);
    if (!label || !*label)
        return drop(x, where, el, "has no label: no class");
    if (strcmp(el, "tag") == 0) {
        lp_ann *ann = new_ann(x, f, attrs, LP_GEOM_TAG, where);
        if (ann)
            ann->body.geom.shape.type = LP_GEOM_TAG;
        return ann ? 0 : -1;
    }
    if (strcmp(el, "mask") == 0)
        return image_mask(x, f, attrs, where);
    if (strcmp(el, "skeleton") == 0) {
        if (!(f->skel = new_ann(x, f, attrs, LP_GEOM_SKELETON, where)))
            return -1;
        f->skel->body.geom.shape.type = LP_GEOM_SKELETON;
        f->skel_cap = 0;
        return 0;
    }
    lp_geom_shape s;
    bool oom = false;
    const char *why = shape_of(x, el, attrs, &s, &oom);
    if (oom)
        return nomem(x);
    if (!why)
        check_shape(x, &s, &why);
    if (why)
        return drop(x, where, el, why);
    lp_ann *ann = new_ann(x, f, attrs, (int)s.type, where);
    if (!ann)
        return -1;
    ann->body.geom.shape = s;
    return 0;
}

/* A <points> node of the <skeleton> being read. */
static int skeleton_node(imp_xml *x, cfile *f, const char **attrs)
{
    lp_geom_skeleton *sk = &f->skel->body.geom.shape.u.skeleton;
    const char *text = imp_xml_attr(attrs, "points"), *label = imp_xml_attr(attrs, "label");
    const char *occ = imp_xml_attr(attrs, "occluded");
    size_t n = 0;
    bool oom = false;
    lp_geom_point *p = text ? parse_points(x->a, text, &n, &oom) : NULL;
    if (oom)
        return nomem(x);
    if (!p || n != 1)
        return imp_problem(x->r, x->file, imp_xml_where(x), LP_IMP_NOTE, x->err,
                           "a skeleton node without one point (points=\"x,y\") was not read");
    lp_geom_skeleton_node *node =
        imp_push(x->a, (void **)&sk->nodes, &sk->nnodes, &f->skel_cap, sizeof *node);
    if (!node || (label && !(node->name = lp_arena_strdup(x->a, label))))
        return nomem(x);
    node->x = p[0].x;
    node->y = p[0].y;
    node->occluded = occ && strcmp(occ, "1") == 0;
    return 0;
}

/* One shape of the <track> being read. */
static int track_shape(imp_xml *x, cfile *f, const char *el, const char **attrs)
{
    const char *fr = imp_xml_attr(attrs, "frame"), *out = imp_xml_attr(attrs, "outside");
    const char *key = imp_xml_attr(attrs, "keyframe");
    char *end;
    long long frame = fr ? strtoll(fr, &end, 10) : -1;
    if (!fr || *end || frame < 0 || frame > x->r->opt.lim->max_frame)
        return imp_problem(x->r, x->file, imp_xml_where(x), LP_IMP_NOTE, x->err,
                           "a track's <%s> without a frame number in range was not read", el);
    tshape *t = imp_push(x->a, (void **)&f->shapes, &f->nshapes, &f->cap_shapes, sizeof *t);
    if (!t)
        return nomem(x);
    t->frame = frame;
    t->outside = out && strcmp(out, "1") == 0;
    t->keyframe = !key || strcmp(key, "1") == 0;
    t->body.geom.type = -1;
    t->body.data = "{}";
    t->body.data_len = 2;
    if (t->outside || !t->keyframe)
        return 0;
    lp_geom_shape s;
    bool oom = false;
    const char *why = shape_of(x, el, attrs, &s, &oom);
    if (oom)
        return nomem(x);
    if (!why)
        check_shape(x, &s, &why);
    if (why) { /* the frame still says the track is visible */
        t->keyframe = false;
        return imp_problem(x->r, x->file, imp_xml_where(x), LP_IMP_NOTE, x->err,
                           "<%s> of frame %lld %s; the keyframe was not read", el, frame, why);
    }
    t->body.geom.type = (int)s.type;
    t->body.geom.shape = s;
    return 0;
}

static int by_frame(const void *p, const void *q)
{
    const tshape *a = p, *b = q;
    return a->frame < b->frame ? -1 : a->frame > b->frame;
}

/* The track read: a video annotation, or a problem. */
static int track_end(imp_xml *x, cfile *f)
{
    if (f->nshapes) /* qsort takes no NULL, even for nothing */
        qsort(f->shapes, f->nshapes, sizeof *f->shapes, by_frame);
    size_t nkey = 0, nr = 0;
    int type = -1;
    bool mixed = false, turned = false;
    for (size_t i = 0; i < f->nshapes; i++)
        turned |= f->shapes[i].body.geom.type == LP_GEOM_ROTATED_BOX;
    for (size_t i = 0; i < f->nshapes && turned; i++) {
        /* a turning box's keyframes at rotation 0 are rotated boxes too */
        lp_ann_geom *g = &f->shapes[i].body.geom;
        if (g->type == LP_GEOM_BOUNDING_BOX) {
            lp_geom_bbox b = g->shape.u.bbox;
            g->type = LP_GEOM_ROTATED_BOX;
            g->shape = (lp_geom_shape){.type = LP_GEOM_ROTATED_BOX, .u.rbox = {b.x, b.y, b.w, b.h, 0}};
        }
    }
    for (size_t i = 0; i < f->nshapes; i++)
        if (f->shapes[i].keyframe && !f->shapes[i].outside) {
            mixed |= type >= 0 && f->shapes[i].body.geom.type != type;
            type = f->shapes[i].body.geom.type;
            nkey++;
        }
    if (!f->track_label || nkey == 0 || mixed)
        return imp_problem(x->r, x->file, f->track_where, LP_IMP_SKIP_ANNOTATION, x->err,
                           "<track> %s; it was not read",
                           !f->track_label ? "has no label: no class"
                           : mixed         ? "holds shapes of more than one type"
                                           : "has no visible keyframe");
    lp_ann *ann = imp_push(x->a, (void **)&f->tracks, &f->ntracks, &f->cap_tracks, sizeof *ann);
    const char **w = imp_push(x->a, (void **)&f->track_wheres, &f->ntw, &f->cap_tw, sizeof *w);
    lp_geom_frame_range *ranges = lp_arena_calloc(x->a, f->nshapes + 1, sizeof *ranges);
    lp_ann_frame *frames = lp_arena_calloc(x->a, nkey, sizeof *frames);
    if (!ann || !w || !ranges || !frames)
        return nomem(x);
    *w = f->track_where;
    size_t k = 0;
    bool open = false;
    int64_t last = -1;
    for (size_t i = 0; i < f->nshapes; i++) {
        const tshape *t = &f->shapes[i];
        if (t->frame == last && k && frames[k - 1].frame == t->frame)
            continue; /* one shape per frame: the first wins */
        last = t->frame;
        if (!t->outside && !open) {
            ranges[nr].start = t->frame;
            open = true;
        } else if (t->outside && open) {
            ranges[nr++].end = t->frame;
            open = false;
        }
        if (t->keyframe && !t->outside)
            frames[k++] = (lp_ann_frame){t->frame, true, t->body};
    }
    if (open) {
        int64_t endf = f->task_size > last ? f->task_size : last + 1;
        ranges[nr++].end = endf;
    }
    lp_geom_keyframe *kf = lp_arena_calloc(x->a, k + 1, sizeof *kf);
    if (!kf)
        return nomem(x);
    for (size_t i = 0; i < k; i++)
        kf[i] = (lp_geom_keyframe){frames[i].frame, frames[i].body.geom.shape};
    lp_geom_track tr = {.keyframes = kf, .nkeyframes = k, .ranges = ranges, .nranges = nr, .interpolate = true};
    lp_error te;
    lp_error_clear(&te);
    if (lp_geom_track_check(&tr, &te) != 0) {
        f->ntracks--;
        f->ntw--;
        return imp_problem(x->r, x->file, f->track_where, LP_IMP_SKIP_ANNOTATION, x->err,
                           "<track> does not make a track (%s); it was not read",
                           te.nfields ? te.fields[0].message : te.message);
    }
    ann->class_name = f->track_label;
    ann->type = type;
    ann->body.geom.type = -1;
    ann->body.data = "{}";
    ann->body.data_len = 2;
    ann->video = true;
    ann->frames = frames;
    ann->nframes = k;
    ann->ranges = ranges;
    ann->nranges = nr;
    ann->ranges_given = true;
    ann->interpolated = true;
    if (f->track_auto) {
        ann->has_source = true;
        ann->source = LP_ANN_MODEL;
    }
    return 0;
}

static int cvat_start(imp_xml *x, const char **attrs)
{
    cfile *f = x->ud;
    const char *p = x->path;
    if (x->depth == 1) {
        f->root_ok = strcmp(p, "/annotations") == 0;
        return 0;
    }
    if (!f->root_ok)
        return 0;
    if (strcmp(p, "/annotations/image") == 0) {
        const char *name = imp_xml_attr(attrs, "name"), *bad = NULL;
        double w = imp_xml_attr(attrs, "width") ? num_attr(attrs, "width", &bad) : -1;
        double h = imp_xml_attr(attrs, "height") ? num_attr(attrs, "height", &bad) : -1;
        memset(&f->it, 0, sizeof f->it);
        f->cap_anns = f->nwhere = f->cap_where = 0;
        f->where = NULL;
        f->labels = NULL;
        f->nmasks = 0;
        f->in_image = name && *name;
        if (!f->in_image)
            return imp_problem(x->r, x->file, imp_xml_where(x), LP_IMP_SKIP_ITEM, x->err,
                               "<image> has no name; it was not read");
        f->it.where = imp_xml_where(x);
        f->it.path = imp_folder(x->a, name, NULL);
        const char *base = strrchr(name, '/');
        f->it.name = lp_arena_strdup(x->a, base ? base + 1 : name);
        f->slot = (lp_imp_slot){.name = "0",
                                .type = "image",
                                .width = !bad && w >= 1 && w <= 1e9 && w == floor(w) ? (int64_t)w : -1,
                                .height = !bad && h >= 1 && h <= 1e9 && h == floor(h) ? (int64_t)h : -1,
                                .frame_count = -1};
        return f->it.where && f->it.path && f->it.name ? 0 : nomem(x);
    }
    if (f->in_image && x->depth == 3)
        return image_shape(x, f, p + strlen("/annotations/image/"), attrs);
    if (f->in_image && x->depth == 4 && f->skel && strcmp(p, "/annotations/image/skeleton/points") == 0)
        return skeleton_node(x, f, attrs);
    if (strcmp(p, "/annotations/track") == 0) {
        const char *label = imp_xml_attr(attrs, "label"), *src = imp_xml_attr(attrs, "source");
        f->video = true;
        f->track_label = label && *label ? lp_arena_strdup(x->a, label) : NULL;
        f->track_auto = src && strcmp(src, "auto") == 0;
        f->track_where = imp_xml_where(x);
        f->nshapes = f->cap_shapes = 0;
        f->shapes = NULL;
        return f->track_where && (!label || !*label || f->track_label) ? 0 : nomem(x);
    }
    if (x->depth == 3 && strncmp(p, "/annotations/track/", 19) == 0)
        return track_shape(x, f, p + 19, attrs);
    return 0;
}

static int cvat_end_el(imp_xml *x)
{
    cfile *f = x->ud;
    const char *p = x->path;
    if (!f->root_ok)
        return 0;
    if (strcmp(p, "/annotations/image/skeleton") == 0 && f->skel) {
        lp_ann *sk = f->skel;
        f->skel = NULL;
        const char *why = NULL;
        check_shape(x, &sk->body.geom.shape, &why);
        if (why) { /* left out: the last annotation pushed is this one */
            f->it.nanns--;
            f->nwhere--;
            return drop(x, f->where[f->nwhere], "skeleton", why);
        }
        return 0;
    }
    if (strcmp(p, "/annotations/image") == 0 && f->in_image) {
        f->in_image = false;
        if (f->nmasks && image_layer(x, f) != 0)
            return -1;
        f->it.file = x->file;
        f->it.slots = &f->slot;
        f->it.nslots = 1;
        f->it.ann_where = f->where;
        f->it.done = imp_xml_done(x);
        return imp_item(x->r, &f->it, x->err);
    }
    if (strcmp(p, "/annotations/track") == 0)
        return track_end(x, f);
    if (strcmp(p, "/annotations/meta/task/name") == 0 && x->ntext && !x->text_long)
        return (f->task_name = lp_arena_strdup(x->a, x->text)) ? 0 : nomem(x);
    if (strcmp(p, "/annotations/meta/task/source") == 0 && x->ntext && !x->text_long)
        return (f->task_source = lp_arena_strdup(x->a, x->text)) ? 0 : nomem(x);
    if (strcmp(p, "/annotations/meta/task/size") == 0) {
        double v;
        f->task_size = imp_xml_number(x, &v) == 0 && v >= 1 && v <= 1e9 ? (int64_t)v : -1;
    }
    return 0;
}

static int cvat_file(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a, lp_error *err)
{
    cfile f;
    memset(&f, 0, sizeof f);
    f.task_size = -1;
    imp_xml x = {.r = r, .file = name, .a = a, .err = err, .start = cvat_start, .end = cvat_end_el, .ud = &f};
    int rc = imp_xml_read(&x, data, len);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (!f.root_ok)
        return imp_problem(r, name, "", LP_IMP_SKIP_FILE, err,
                           "not a CVAT XML file (the root element is not <annotations>); the file was not read");
    if (!f.video)
        return 0;
    /* the video item: the task's name (or source) in the file's folder */
    const char *vname = f.task_name ? f.task_name : f.task_source;
    if (!vname)
        return imp_problem(r, name, "meta.task", LP_IMP_SKIP_ITEM, err,
                           "a CVAT video file without <name> or <source> in its task names no item; it was not read");
    memset(&f.it, 0, sizeof f.it);
    f.slot = (lp_imp_slot){.name = "0", .type = "video", .width = -1, .height = -1, .frame_count = f.task_size};
    f.it = (lp_imp_item){.file = name, .where = "", .path = imp_folder(a, name, "videos"), .name = vname,
                         .slots = &f.slot, .nslots = 1, .anns = f.tracks, .nanns = f.ntracks,
                         .ann_where = f.track_wheres};
    if (!f.it.path)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", name);
    f.it.done = 1;
    return imp_item(r, &f.it, err);
}

const lp_imp_ops lp_imp_cvat_ops = {"cvat", NULL, cvat_role, cvat_file, NULL, NULL};
