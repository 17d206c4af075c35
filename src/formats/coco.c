/* COCO (instances and keypoints) out: one JSON file, annotations/instances.json,
 * written as a stream. Its "annotations" go straight out item by item; the
 * "images" entries wait in a spool file and follow the last annotation
 * (JSON objects are unordered). Conversions are in docs/FORMATS.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_int.h"
#include "loupe/formats/json_text.h"
#include "loupe/geometry/measure.h"
#include "loupe/geometry/rle.h"

typedef struct coco {
    FILE *images;
    uint64_t image_id, ann_id;
    lp_buf entry;
} coco;

#define COCO_FILE "annotations/instances.json"

static int put_str(lp_buf *b, const char *s) { return lp_json_write_string(b, s, strlen(s)); }

static int write_category(lp_buf *b, const lp_fmt_class *c)
{
    if (lp_buf_printf(b, "%s{\"id\":%u,\"name\":", c->index ? "," : "", c->index + 1) || put_str(b, c->name) ||
        lp_buf_puts(b, ",\"supercategory\":\"\""))
        return -1;
    bool keypoint_only = !c->nodes && (c->types & (1u << LP_GEOM_KEYPOINT));
    if (c->nodes || keypoint_only) {
        if (lp_buf_puts(b, ",\"keypoints\":["))
            return -1;
        if (keypoint_only && put_str(b, c->name))
            return -1;
        for (size_t i = 0; i < c->nnodes; i++)
            if ((i && lp_buf_puts(b, ",")) || put_str(b, c->nodes[i]))
                return -1;
        if (lp_buf_puts(b, "],\"skeleton\":["))
            return -1;
        for (size_t i = 0; i < c->nedges; i++)
            if (lp_buf_printf(b, "%s[%u,%u]", i ? "," : "", c->edges[2 * i] + 1, c->edges[2 * i + 1] + 1))
                return -1;
        if (lp_buf_puts(b, "]"))
            return -1;
    }
    return lp_buf_puts(b, "}");
}

static int coco_begin(lp_fmt_writer *w, lp_error *err)
{
    coco *c = calloc(1, sizeof *c);
    if (!c)
        return lp_error_set(err, LP_E_NOMEM, "out of memory starting a COCO export");
    w->state = c;
    lp_buf_init(&c->entry, 1u << 20);
    if (!(c->images = tmpfile()))
        return lp_error_set(err, LP_E_IO, "could not create the spool file of a COCO export: %s", strerror(errno));
    if (fmt_open(w, COCO_FILE, true, err) != 0)
        return -1;
    lp_buf *b = &w->buf;
    if (lp_buf_puts(b, "{\"info\":{\"description\":\"Loupe export\",\"version\":") ||
        put_str(b, w->opt.schema_version) || lp_buf_puts(b, ",\"date_created\":") || put_str(b, w->opt.created) ||
        lp_buf_puts(b, "},\"licenses\":[],\"categories\":["))
        return fmt_nomem(w, err);
    for (uint32_t i = 0; i < w->classes->n; i++)
        if (write_category(b, lp_fmt_class_at(w->classes, i)) != 0)
            return fmt_nomem(w, err);
    if (lp_buf_puts(b, "],\"annotations\":["))
        return fmt_nomem(w, err);
    return 0;
}

static int put_bbox(lp_buf *b, const lp_geom_bbox *x)
{
    return lp_buf_puts(b, ",\"bbox\":[") || fmt_num(b, x->x) || lp_buf_puts(b, ",") || fmt_num(b, x->y) ||
                   lp_buf_puts(b, ",") || fmt_num(b, x->w) || lp_buf_puts(b, ",") || fmt_num(b, x->h) ||
                   lp_buf_puts(b, "]")
               ? -1
               : 0;
}

static int put_polygon(lp_buf *b, const lp_geom_polygon *p)
{
    if (lp_buf_puts(b, "\"segmentation\":["))
        return -1;
    for (size_t i = 0; i < p->npaths; i++) {
        if (lp_buf_puts(b, i ? ",[" : "["))
            return -1;
        for (size_t k = 0; k < p->paths[i].npoints; k++) {
            const lp_geom_point *q = &p->paths[i].points[k];
            if ((k && lp_buf_puts(b, ",")) || fmt_num(b, q->x) || lp_buf_puts(b, ",") || fmt_num(b, q->y))
                return -1;
        }
        if (lp_buf_puts(b, "]"))
            return -1;
    }
    return lp_buf_puts(b, "]");
}

/* A box as a polygon of its four corners. */
static int put_box_polygon(lp_buf *b, const lp_geom_bbox *x)
{
    lp_geom_point pts[4] = {{x->x, x->y}, {x->x + x->w, x->y}, {x->x + x->w, x->y + x->h}, {x->x, x->y + x->h}};
    lp_geom_path path = {pts, 4};
    lp_geom_polygon p = {&path, 1};
    return put_polygon(b, &p);
}

