/* YOLO out, in the Ultralytics layout: data.yaml and labels/<path>/<stem>.txt
 * beside images/<path>/<name> (the images themselves are not part of the
 * label export). Four variants:
 *   detect   "class cx cy w h" per shape with an extent (boxes of polygons,
 *            ellipses, cuboids, skeletons, masks);
 *   segment  "class x1 y1 x2 y2 …" per polygon path (boxes, rotated boxes
 *            and ellipses as polygons);
 *   obb      "class x1 y1 x2 y2 x3 y3 x4 y4", the four corners of an
 *            oriented box: a rotated_box's (lp_geom_rbox_corners' order),
 *            an axis-aligned box's, and the extent of the other shapes
 *            with one, as detect writes them;
 *   pose     "class cx cy w h x1 y1 v1 …" per skeleton, padded to kpt_shape;
 *            data.yaml names each skeleton class's nodes (kpt_names) and
 *            edges (kpt_edges), which the YOLO reader reads back.
 * Every number is normalized by the image's width or height and clipped to
 * [0, 1] (docs/FORMATS.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_int.h"
#include "loupe/formats/json_text.h"
#include "loupe/geometry/measure.h"

typedef enum { DETECT = 0, SEGMENT, POSE, OBB } yolo_task;

typedef struct yolo {
    yolo_task task;
    size_t kpts;       /* pose: nodes per line (the largest skeleton) */
} yolo;

static const char *const VARIANTS[] = {"detect", "segment", "pose", "obb", NULL};

static int yolo_begin(lp_fmt_writer *w, lp_error *err)
{
    yolo *y = calloc(1, sizeof *y);
    if (!y)
        return lp_error_set(err, LP_E_NOMEM, "out of memory starting a YOLO export");
    w->state = y;
    y->task = strcmp(w->opt.variant, "segment") == 0 ? SEGMENT
              : strcmp(w->opt.variant, "pose") == 0  ? POSE
              : strcmp(w->opt.variant, "obb") == 0   ? OBB
                                                     : DETECT;
    for (size_t i = 0; i < w->classes->n; i++)
        if (w->classes->v[i].nnodes > y->kpts)
            y->kpts = w->classes->v[i].nnodes;
    return 0;
}

static double clip01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static int put_norm(lp_buf *b, double v, double size) { return lp_buf_puts(b, " ") || fmt_num(b, clip01(v / size)); }

/* " cx cy w h" of a box clipped to the image. */
static int put_box(lp_buf *b, const lp_geom_bbox *x, double W, double H)
{
    double x0 = x->x < 0 ? 0 : x->x, y0 = x->y < 0 ? 0 : x->y;
    double x1 = x->x + x->w > W ? W : x->x + x->w, y1 = x->y + x->h > H ? H : x->y + x->h;
    if (x1 < x0)
        x1 = x0;
    if (y1 < y0)
        y1 = y0;
    return put_norm(b, (x0 + x1) / 2, W) || put_norm(b, (y0 + y1) / 2, H) || put_norm(b, x1 - x0, W) ||
           put_norm(b, y1 - y0, H);
}

static int put_path(lp_buf *b, uint32_t cls, const lp_geom_path *p, double W, double H)
{
    if (lp_buf_printf(b, "%u", cls))
        return -1;
    for (size_t k = 0; k < p->npoints; k++)
        if (put_norm(b, p->points[k].x, W) || put_norm(b, p->points[k].y, H))
            return -1;
    return lp_buf_puts(b, "\n");
}

