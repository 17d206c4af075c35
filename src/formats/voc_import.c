/* Pascal VOC in: one item per XML file (<annotation>), its <object>s as
 * bounding boxes, and labelmap.txt's classes with their colours.
 *
 * Where: an item's folder is the file's folder inside the archive, after a
 * leading "Annotations/" (as the VOC export writes them: <folder> in the
 * file names a dataset, not a place); its name is <filename>, or the file's
 * stem + ".jpg" without one. Boxes: VOC's pixel indices are 1-based and
 * inclusive, so x = xmin - 1, y = ymin - 1, w = xmax - xmin + 1,
 * h = ymax - ymin + 1 (fractional values are read the same way) — the
 * inverse of the export's rule, so a box written by Loupe reads back as the
 * pixels it covered. An object with a complete <robndbox> (roLabelImg:
 * <cx> <cy> <w> <h> <angle>, radians clockwise on screen) is a rotated_box
 * of those exact numbers, its <bndbox> aside. <loupe_id> gives the annotation its id back; <pose>,
 * <truncated>, <difficult> and <part> are not kept. docs/FORMATS.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"

static lp_imp_role voc_role(const lp_imp_reader *r, const char *name)
{
    (void)r;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (strcmp(base, "labelmap.txt") == 0)
        return LP_IMP_ROLE_META;
    return imp_has_ext(name, ".xml") ? LP_IMP_ROLE_ITEMS : LP_IMP_ROLE_SKIP;
}

/* ---- labelmap.txt: "name:r,g,b:parts:actions" per line ----------------------------- */