/* "keypoints":[x,y,v,…],"num_keypoints":n in the class's node order. */
static int put_skeleton(lp_buf *b, const lp_geom_skeleton *s, const lp_fmt_class *cls)
{
    size_t n = cls->nodes ? cls->nnodes : s->nnodes, visible = 0;
    if (lp_buf_puts(b, ",\"keypoints\":["))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const lp_geom_skeleton_node *node = NULL;
        if (!cls->nodes)
            node = &s->nodes[i];
        for (size_t k = 0; !node && k < s->nnodes; k++)
            if (s->nodes[k].name && strcmp(s->nodes[k].name, cls->nodes[i]) == 0)
                node = &s->nodes[k];
        if (!node && i < s->nnodes && !s->nodes[i].name)
            node = &s->nodes[i];
        if (i && lp_buf_puts(b, ","))
            return -1;
        if (!node) {
            if (lp_buf_puts(b, "0,0,0"))
                return -1;
            continue;
        }
        visible += !node->occluded;
        if (fmt_num(b, node->x) || lp_buf_puts(b, ",") || fmt_num(b, node->y) ||
            lp_buf_printf(b, ",%d", node->occluded ? 1 : 2))
            return -1;
    }
    return lp_buf_printf(b, "],\"num_keypoints\":%zu", visible);
}

/* Writes one annotation; 1 when the format cannot hold it. */
static int write_ann(lp_fmt_writer *w, coco *c, const lp_fmt_ann *ann, const fmt_raster *r, lp_arena *a,
                     lp_error *err)
{
    const lp_ann_geom *g = &ann->geom;
    lp_buf *b = &w->buf;
    lp_geom_bbox box = {0, 0, 0, 0};
    lp_geom_polygon poly;
    lp_geom_rle rle;
    double area = 0;
    int rc;
    size_t mark = b->len;

    if (!ann->cls)
        return 1;
    if (lp_buf_puts(b, c->ann_id ? ",{\"id\":" : "{\"id\":") || fmt_uint(b, c->ann_id + 1) ||
        lp_buf_puts(b, ",\"image_id\":") || fmt_uint(b, c->image_id) || lp_buf_puts(b, ",\"category_id\":") ||
        fmt_uint(b, ann->cls->index + 1u) || lp_buf_puts(b, ","))
        return fmt_nomem(w, err);
    switch (g->type) {
    case LP_GEOM_BOUNDING_BOX:
        box = g->shape.u.bbox;
        area = box.w * box.h;
        rc = put_box_polygon(b, &box);
        break;
    case LP_GEOM_ROTATED_BOX: {
        /* the 4 corners, the extent as bbox, the exact box under a key of its own */
        const lp_geom_rbox *rb = &g->shape.u.rbox;
        if (lp_geom_shape_bbox(&g->shape, &box, err) != 0 || fmt_rbox_polygon(rb, a, &poly, err) != 0)
            return -1;
        area = rb->w * rb->h;
        rc = put_polygon(b, &poly) || lp_buf_puts(b, ",\"loupe_rotated_box\":{\"x\":") || fmt_num(b, rb->x) ||
             lp_buf_puts(b, ",\"y\":") || fmt_num(b, rb->y) || lp_buf_puts(b, ",\"w\":") || fmt_num(b, rb->w) ||
             lp_buf_puts(b, ",\"h\":") || fmt_num(b, rb->h) || lp_buf_puts(b, ",\"angle\":") ||
             fmt_num(b, rb->angle) || lp_buf_puts(b, "}");
        break;
    }
    case LP_GEOM_CUBOID:
    case LP_GEOM_POLYGON:
    case LP_GEOM_ELLIPSE:
        if (lp_geom_shape_bbox(&g->shape, &box, err) != 0)
            return -1;
        if (g->type == LP_GEOM_CUBOID) {
            area = box.w * box.h;
            rc = put_box_polygon(b, &box);
            break;
        }
        if (g->type == LP_GEOM_ELLIPSE && fmt_ellipse_polygon(&g->shape.u.ellipse, a, &poly, err) != 0)
            return -1;
        if (g->type == LP_GEOM_POLYGON)
            poly = g->shape.u.polygon;
        area = lp_geom_polygon_area(&poly);
        rc = put_polygon(b, &poly);
        break;
    case LP_GEOM_MASK: {
        if ((rc = fmt_mask_rle(r, ann, LP_GEOM_RLE_COLUMN_MAJOR, a, &rle, err)) != 0) {
            b->len = mark;
            return rc;
        }
        size_t len;
        char *s = lp_geom_rle_to_coco_string(&rle, a, &len, err);
        if (!s || lp_geom_rle_bbox(&rle, (uint64_t)rle.width * rle.height, &box, err) != 0)
            return -1;
        area = (double)lp_geom_rle_area(&rle);
        rc = lp_buf_printf(b, "\"segmentation\":{\"size\":[%u,%u],\"counts\":", rle.height, rle.width) ||
             lp_json_write_string(b, s, len) || lp_buf_puts(b, "}");
        break;
    }
    case LP_GEOM_SKELETON:
        if (lp_geom_shape_bbox(&g->shape, &box, err) != 0)
            return -1;
        area = box.w * box.h;
        rc = lp_buf_puts(b, "\"segmentation\":[]") || put_skeleton(b, &g->shape.u.skeleton, ann->cls);
        break;
    case LP_GEOM_KEYPOINT:
        box = (lp_geom_bbox){g->shape.u.keypoint.x, g->shape.u.keypoint.y, 0, 0};
        rc = lp_buf_puts(b, "\"segmentation\":[],\"keypoints\":[") || fmt_num(b, box.x) || lp_buf_puts(b, ",") ||
             fmt_num(b, box.y) || lp_buf_puts(b, ",2],\"num_keypoints\":1");
        break;
    default:
        b->len = mark;
        return 1;
    }
    if (rc || put_bbox(b, &box) || lp_buf_puts(b, ",\"area\":") || fmt_num(b, area) ||
        lp_buf_puts(b, ",\"iscrowd\":0,\"loupe_id\":\"") || lp_buf_puts(b, ann->row.id) ||
        lp_buf_puts(b, "\",\"loupe_type\":\"") || lp_buf_puts(b, lp_ann_type_name(g->type)) || lp_buf_puts(b, "\"}"))
        return fmt_nomem(w, err);
    c->ann_id++;
    if (g->type == LP_GEOM_ELLIPSE || g->type == LP_GEOM_CUBOID)
        FMT_CONVERTED(w, g->type);
    else
        FMT_WRITTEN(w, g->type);
    return 0;
}