/* Writes the lines of one annotation; 1 when the variant cannot hold it. */
static int write_ann(lp_fmt_writer *w, yolo *y, const lp_fmt_ann *ann, const fmt_raster *r, double W, double H,
                     lp_arena *a, lp_error *err)
{
    const lp_ann_geom *g = &ann->geom;
    lp_buf *b = &w->buf;
    lp_geom_bbox box;
    int rc;
    if (!ann->cls || ann->row.video)
        return 1;
    uint32_t cls = ann->cls->index;
    if (y->task == OBB && g->type == LP_GEOM_ROTATED_BOX) {
        lp_geom_polygon poly;
        if (fmt_rbox_polygon(&g->shape.u.rbox, a, &poly, err) != 0)
            return -1;
        if (put_path(b, cls, &poly.paths[0], W, H))
            return fmt_nomem(w, err);
        FMT_WRITTEN(w, g->type);
        return 0;
    }
    if (y->task == DETECT || y->task == OBB) {
        if ((rc = fmt_ann_bbox(ann, g, r, a, &box, err)) != 0)
            return rc;
        if (g->type == LP_GEOM_KEYPOINT || g->type == LP_GEOM_LINE)
            return 1;
        if (y->task == OBB) {
            lp_geom_polygon poly;
            if (fmt_rbox_polygon(&(lp_geom_rbox){box.x, box.y, box.w, box.h, 0}, a, &poly, err) != 0)
                return -1;
            if (put_path(b, cls, &poly.paths[0], W, H))
                return fmt_nomem(w, err);
        } else if (lp_buf_printf(b, "%u", cls) || put_box(b, &box, W, H) || lp_buf_puts(b, "\n")) {
            return fmt_nomem(w, err);
        }
        if (g->type == LP_GEOM_BOUNDING_BOX)
            FMT_WRITTEN(w, g->type);
        else
            FMT_CONVERTED(w, g->type);
        return 0;
    }
    if (y->task == SEGMENT) {
        lp_geom_polygon poly;
        if (g->type == LP_GEOM_POLYGON) {
            poly = g->shape.u.polygon;
        } else if (g->type == LP_GEOM_ELLIPSE) {
            if (fmt_ellipse_polygon(&g->shape.u.ellipse, a, &poly, err) != 0)
                return -1;
        } else if (g->type == LP_GEOM_ROTATED_BOX) {
            if (fmt_rbox_polygon(&g->shape.u.rbox, a, &poly, err) != 0)
                return -1;
        } else if (g->type == LP_GEOM_BOUNDING_BOX) {
            const lp_geom_bbox *x = &g->shape.u.bbox;
            lp_geom_point *pts = lp_arena_alloc(a, 4 * sizeof *pts);
            lp_geom_path *path = lp_arena_alloc(a, sizeof *path);
            if (!pts || !path)
                return lp_error_set(err, LP_E_NOMEM, "out of memory writing a YOLO label");
            pts[0] = (lp_geom_point){x->x, x->y};
            pts[1] = (lp_geom_point){x->x + x->w, x->y};
            pts[2] = (lp_geom_point){x->x + x->w, x->y + x->h};
            pts[3] = (lp_geom_point){x->x, x->y + x->h};
            *path = (lp_geom_path){pts, 4};
            poly = (lp_geom_polygon){path, 1};
        } else {
            return 1;
        }
        for (size_t i = 0; i < poly.npaths; i++)
            if (put_path(b, cls, &poly.paths[i], W, H))
                return fmt_nomem(w, err);
        if (g->type == LP_GEOM_POLYGON && poly.npaths == 1)
            FMT_WRITTEN(w, g->type);
        else
            FMT_CONVERTED(w, g->type); /* holes become paths of their own */
        return 0;
    }
    if (g->type != LP_GEOM_SKELETON)
        return 1;
    const lp_geom_skeleton *s = &g->shape.u.skeleton;
    if (lp_geom_shape_bbox(&g->shape, &box, err) != 0)
        return -1;
    if (lp_buf_printf(b, "%u", cls) || put_box(b, &box, W, H))
        return fmt_nomem(w, err);
    for (size_t i = 0; i < y->kpts; i++) {
        const lp_geom_skeleton_node *node = NULL;
        const lp_fmt_class *c = ann->cls;
        if (c->nodes && i < c->nnodes) {
            for (size_t k = 0; !node && k < s->nnodes; k++)
                if (s->nodes[k].name && strcmp(s->nodes[k].name, c->nodes[i]) == 0)
                    node = &s->nodes[k];
        }
        if (!node && i < s->nnodes && (!c->nodes || !s->nodes[i].name))
            node = &s->nodes[i];
        if (!node ? lp_buf_puts(b, " 0 0 0")
                  : put_norm(b, node->x, W) || put_norm(b, node->y, H) ||
                        lp_buf_printf(b, " %d", node->occluded ? 1 : 2))
            return fmt_nomem(w, err);
    }
    if (lp_buf_puts(b, "\n"))
        return fmt_nomem(w, err);
    FMT_WRITTEN(w, g->type);
    return 0;
}