static int read_labelmap(lp_imp_reader *r, const char *file, const char *data, size_t len, lp_arena *a,
                         lp_error *err)
{
    const char *p = data, *end = data + len;
    size_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        size_t n = (size_t)(e - p);
        line++;
        if (n && p[n - 1] == '\r')
            n--;
        char *text = lp_arena_strndup(a, p, n);
        p = nl ? nl + 1 : end;
        if (!text)
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        if (!*text || *text == '#')
            continue;
        /* the name is what comes before the last three colons (names may hold one) */
        char *c3 = strrchr(text, ':'), *c2 = NULL, *c1 = NULL;
        if (c3 && (*c3 = '\0', c2 = strrchr(text, ':')) && (*c2 = '\0', c1 = strrchr(text, ':')))
            *c1 = '\0';
        const char *name = c1 ? text : NULL, *rgb = c1 ? c1 + 1 : NULL;
        unsigned v[3];
        char tail;
        if (!name || !*name || sscanf(rgb, "%u,%u,%u%c", &v[0], &v[1], &v[2], &tail) != 3 || v[0] > 255 ||
            v[1] > 255 || v[2] > 255) {
            char where[32];
            snprintf(where, sizeof where, "line %zu", line);
            if (imp_problem(r, file, where, LP_IMP_NOTE, err,
                            "not a label line (name:r,g,b:parts:actions); the line was not read") != 0)
                return -1;
            continue;
        }
        if (strcmp(name, "background") == 0)
            continue;
        lp_imp_class c = {.name = name, .types = 1u << LP_GEOM_BOUNDING_BOX,
                          .color = lp_arena_printf(a, "#%02x%02x%02x", v[0], v[1], v[2])};
        if (!c.color)
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        if (r->sink.cls(r->sink.ud, &c, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- one annotation file ------------------------------------------------------------ */

enum { XMIN, YMIN, XMAX, YMAX };

typedef struct vfile {
    lp_imp_item it;
    lp_imp_slot slot;
    size_t cap_anns, nwhere, cap_where;
    const char **where;
    bool root_ok;
    /* the object being read */
    const char *obj_where, *obj_name, *obj_id, *obj_bad;
    double box[4];
    unsigned have;               /* bit per box value read */
    double rbox[5];              /* <robndbox>: cx cy w h angle */
    unsigned rhave;              /* bit per value read */
} vfile;

static const char *const BOX_NAMES[] = {"xmin", "ymin", "xmax", "ymax"};
static const char *const RBOX_NAMES[] = {"cx", "cy", "w", "h", "angle"};

static int obj_start(imp_xml *x, const char **attrs)
{
    vfile *f = x->ud;
    (void)attrs;
    if (x->depth == 1) {
        f->root_ok = strcmp(x->path, "/annotation") == 0;
        return 0;
    }
    if (strcmp(x->path, "/annotation/object") == 0) {
        f->obj_name = f->obj_id = f->obj_bad = NULL;
        f->have = f->rhave = 0;
        if (!(f->obj_where = imp_xml_where(x)))
            return lp_error_set(x->err, LP_E_NOMEM, "out of memory reading %s", x->file);
    }
    return 0;
}

/* The object read: a box annotation, or a problem leaving it out. */
static int obj_end(imp_xml *x, vfile *f)
{
    lp_imp_reader *r = x->r;
    const char *why = f->obj_bad;
    bool rotated = f->rhave == 0x1f;
    if (!why && !f->obj_name)
        why = "has no <name>: no class";
    if (!why && f->rhave && !rotated)
        why = "has a <robndbox> without all of cx, cy, w, h and angle";
    if (!why && !rotated && f->have != 0xf)
        why = "has no <bndbox> with xmin, ymin, xmax and ymax";
    if (!why && !rotated && (f->box[XMAX] < f->box[XMIN] || f->box[YMAX] < f->box[YMIN]))
        why = "<bndbox> ends before it starts (xmax < xmin or ymax < ymin)";
    lp_geom_shape s = {.type = LP_GEOM_BOUNDING_BOX,
                       .u.bbox = {f->box[XMIN] - 1, f->box[YMIN] - 1, f->box[XMAX] - f->box[XMIN] + 1,
                                  f->box[YMAX] - f->box[YMIN] + 1}};
    if (rotated) {
        const double *v = f->rbox;
        s = (lp_geom_shape){.type = LP_GEOM_ROTATED_BOX, .u.rbox = {v[0] - v[2] / 2, v[1] - v[3] / 2, v[2], v[3], v[4]}};
    }
    lp_error ge;
    lp_error_clear(&ge);
    if (!why && lp_geom_validate(&s, &r->opt.lim->geom, &ge) != 0 && !(why = imp_geom_why(x->a, &ge)))
        return lp_error_set(x->err, LP_E_NOMEM, "out of memory reading %s", x->file);
    if (why)
        return imp_problem(r, x->file, f->obj_where, LP_IMP_SKIP_ANNOTATION, x->err, "object %s; it was not read",
                           why);
    if (f->obj_id && !lp_ann_id_ok(f->obj_id)) {
        if (imp_problem(r, x->file, f->obj_where, LP_IMP_NOTE, x->err,
                        "<loupe_id> is not an annotation id; the annotation gets a new one") != 0)
            return -1;
        f->obj_id = NULL;
    }
    lp_ann *ann = imp_push(x->a, (void **)&f->it.anns, &f->it.nanns, &f->cap_anns, sizeof *ann);
    const char **w = imp_push(x->a, (void **)&f->where, &f->nwhere, &f->cap_where, sizeof *w);
    if (!ann || !w)
        return lp_error_set(x->err, LP_E_NOMEM, "out of memory reading %s", x->file);
    ann->id = f->obj_id;
    ann->class_name = f->obj_name;
    ann->type = (int)s.type;
    ann->body.geom.type = (int)s.type;
    ann->body.geom.shape = s;
    ann->body.data = "{}";
    ann->body.data_len = 2;
    *w = f->obj_where;
    return 0;
}

static int obj_text(imp_xml *x, const char **out)
{
    vfile *f = x->ud;
    if (x->text_long)
        f->obj_bad = "has a value too long to be read";
    else if (!(*out = lp_arena_strdup(x->a, x->text)))
        return lp_error_set(x->err, LP_E_NOMEM, "out of memory reading %s", x->file);
    return 0;
}

/* When p (an object's element path) is <box>/<names[k]>: that value into
 * v[k], its bit in *have, 0; else -1. */
static int box_value(imp_xml *x, vfile *f, const char *p, const char *box, const char *const *names, int n, double *v,
                     unsigned *have)
{
    size_t len = strlen(box);
    for (int k = 0; k < n && strncmp(p, box, len) == 0; k++)
        if (strcmp(p + len, names[k]) == 0) {
            if (imp_xml_number(x, &v[k]) != 0)
                f->obj_bad = lp_arena_printf(x->a, "has a <%s> that is not a number", names[k]);
            *have |= 1u << k;
            return 0;
        }
    return -1;
}

static int voc_end_el(imp_xml *x)
{
    vfile *f = x->ud;
    const char *p = x->path;
    double v;
    if (strcmp(p, "/annotation/filename") == 0) {
        if (x->text_long || !x->ntext)
            return 0;
        return (f->it.name = lp_arena_strdup(x->a, x->text)) ? 0
                                                               : lp_error_set(x->err, LP_E_NOMEM, "out of memory");
    }
    if (strcmp(p, "/annotation/size/width") == 0 || strcmp(p, "/annotation/size/height") == 0) {
        int64_t *dim = strcmp(p + 17, "width") == 0 ? &f->slot.width : &f->slot.height;
        *dim = imp_xml_number(x, &v) == 0 && v >= 1 && v <= 1e9 && v == (double)(int64_t)v ? (int64_t)v : -1;
        return 0;
    }
    if (strncmp(p, "/annotation/object", 18) != 0)
        return 0;
    p += 18;
    if (*p == '\0')
        return obj_end(x, f);
    if (strcmp(p, "/name") == 0)
        return obj_text(x, &f->obj_name);
    if (strcmp(p, "/loupe_id") == 0)
        return obj_text(x, &f->obj_id);
    if (box_value(x, f, p, "/bndbox/", BOX_NAMES, 4, f->box, &f->have) == 0)
        return 0;
    box_value(x, f, p, "/robndbox/", RBOX_NAMES, 5, f->rbox, &f->rhave);
    return 0;
}

static int voc_file(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a, lp_error *err)
{
    if (voc_role(r, name) == LP_IMP_ROLE_META)
        return read_labelmap(r, name, data, len, a, err);
    vfile f;
    memset(&f, 0, sizeof f);
    f.slot = (lp_imp_slot){.name = "0", .type = "image", .width = -1, .height = -1, .frame_count = -1};
    imp_xml x = {.r = r, .file = name, .a = a, .err = err, .start = obj_start, .end = voc_end_el, .ud = &f};
    int rc = imp_xml_read(&x, data, len);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (!f.root_ok)
        return imp_problem(r, name, "", LP_IMP_SKIP_FILE, err,
                           "not a Pascal VOC annotation (the root element is not <annotation>); the file was not read");
    f.it.file = name;
    f.it.where = "";
    f.it.path = imp_folder(a, name, "Annotations");
    if (!f.it.name)
        f.it.name = imp_stem(a, name, ".jpg");
    f.it.slots = &f.slot;
    f.it.nslots = 1;
    f.it.ann_where = f.where;
    if (!f.it.path || !f.it.name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", name);
    f.it.done = 1;
    return imp_item(r, &f.it, err);
}

const lp_imp_ops lp_imp_voc_ops = {"voc", NULL, voc_role, voc_file, NULL, NULL};