static int coco_item(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err)
{
    coco *c = w->state;
    if (!fmt_image_sized(it))
        return fmt_skip_item(w, b);
    fmt_raster r;
    if (fmt_raster_load(it, b, a, &r, err) != 0)
        return -1;
    c->image_id++;
    for (size_t i = 0; i < b->n; i++) {
        const lp_fmt_ann *ann = &b->v[i];
        if (ann->row.type == LP_ANN_RASTER_LAYER)
            continue;
        int rc = ann->row.video ? 1 : write_ann(w, c, ann, &r, a, err);
        if (rc < 0)
            return -1;
        if (rc > 0)
            FMT_DROPPED(w, ann->row.type);
        if (fmt_flush(w, false, err) != 0)
            return -1;
    }
    char *file = fmt_file_name(a, NULL, it, NULL);
    lp_buf_reset(&c->entry);
    if (!file ||
        lp_buf_printf(&c->entry, "%s{\"id\":%llu,\"file_name\":", c->image_id > 1 ? "," : "",
                      (unsigned long long)c->image_id) ||
        put_str(&c->entry, file) ||
        lp_buf_printf(&c->entry, ",\"width\":%lld,\"height\":%lld,\"loupe_item_id\":\"%s\"}", (long long)it->width,
                      (long long)it->height, it->id))
        return lp_error_set(err, LP_E_NOMEM, "out of memory writing the COCO image entry of item %s", it->id);
    w->stats.items++;
    return fmt_spool(c->images, c->entry.data, c->entry.len, err);
}

static int coco_end(lp_fmt_writer *w, lp_error *err)
{
    coco *c = w->state;
    if (lp_buf_puts(&w->buf, "],\"images\":["))
        return fmt_nomem(w, err);
    if (fmt_spool_copy(w, c->images, err) != 0)
        return -1;
    return lp_buf_puts(&w->buf, "]}") ? fmt_nomem(w, err) : 0;
}

static void coco_free(lp_fmt_writer *w)
{
    coco *c = w->state;
    if (!c)
        return;
    if (c->images)
        fclose(c->images);
    lp_buf_free(&c->entry);
    free(c);
}

const lp_fmt_ops lp_fmt_coco_ops = {"coco", NULL, coco_begin, coco_item, coco_end, coco_free, true};