static int yolo_item(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err)
{
    yolo *y = w->state;
    if (!fmt_image_sized(it))
        return fmt_skip_item(w, b);
    fmt_raster r;
    char *name = fmt_file_name(a, "labels", it, ".txt");
    if (!name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory naming a YOLO label file");
    if (fmt_raster_load(it, b, a, &r, err) != 0 || fmt_open(w, name, true, err) != 0)
        return -1;
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i].row.type == LP_ANN_RASTER_LAYER)
            continue;
        int rc = write_ann(w, y, &b->v[i], &r, (double)it->width, (double)it->height, a, err);
        if (rc < 0)
            return -1;
        if (rc > 0)
            FMT_DROPPED(w, b->v[i].row.type);
    }
    w->stats.items++;
    return 0;
}

/* kpt_names and kpt_edges: each skeleton class's nodes (in the order its
 * keypoints are written) and edges, by class id. */
static int put_skeletons(lp_buf *b, const lp_fmt_classes *cls)
{
    for (int edges = 0; edges <= 1; edges++) {
        bool any = false;
        for (uint32_t i = 0; i < cls->n; i++) {
            const lp_fmt_class *c = lp_fmt_class_at(cls, i);
            if (!c->nodes || !c->nnodes)
                continue;
            if (!any && lp_buf_puts(b, edges ? "kpt_edges:\n" : "kpt_names:\n"))
                return -1;
            any = true;
            if (lp_buf_printf(b, "  %u: [", i))
                return -1;
            for (size_t k = 0; k < (edges ? c->nedges : c->nnodes); k++) {
                if (k && lp_buf_puts(b, ", "))
                    return -1;
                if (edges ? lp_buf_printf(b, "[%u, %u]", c->edges[2 * k], c->edges[2 * k + 1])
                          : lp_json_write_string(b, c->nodes[k], strlen(c->nodes[k])))
                    return -1;
            }
            if (lp_buf_puts(b, "]\n"))
                return -1;
        }
    }
    return 0;
}

static int yolo_end(lp_fmt_writer *w, lp_error *err)
{
    yolo *y = w->state;
    lp_buf *b = &w->buf;
    if (fmt_open(w, "data.yaml", true, err) != 0)
        return -1;
    if (lp_buf_printf(b, "# Loupe export: YOLO labels (Ultralytics layout); put the images under images/\n"
                         "path: .\ntrain: images\nval: images\ntask: %s\n",
                      w->opt.variant))
        return fmt_nomem(w, err);
    if (y->task == POSE && lp_buf_printf(b, "kpt_shape: [%zu, 3]\n", y->kpts ? y->kpts : 1))
        return fmt_nomem(w, err);
    if (lp_buf_printf(b, "nc: %zu\nnames:\n", w->classes->n))
        return fmt_nomem(w, err);
    for (uint32_t i = 0; i < w->classes->n; i++) {
        const lp_fmt_class *c = lp_fmt_class_at(w->classes, i);
        /* a JSON string is a valid YAML double-quoted scalar */
        if (lp_buf_printf(b, "  %u: ", i) || lp_json_write_string(b, c->name, strlen(c->name)) ||
            lp_buf_puts(b, "\n"))
            return fmt_nomem(w, err);
    }
    return y->task == POSE && put_skeletons(b, w->classes) ? fmt_nomem(w, err) : 0;
}

static void yolo_free(lp_fmt_writer *w) { free(w->state); }

const lp_fmt_ops lp_fmt_yolo_ops = {"yolo", VARIANTS, yolo_begin, yolo_item, yolo_end, yolo_free, true};
