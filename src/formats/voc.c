/* Pascal VOC out: Annotations/<path>/<stem>.xml per image with one <object>
 * per shape that has an extent (its box; polygons, ellipses, cuboids,
 * skeletons and masks are converted to their boxes; a rotated box has its
 * extent in <bndbox> and the box itself in roLabelImg's <robndbox>), and
 * labelmap.txt.
 * VOC boxes are 1-based inclusive pixel indices: a box covering pixel
 * columns x .. x + w - 1 (0-based) is written xmin = floor(x) + 1,
 * xmax = ceil(x + w), clipped to the image (docs/FORMATS.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export_int.h"

static int voc_begin(lp_fmt_writer *w, lp_error *err)
{
    (void)w;
    (void)err;
    return 0;
}

static long long clampll(double v, long long lo, long long hi)
{
    long long x = (long long)v;
    return x < lo ? lo : x > hi ? hi : x;
}

/* roLabelImg's rotated box: <robndbox> with the centre, size and angle
 * (radians, clockwise on screen as Loupe's), exact numbers. */
static int put_robndbox(lp_buf *b, const lp_geom_rbox *r)
{
    return lp_buf_puts(b, "    <robndbox>\n      <cx>") || fmt_num(b, r->x + r->w / 2) ||
           lp_buf_puts(b, "</cx>\n      <cy>") || fmt_num(b, r->y + r->h / 2) || lp_buf_puts(b, "</cy>\n      <w>") ||
           fmt_num(b, r->w) || lp_buf_puts(b, "</w>\n      <h>") || fmt_num(b, r->h) ||
           lp_buf_puts(b, "</h>\n      <angle>") || fmt_num(b, r->angle) || lp_buf_puts(b, "</angle>\n    </robndbox>\n");
}

static int put_object(lp_buf *b, const lp_fmt_ann *ann, const lp_geom_bbox *x, const lp_fmt_item *it)
{
    bool rotated = ann->geom.type == LP_GEOM_ROTATED_BOX;
    long long W = it->width, H = it->height;
    long long xmin = clampll(floor(x->x) + 1, 1, W), ymin = clampll(floor(x->y) + 1, 1, H);
    long long xmax = clampll(ceil(x->x + x->w), xmin, W), ymax = clampll(ceil(x->y + x->h), ymin, H);
    return lp_buf_puts(b, rotated ? "  <object>\n    <type>robndbox</type>\n    <name>" : "  <object>\n    <name>") ||
           fmt_xml(b, ann->cls->name) ||
           lp_buf_printf(b,
                         "</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n"
                         "    <difficult>0</difficult>\n    <bndbox>\n      <xmin>%lld</xmin>\n      <ymin>%lld</ymin>\n"
                         "      <xmax>%lld</xmax>\n      <ymax>%lld</ymax>\n    </bndbox>\n",
                         xmin, ymin, xmax, ymax) ||
           (rotated && put_robndbox(b, &ann->geom.shape.u.rbox)) ||
           lp_buf_printf(b, "    <loupe_id>%s</loupe_id>\n  </object>\n", ann->row.id);
}

static int voc_item(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err)
{
    lp_buf *o = &w->buf;
    if (!fmt_image_sized(it))
        return fmt_skip_item(w, b);
    fmt_raster r;
    char *name = fmt_file_name(a, "Annotations", it, ".xml"), *folder = fmt_file_name(a, NULL, it, NULL);
    if (!name || !folder)
        return lp_error_set(err, LP_E_NOMEM, "out of memory naming a VOC file");
    char *slash = strrchr(folder, '/');
    if (slash)
        *slash = '\0';
    if (fmt_raster_load(it, b, a, &r, err) != 0 || fmt_open(w, name, true, err) != 0)
        return -1;
    if (lp_buf_puts(o, "<annotation>\n  <folder>") || fmt_xml(o, slash ? folder : "") ||
        lp_buf_puts(o, "</folder>\n  <filename>") || fmt_xml(o, it->name) ||
        lp_buf_printf(o,
                      "</filename>\n  <source><database>Loupe</database></source>\n  <size>\n"
                      "    <width>%lld</width>\n    <height>%lld</height>\n    <depth>3</depth>\n  </size>\n"
                      "  <segmented>0</segmented>\n",
                      (long long)it->width, (long long)it->height))
        return fmt_nomem(w, err);
    for (size_t i = 0; i < b->n; i++) {
        const lp_fmt_ann *ann = &b->v[i];
        lp_geom_bbox box;
        if (ann->row.type == LP_ANN_RASTER_LAYER)
            continue;
        int rc = !ann->cls || ann->row.video || ann->geom.type == LP_GEOM_KEYPOINT || ann->geom.type == LP_GEOM_LINE
                     ? 1
                     : fmt_ann_bbox(ann, &ann->geom, &r, a, &box, err);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            FMT_DROPPED(w, ann->row.type);
            continue;
        }
        if (put_object(o, ann, &box, it))
            return fmt_nomem(w, err);
        if (ann->geom.type == LP_GEOM_BOUNDING_BOX || ann->geom.type == LP_GEOM_ROTATED_BOX)
            FMT_WRITTEN(w, ann->geom.type);
        else
            FMT_CONVERTED(w, ann->geom.type);
    }
    if (lp_buf_puts(o, "</annotation>\n"))
        return fmt_nomem(w, err);
    w->stats.items++;
    return 0;
}

static int voc_end(lp_fmt_writer *w, lp_error *err)
{
    lp_buf *b = &w->buf;
    if (fmt_open(w, "labelmap.txt", true, err) != 0)
        return -1;
    if (lp_buf_puts(b, "# label:color_rgb:parts:actions\nbackground:0,0,0::\n"))
        return fmt_nomem(w, err);
    for (uint32_t i = 0; i < w->classes->n; i++) {
        const lp_fmt_class *c = lp_fmt_class_at(w->classes, i);
        unsigned rgb[3];
        fmt_color_rgb(c->color, rgb);
        if (lp_buf_puts(b, c->name) || lp_buf_printf(b, ":%u,%u,%u::\n", rgb[0], rgb[1], rgb[2]))
            return fmt_nomem(w, err);
    }
    return 0;
}

const lp_fmt_ops lp_fmt_voc_ops = {"voc", NULL, voc_begin, voc_item, voc_end, NULL, true};
