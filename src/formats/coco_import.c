/* COCO (instances and keypoints) in: each *.json file is one COCO document.
 *
 * A first pass over the document reads its categories and images and notes
 * where each annotation starts and which image it belongs to (skipping its
 * value); the annotations are then sorted by image, and each image is
 * yielded as one item with its annotations, each read again from where it
 * starts. So "images" may come before or after "annotations", and memory
 * holds the image table and 24 bytes per annotation, never the parsed
 * annotations of more than one image.
 *
 * Each COCO annotation becomes Darwin annotations, written as Darwin JSON
 * text and read by the annotation reader (darwin.c) like every other
 * import, so the same checks apply:
 *   - segmentation polygons → a polygon (one path per list), or a bounding
 *     box when it is the single 4-corner rectangle of its bbox (how boxes
 *     are exported); none, or empty → the bounding box of bbox;
 *   - segmentation RLE ({size, counts}: counts a compressed string or a list,
 *     column-major) → a mask, and the image's masks together → its raster
 *     layer (row-major dense RLE, labels in annotation order; where masks
 *     overlap the later one holds the pixel): exact, pixel for pixel;
 *   - keypoints [x, y, v, …] → a skeleton whose nodes are the category's
 *     keypoint names (v = 0: node absent, 1: occluded, 2: visible), or a
 *     keypoint when the category's one keypoint is named as the category;
 *   - "loupe_rotated_box" (Loupe's own exports: the exact {x, y, w, h,
 *     angle}) → a rotated_box, its segmentation (the 4 corners) aside; else
 *     a non-zero CVAT "attributes": {"rotation": degrees} → a rotated_box of
 *     bbox (the box before rotation, as CVAT writes it) turned about its
 *     centre;
 *   - the class is the category's name; "loupe_id" (Loupe's own exports)
 *     is kept as the annotation id, COCO's numeric ids are not.
 * See docs/FORMATS.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "loupe/core/util.h"
#include "loupe/formats/darwin.h"
#include "loupe/formats/json_text.h"
#include "loupe/geometry/rle.h"

typedef struct category {
    int64_t id;
    char *name;                  /* malloc */
    char **keypoints;            /* malloc; NULL when none */
    size_t nkeypoints;
    uint32_t *edges;             /* malloc: 2 * nedges node indices, 0-based */
    size_t nedges;
} category;

typedef struct image {
    int64_t id;
    char *file_name;             /* malloc */
    int64_t width, height;       /* -1 when not given */
    size_t index;                /* in "images" */
} image;

typedef struct ann_ref {
    int64_t image_id;
    size_t index;                /* in "annotations" */
    size_t offset;               /* of the annotation's value in the text */
} ann_ref;

typedef struct coco_doc {
    category *cats;
    size_t ncats, cap_cats;
    image *images;
    size_t nimages, cap_images;
    ann_ref *refs;
    size_t nrefs, cap_refs;
} coco_doc;

static lp_imp_role coco_role(const lp_imp_reader *r, const char *name)
{
    (void)r;
    return imp_has_ext(name, ".json") ? LP_IMP_ROLE_ITEMS : LP_IMP_ROLE_SKIP;
}

static void doc_free(coco_doc *d)
{
    for (size_t i = 0; i < d->ncats; i++) {
        free(d->cats[i].name);
        for (size_t k = 0; k < d->cats[i].nkeypoints; k++)
            free(d->cats[i].keypoints[k]);
        free(d->cats[i].keypoints);
        free(d->cats[i].edges);
    }
    for (size_t i = 0; i < d->nimages; i++)
        free(d->images[i].file_name);
    free(d->cats);
    free(d->images);
    free(d->refs);
}

/* Appends to a malloc array that doubles. NULL on NOMEM. */
static void *grow(void **v, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        void *nv = realloc(*v, nc * size);
        if (!nv)
            return NULL;
        *v = nv;
        *cap = nc;
    }
    void *e = (char *)*v + (*n)++ * size;
    memset(e, 0, size);
    return e;
}

/* ---- reading values ------------------------------------------------------------ */

/* The context of one file. */
typedef struct cfile {
    lp_imp_reader *r;
    const char *name;
    const char *data;
    size_t len;
    lp_arena *a;                 /* what is yielded */
    lp_arena *tmp;               /* the reader's own, reset per item */
    lp_error *err;
    coco_doc d;
    bool stop;                   /* the sink said stop, or out of memory */
} cfile;

static int sink_stopped(cfile *f)
{
    f->stop = true;
    return -1;
}

/* A problem; 0, or -1 when the sink says stop. */
static int problem(cfile *f, const char *where, lp_imp_skip skip, const char *msg)
{
    if (imp_problem(f->r, f->name, where, skip, f->err, "%s", msg) != 0)
        return sink_stopped(f);
    return 0;
}

/* An integer value (JSON number without fraction), else *ok false. */
static int read_int(lp_jscan *s, int64_t *out, bool *ok)
{
    double d;
    bool is_int = false;
    *ok = false;
    if (lp_jscan_peek(s) != LP_JT_NUMBER)
        return lp_jscan_skip(s, NULL, NULL);
    if (lp_jscan_number(s, &d, &is_int, out) != 0)
        return -1;
    *ok = is_int;
    return 0;
}

static int read_str(lp_jscan *s, lp_arena *a, const char **out)
{
    *out = NULL;
    if (lp_jscan_peek(s) != LP_JT_STRING)
        return lp_jscan_skip(s, NULL, NULL);
    return lp_jscan_string(s, a, out, NULL);
}

static int read_numbers(lp_jscan *s, lp_arena *a, double **out, size_t *n, size_t *cap, bool *bad);

/* ---- the first pass ----------------------------------------------------------------- */

static int read_category(cfile *f, lp_jscan *s, size_t i)
{
    lp_jstr key;
    int more;
    category c = {.id = -1};
    bool has_id = false;
    const char *name = NULL;
    char where[64];
    snprintf(where, sizeof where, "categories[%zu]", i);
    if (lp_jscan_peek(s) != LP_JT_OBJECT) {
        if (lp_jscan_skip(s, NULL, NULL) != 0)
            return -1;
        return problem(f, where, LP_IMP_NOTE, "must be an object; the category was not read");
    }
    lp_jscan_object_begin(s);
    char **kps = NULL;
    size_t nkps = 0, cap = 0;
    while ((more = lp_jscan_object_next(s, &key)) == 1) {
        int rc;
        if (lp_jstr_eq(&key, "id")) {
            rc = read_int(s, &c.id, &has_id);
        } else if (lp_jstr_eq(&key, "name")) {
            rc = read_str(s, f->tmp, &name);
        } else if (lp_jstr_eq(&key, "skeleton") && lp_jscan_peek(s) == LP_JT_ARRAY) {
            int el;
            size_t cap_e = 0;
            lp_jscan_array_begin(s);
            rc = 0;
            while (rc == 0 && (el = lp_jscan_array_next(s)) == 1) {
                double *pair = NULL;
                size_t n = 0, pcap = 0;
                bool bad = false;
                if ((rc = read_numbers(s, f->tmp, &pair, &n, &pcap, &bad)) != 0)
                    break;
                if (n != 2 || bad || pair[0] < 1 || pair[1] < 1 || pair[0] > UINT32_MAX || pair[1] > UINT32_MAX)
                    continue; /* checked against the keypoints below */
                uint32_t *e = grow((void **)&c.edges, &c.nedges, &cap_e, 2 * sizeof *e);
                if (!e) {
                    rc = -2;
                    break;
                }
                e[0] = (uint32_t)pair[0] - 1;
                e[1] = (uint32_t)pair[1] - 1;
            }
            if (rc == 0 && el < 0)
                rc = -1;
        } else if (lp_jstr_eq(&key, "keypoints") && lp_jscan_peek(s) == LP_JT_ARRAY) {
            int el;
            lp_jscan_array_begin(s);
            rc = 0;
            while (rc == 0 && (el = lp_jscan_array_next(s)) == 1) {
                const char *kp = NULL;
                if ((rc = read_str(s, f->tmp, &kp)) != 0)
                    break;
                char **slot = grow((void **)&kps, &nkps, &cap, sizeof *kps);
                if (!slot || !(*slot = strdup(kp ? kp : ""))) {
                    rc = -2;
                    break;
                }
            }
            if (rc == 0 && el < 0)
                rc = -1;
        } else {
            rc = lp_jscan_skip(s, NULL, NULL);
        }
        if (rc != 0) {
            for (size_t k = 0; k < nkps; k++)
                free(kps[k]);
            free(kps);
            free(c.edges);
            return rc == -2 ? lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name) : -1;
        }
    }
    c.keypoints = kps;
    c.nkeypoints = nkps;
    for (size_t e = 0; e < c.nedges; e++)
        if (c.edges[2 * e] >= nkps || c.edges[2 * e + 1] >= nkps)
            c.nedges = 0; /* a skeleton naming no keypoint: none */
    if (more < 0 || !has_id || !name || !*name) {
        for (size_t k = 0; k < nkps; k++)
            free(kps[k]);
        free(kps);
        free(c.edges);
        if (more < 0)
            return -1;
        return problem(f, where, LP_IMP_NOTE, "needs an integer \"id\" and a \"name\"; the category was not read");
    }
    category *slot = grow((void **)&f->d.cats, &f->d.ncats, &f->d.cap_cats, sizeof *slot);
    if (!slot || !(c.name = strdup(name))) {
        for (size_t k = 0; k < nkps; k++)
            free(kps[k]);
        free(kps);
        free(c.edges);
        if (slot)
            f->d.ncats--;
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name);
    }
    *slot = c;
    return 0;
}

static int read_image(cfile *f, lp_jscan *s, size_t i)
{
    lp_jstr key;
    int more;
    image im = {.width = -1, .height = -1, .index = i};
    bool has_id = false, ok;
    const char *file_name = NULL;
    char where[64];
    snprintf(where, sizeof where, "images[%zu]", i);
    if (lp_jscan_peek(s) != LP_JT_OBJECT) {
        if (lp_jscan_skip(s, NULL, NULL) != 0)
            return -1;
        return problem(f, where, LP_IMP_SKIP_ITEM, "must be an object");
    }
    lp_jscan_object_begin(s);
    while ((more = lp_jscan_object_next(s, &key)) == 1) {
        int rc;
        if (lp_jstr_eq(&key, "id"))
            rc = read_int(s, &im.id, &has_id);
        else if (lp_jstr_eq(&key, "file_name"))
            rc = read_str(s, f->tmp, &file_name);
        else if (lp_jstr_eq(&key, "width"))
            rc = read_int(s, &im.width, &ok);
        else if (lp_jstr_eq(&key, "height"))
            rc = read_int(s, &im.height, &ok);
        else
            rc = lp_jscan_skip(s, NULL, NULL);
        if (rc != 0)
            return -1;
    }
    if (more < 0)
        return -1;
    if (!has_id || !file_name || !*file_name)
        return problem(f, where, LP_IMP_SKIP_ITEM, "needs an integer \"id\" and a \"file_name\"");
    image *slot = grow((void **)&f->d.images, &f->d.nimages, &f->d.cap_images, sizeof *slot);
    if (!slot || !(im.file_name = strdup(file_name))) {
        if (slot)
            f->d.nimages--;
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name);
    }
    *slot = im;
    return 0;
}

/* Notes where annotation i starts and its image, skipping the rest. */
static int note_annotation(cfile *f, lp_jscan *s, size_t i)
{
    lp_jstr key;
    int more;
    ann_ref ref = {.image_id = INT64_MIN, .index = i};
    bool ok = false;
    lp_jscan_peek(s);
    ref.offset = (size_t)(s->p - f->data);
    if (lp_jscan_peek(s) != LP_JT_OBJECT) {
        char where[64];
        snprintf(where, sizeof where, "annotations[%zu]", i);
        if (lp_jscan_skip(s, NULL, NULL) != 0)
            return -1;
        return problem(f, where, LP_IMP_SKIP_ANNOTATION, "must be an object");
    }
    lp_jscan_object_begin(s);
    while ((more = lp_jscan_object_next(s, &key)) == 1) {
        int64_t v;
        bool got;
        if (lp_jstr_eq(&key, "image_id")) {
            if (read_int(s, &v, &got) != 0)
                return -1;
            if (got) {
                ref.image_id = v;
                ok = true;
            }
        } else if (lp_jscan_skip(s, NULL, NULL) != 0) {
            return -1;
        }
    }
    if (more < 0)
        return -1;
    if (!ok) {
        char where[64];
        snprintf(where, sizeof where, "annotations[%zu].image_id", i);
        return problem(f, where, LP_IMP_SKIP_ANNOTATION, "must be an integer, the id of an image");
    }
    ann_ref *slot = grow((void **)&f->d.refs, &f->d.nrefs, &f->d.cap_refs, sizeof *slot);
    if (!slot)
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name);
    *slot = ref;
    return 0;
}

typedef int (*elem_fn)(cfile *f, lp_jscan *s, size_t i);

static int read_list(cfile *f, lp_jscan *s, const char *what, elem_fn fn)
{
    int more;
    size_t i = 0;
    if (lp_jscan_peek(s) != LP_JT_ARRAY) {
        if (lp_jscan_skip(s, NULL, NULL) != 0)
            return -1;
        return problem(f, what, LP_IMP_NOTE, "must be an array; it was not read");
    }
    lp_jscan_array_begin(s);
    while ((more = lp_jscan_array_next(s)) == 1) {
        int rc = fn(f, s, i++);
        if (rc != 0 || f->stop)
            return rc;
        lp_arena_reset(f->tmp);
    }
    return more < 0 ? -1 : 0;
}

/* ---- one annotation -------------------------------------------------------------------- */

/* What one COCO annotation says. */
typedef struct coco_ann {
    int64_t category_id;
    bool has_category;
    const char *loupe_id;
    const char *loupe_type;      /* Loupe's own exports: the annotation's type */
    const char *rotated_box;     /* Loupe's own exports: "loupe_rotated_box"'s JSON text, else NULL */
    size_t rotated_box_len;
    double rotation;             /* CVAT's attributes.rotation: degrees clockwise of the bbox about its centre */
    double bbox[4];
    bool has_bbox;
    /* polygons: paths of numbers */
    double **paths;
    size_t *path_len, npaths, cap_paths;
    /* RLE */
    bool rle;
    int64_t rle_h, rle_w;
    const char *counts_str;
    size_t counts_len;
    int64_t *counts;
    size_t ncounts, cap_counts;
    /* keypoints */
    double *kps;
    size_t nkps, cap_kps;
    const char *bad;             /* what is wrong, or NULL */
    const char *bad_where;
} coco_ann;

static int read_numbers(lp_jscan *s, lp_arena *a, double **out, size_t *n, size_t *cap, bool *bad)
{
    int more;
    if (lp_jscan_peek(s) != LP_JT_ARRAY) {
        *bad = true;
        return lp_jscan_skip(s, NULL, NULL);
    }
    lp_jscan_array_begin(s);
    while ((more = lp_jscan_array_next(s)) == 1) {
        double v;
        if (lp_jscan_peek(s) != LP_JT_NUMBER) {
            *bad = true;
            if (lp_jscan_skip(s, NULL, NULL) != 0)
                return -1;
            continue;
        }
        if (lp_jscan_number(s, &v, NULL, NULL) != 0)
            return -1;
        double *slot = imp_push(a, (void **)out, n, cap, sizeof *slot);
        if (!slot)
            return -2;
        *slot = v;
    }
    return more < 0 ? -1 : 0;
}

static int read_segmentation(lp_jscan *s, lp_arena *a, coco_ann *c)
{
    lp_jtok t = lp_jscan_peek(s);
    bool bad = false;
    int more;
    if (t == LP_JT_ARRAY) {
        lp_jscan_array_begin(s);
        while ((more = lp_jscan_array_next(s)) == 1) {
            double **slot = imp_push(a, (void **)&c->paths, &c->npaths, &c->cap_paths, sizeof *slot);
            size_t *lens = lp_arena_alloc(a, c->cap_paths * sizeof *lens);
            if (!slot || !lens)
                return -2;
            if (c->npaths > 1)
                memcpy(lens, c->path_len, (c->npaths - 1) * sizeof *lens);
            c->path_len = lens;
            size_t n = 0, cap = 0;
            int rc = read_numbers(s, a, slot, &n, &cap, &bad);
            if (rc != 0)
                return rc;
            c->path_len[c->npaths - 1] = n;
        }
        if (more < 0)
            return -1;
    } else if (t == LP_JT_OBJECT) {
        lp_jstr key;
        c->rle = true;
        lp_jscan_object_begin(s);
        while ((more = lp_jscan_object_next(s, &key)) == 1) {
            if (lp_jstr_eq(&key, "size")) {
                double *v = NULL;
                size_t n = 0, cap = 0;
                int rc = read_numbers(s, a, &v, &n, &cap, &bad);
                if (rc != 0)
                    return rc;
                if (n == 2 && v[0] >= 0 && v[1] >= 0 && v[0] <= UINT32_MAX && v[1] <= UINT32_MAX) {
                    c->rle_h = (int64_t)v[0];
                    c->rle_w = (int64_t)v[1];
                } else {
                    bad = true;
                }
            } else if (lp_jstr_eq(&key, "counts") && lp_jscan_peek(s) == LP_JT_STRING) {
                if (lp_jscan_string(s, a, &c->counts_str, &c->counts_len) != 0)
                    return -1;
            } else if (lp_jstr_eq(&key, "counts") && lp_jscan_peek(s) == LP_JT_ARRAY) {
                lp_jscan_array_begin(s);
                while ((more = lp_jscan_array_next(s)) == 1) {
                    int64_t v;
                    bool ok;
                    if (read_int(s, &v, &ok) != 0)
                        return -1;
                    int64_t *slot = imp_push(a, (void **)&c->counts, &c->ncounts, &c->cap_counts, sizeof *slot);
                    if (!slot)
                        return -2;
                    *slot = ok ? v : -1;
                }
                if (more < 0)
                    return -1;
            } else if (lp_jscan_skip(s, NULL, NULL) != 0) {
                return -1;
            }
        }
        if (more < 0)
            return -1;
        if (c->rle_h <= 0 || c->rle_w <= 0 || (!c->counts_str && !c->counts))
            bad = true;
    } else {
        bad = true;
        if (lp_jscan_skip(s, NULL, NULL) != 0)
            return -1;
    }
    if (bad && !c->bad) {
        c->bad = "must be a list of polygons [[x, y, …], …] or an RLE {\"size\": [height, width], \"counts\": …}";
        c->bad_where = "segmentation";
    }
    return 0;
}

/* attributes: CVAT's "rotation" (degrees) when it is a number; the rest is skipped. */
static int read_rotation(lp_jscan *s, coco_ann *c)
{
    lp_jstr key;
    int more;
    if (lp_jscan_peek(s) != LP_JT_OBJECT)
        return lp_jscan_skip(s, NULL, NULL);
    lp_jscan_object_begin(s);
    while ((more = lp_jscan_object_next(s, &key)) == 1) {
        bool is_int;
        int64_t ival;
        int rc = lp_jstr_eq(&key, "rotation") && lp_jscan_peek(s) == LP_JT_NUMBER
                     ? lp_jscan_number(s, &c->rotation, &is_int, &ival)
                     : lp_jscan_skip(s, NULL, NULL);
        if (rc != 0)
            return rc;
    }
    return more < 0 ? -1 : 0;
}

static int read_coco_ann(lp_jscan *s, lp_arena *a, coco_ann *c)
{
    lp_jstr key;
    int more;
    bool bad = false;
    memset(c, 0, sizeof *c);
    lp_jscan_object_begin(s);
    while ((more = lp_jscan_object_next(s, &key)) == 1) {
        int rc = 0;
        if (lp_jstr_eq(&key, "category_id")) {
            rc = read_int(s, &c->category_id, &c->has_category);
        } else if (lp_jstr_eq(&key, "loupe_id")) {
            rc = read_str(s, a, &c->loupe_id);
        } else if (lp_jstr_eq(&key, "loupe_type")) {
            rc = read_str(s, a, &c->loupe_type);
        } else if (lp_jstr_eq(&key, "bbox")) {
            double *v = NULL;
            size_t n = 0, cap = 0;
            bad = false;
            rc = read_numbers(s, a, &v, &n, &cap, &bad);
            if (rc == 0 && n == 4 && !bad) {
                memcpy(c->bbox, v, sizeof c->bbox);
                c->has_bbox = true;
            } else if (rc == 0 && !c->bad) {
                c->bad = "must be [x, y, width, height]";
                c->bad_where = "bbox";
            }
        } else if (lp_jstr_eq(&key, "loupe_rotated_box")) {
            rc = lp_jscan_skip(s, &c->rotated_box, &c->rotated_box_len);
        } else if (lp_jstr_eq(&key, "attributes")) {
            rc = read_rotation(s, c);
        } else if (lp_jstr_eq(&key, "segmentation")) {
            rc = read_segmentation(s, a, c);
        } else if (lp_jstr_eq(&key, "keypoints")) {
            bad = false;
            rc = read_numbers(s, a, &c->kps, &c->nkps, &c->cap_kps, &bad);
            if (rc == 0 && (bad || c->nkps % 3) && !c->bad) {
                c->bad = "must be a list of x, y, v triples";
                c->bad_where = "keypoints";
            }
        } else {
            rc = lp_jscan_skip(s, NULL, NULL);
        }
        if (rc != 0)
            return rc;
    }
    return more < 0 ? -1 : 0;
}

/* ---- an image's annotations as Darwin annotations ---------------------------------------- */

/* The item being built. */
typedef struct item_build {
    cfile *f;
    const image *im;
    lp_imp_item it;
    size_t cap_anns, nwhere, cap_where;
    const char **where;
    uint8_t *labels;             /* the raster layer's label map (tmp), NULL until a mask */
    uint32_t w, h;
    lp_buf mapping;              /* "id":label,… of the masks */
    const char *raster_class;
    int nmasks;
} item_build;

static const category *find_category(const coco_doc *d, int64_t id)
{
    for (size_t i = 0; i < d->ncats; i++)
        if (d->cats[i].id == id)
            return &d->cats[i];
    return NULL;
}

static int put_num(lp_buf *b, double v)
{
    char s[32];
    size_t n = lp_json_format_double(v, s);
    return lp_buf_append(b, s, n);
}

/* Reads the Darwin text of one annotation into the item. 0, or -1 (stop). */
static int add_darwin(item_build *ib, lp_buf *text, const char *where)
{
    cfile *f = ib->f;
    lp_jscan s;
    lp_ann ann;
    lp_error fe;
    char *copy = lp_arena_memdup(f->a, text->data, text->len + 1);
    if (!copy)
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name), sink_stopped(f);
    lp_error_clear(&fe);
    lp_jscan_init(&s, copy, text->len);
    int rc = lp_darwin_read(&s, f->a, f->r->opt.lim, LP_ANN_CREATE, &ann, &fe);
    if (rc < 0 && !s.failed) {
        *f->err = fe;
        return sink_stopped(f);
    }
    if (rc != 0) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "%s.", where);
        if (rc < 0)
            lp_error_set(&fe, LP_E_INVALID, "could not be read");
        return imp_field_problems(f->r, f->name, prefix, &fe, LP_IMP_SKIP_ANNOTATION, f->err) != 0 ? sink_stopped(f)
                                                                                                  : 0;
    }
    ann.class_id = NULL;
    lp_ann *slot = imp_push(f->a, (void **)&ib->it.anns, &ib->it.nanns, &ib->cap_anns, sizeof *slot);
    const char **w = imp_push(f->a, (void **)&ib->where, &ib->nwhere, &ib->cap_where, sizeof *w);
    const char *wc = lp_arena_strdup(f->a, where);
    if (!slot || !w || !wc)
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name), sink_stopped(f);
    *slot = ann;
    *w = wc;
    return 0;
}

/* `{"id":…,"name":…,` */
static int put_head(lp_buf *b, const char *id, const char *name)
{
    return lp_buf_puts(b, "{") || (id && (lp_buf_puts(b, "\"id\":") || lp_json_write_string(b, id, strlen(id)) ||
                                          lp_buf_puts(b, ","))) ||
                   lp_buf_puts(b, "\"name\":") || lp_json_write_string(b, name, strlen(name)) || lp_buf_puts(b, ",")
               ? -1
               : 0;
}

/* True when the polygon stands for its box: Loupe's exports say so
 * (loupe_type); otherwise when it is the 4-corner rectangle of the box. */
static bool is_box(const coco_ann *c)
{
    if (c->loupe_type)
        return strcmp(c->loupe_type, "bounding_box") == 0 || strcmp(c->loupe_type, "cuboid") == 0;
    if (c->npaths != 1 || c->path_len[0] != 8 || !c->has_bbox)
        return false;
    const double *p = c->paths[0], *b = c->bbox;
    double x0 = b[0], y0 = b[1], x1 = b[0] + b[2], y1 = b[1] + b[3];
    return p[0] == x0 && p[1] == y0 && p[2] == x1 && p[3] == y0 && p[4] == x1 && p[5] == y1 && p[6] == x0 &&
           p[7] == y1;
}

static int mask_of(item_build *ib, const coco_ann *c, const char *id, const char *where)
{
    cfile *f = ib->f;
    const image *im = ib->im;
    lp_geom_rle rle;
    lp_error e;
    uint64_t max = f->r->opt.lim->geom.max_pixels;
    lp_error_clear(&e);
    if (im->width <= 0 || im->height <= 0 || c->rle_w != im->width || c->rle_h != im->height)
        return problem(f, lp_arena_printf(f->tmp, "%s.segmentation.size", where), LP_IMP_SKIP_ANNOTATION,
                       "must be the image's [height, width]");
    if (ib->nmasks >= 255)
        return problem(f, where, LP_IMP_SKIP_ANNOTATION, "an image holds at most 255 masks (its raster layer's "
                                                         "labels)");
    uint32_t w = (uint32_t)im->width, h = (uint32_t)im->height;
    int rc = c->counts_str ? lp_geom_rle_from_coco_string(c->counts_str, c->counts_len, w, h, max, f->tmp, &rle, &e)
                           : lp_geom_rle_from_ints(c->counts, c->ncounts, w, h, LP_GEOM_RLE_COLUMN_MAJOR, max, f->tmp,
                                                   &rle, &e);
    uint8_t *px = rc == 0 ? lp_arena_alloc(f->tmp, (size_t)w * h) : NULL;
    if (rc == 0 && !px)
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading a mask of %s", f->name), sink_stopped(f);
    if (rc == 0)
        rc = lp_geom_rle_decode(&rle, max, px, (size_t)w * h, &e);
    if (rc != 0) {
        if (e.code == LP_E_NOMEM)
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading a mask of %s", f->name), sink_stopped(f);
        return problem(f, lp_arena_printf(f->tmp, "%s.segmentation.%s", where, e.nfields ? e.fields[0].field : "counts"),
                       LP_IMP_SKIP_ANNOTATION, e.nfields ? e.fields[0].message : e.message);
    }
    if (!ib->labels) {
        if (!(ib->labels = lp_arena_calloc(f->tmp, (size_t)w * h, 1)))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading a mask of %s", f->name), sink_stopped(f);
        ib->w = w;
        ib->h = h;
    }
    uint8_t label = (uint8_t)++ib->nmasks;
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (px[i])
            ib->labels[i] = label;
    if (lp_buf_printf(&ib->mapping, "%s\"%s\":%u", ib->nmasks > 1 ? "," : "", id, label) != 0)
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name), sink_stopped(f);
    return 0;
}

/* Turns COCO annotation ref into Darwin annotations of the item. */
static int convert(item_build *ib, const ann_ref *ref, lp_buf *b)
{
    cfile *f = ib->f;
    coco_ann c;
    lp_jscan s;
    char where[64], idbuf[37];
    snprintf(where, sizeof where, "annotations[%zu]", ref->index);
    lp_jscan_init(&s, f->data + ref->offset, f->len - ref->offset);
    int rc = read_coco_ann(&s, f->tmp, &c);
    if (rc == -2)
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name), sink_stopped(f);
    if (rc != 0)
        return problem(f, where, LP_IMP_SKIP_ANNOTATION, "could not be read");
    if (c.bad)
        return problem(f, lp_arena_printf(f->tmp, "%s.%s", where, c.bad_where), LP_IMP_SKIP_ANNOTATION, c.bad);
    const category *cat = c.has_category ? find_category(&f->d, c.category_id) : NULL;
    if (!cat)
        return problem(f, lp_arena_printf(f->tmp, "%s.category_id", where), LP_IMP_SKIP_ANNOTATION,
                       "names no category of the file");
    const char *id = c.loupe_id && lp_ann_id_ok(c.loupe_id) ? c.loupe_id : NULL;
    bool shape = false;
    /* the keypoints */
    size_t nk = c.nkps / 3, visible = 0;
    for (size_t k = 0; k < nk; k++)
        visible += c.kps[3 * k + 2] > 0;
    if (visible) {
        shape = true;
        lp_buf_reset(b);
        if (put_head(b, id, cat->name))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        if (cat->nkeypoints == 1 && nk == 1 && strcmp(cat->keypoints[0], cat->name) == 0) {
            if (lp_buf_puts(b, "\"keypoint\":{\"x\":") || put_num(b, c.kps[0]) || lp_buf_puts(b, ",\"y\":") ||
                put_num(b, c.kps[1]) || lp_buf_puts(b, "}}"))
                return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        } else {
            if (nk != cat->nkeypoints)
                return problem(f, lp_arena_printf(f->tmp, "%s.keypoints", where), LP_IMP_SKIP_ANNOTATION,
                               "holds a different number of points than its category's keypoints");
            bool first = true;
            if (lp_buf_puts(b, "\"skeleton\":{\"nodes\":["))
                return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
            for (size_t k = 0; k < nk; k++) {
                double v = c.kps[3 * k + 2];
                if (v <= 0)
                    continue;
                if ((!first && lp_buf_puts(b, ",")) || lp_buf_puts(b, "{\"name\":") ||
                    lp_json_write_string(b, cat->keypoints[k], strlen(cat->keypoints[k])) ||
                    lp_buf_puts(b, ",\"x\":") || put_num(b, c.kps[3 * k]) || lp_buf_puts(b, ",\"y\":") ||
                    put_num(b, c.kps[3 * k + 1]) || lp_buf_puts(b, v < 2 ? ",\"occluded\":true}" : ",\"occluded\":false}"))
                    return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
                first = false;
            }
            if (lp_buf_puts(b, "]}}"))
                return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        }
        if (add_darwin(ib, b, where) != 0)
            return -1;
        id = NULL; /* a second shape of the same annotation gets an id of its own */
    }
    /* the region */
    lp_buf_reset(b);
    if (c.rotated_box || (c.has_bbox && c.rotation != 0 && isfinite(c.rotation))) {
        /* Loupe's exact box (checked by the annotation reader), else CVAT's bbox turned by its rotation */
        if (put_head(b, id, cat->name) || lp_buf_puts(b, "\"rotated_box\":"))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        if (c.rotated_box ? lp_buf_append(b, c.rotated_box, c.rotated_box_len)
                          : lp_buf_puts(b, "{\"x\":") || put_num(b, c.bbox[0]) || lp_buf_puts(b, ",\"y\":") ||
                                put_num(b, c.bbox[1]) || lp_buf_puts(b, ",\"w\":") || put_num(b, c.bbox[2]) ||
                                lp_buf_puts(b, ",\"h\":") || put_num(b, c.bbox[3]) || lp_buf_puts(b, ",\"angle\":") ||
                                put_num(b, c.rotation * M_PI / 180.0) || lp_buf_puts(b, "}"))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        if (lp_buf_puts(b, "}"))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        return add_darwin(ib, b, where);
    }
    if (c.rle) {
        if (!id) {
            if (lp_uuid_v4(idbuf) != 0)
                return lp_error_set(f->err, LP_E_INTERNAL, "could not make an annotation id"), sink_stopped(f);
            id = idbuf;
        }
        if (put_head(b, id, cat->name) || lp_buf_puts(b, "\"mask\":{}}"))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        if (mask_of(ib, &c, id, where) != 0 || f->stop)
            return f->stop ? -1 : 0;
        if (ib->nmasks > 0 && !ib->raster_class)
            ib->raster_class = cat->name;
        return add_darwin(ib, b, where);
    }
    if (c.npaths && !is_box(&c)) {
        if (put_head(b, id, cat->name) || lp_buf_puts(b, "\"polygon\":{\"paths\":["))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        for (size_t p = 0; p < c.npaths; p++) {
            if ((p && lp_buf_puts(b, ",")) || lp_buf_puts(b, "["))
                return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
            if (c.path_len[p] % 2)
                return problem(f, lp_arena_printf(f->tmp, "%s.segmentation[%zu]", where, p), LP_IMP_SKIP_ANNOTATION,
                               "must hold x, y pairs");
            for (size_t k = 0; k + 1 < c.path_len[p]; k += 2)
                if ((k && lp_buf_puts(b, ",")) || lp_buf_puts(b, "{\"x\":") || put_num(b, c.paths[p][k]) ||
                    lp_buf_puts(b, ",\"y\":") || put_num(b, c.paths[p][k + 1]) || lp_buf_puts(b, "}"))
                    return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
            if (lp_buf_puts(b, "]"))
                return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        }
        if (lp_buf_puts(b, "]}}"))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        return add_darwin(ib, b, where);
    }
    if (c.has_bbox && (c.npaths || !shape)) {
        if (put_head(b, id, cat->name) || lp_buf_puts(b, "\"bounding_box\":{\"x\":") || put_num(b, c.bbox[0]) ||
            lp_buf_puts(b, ",\"y\":") || put_num(b, c.bbox[1]) || lp_buf_puts(b, ",\"w\":") || put_num(b, c.bbox[2]) ||
            lp_buf_puts(b, ",\"h\":") || put_num(b, c.bbox[3]) || lp_buf_puts(b, "}}"))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
        return add_darwin(ib, b, where);
    }
    if (!shape)
        return problem(f, where, LP_IMP_SKIP_ANNOTATION,
                       "has no shape: give a segmentation, a bbox or keypoints");
    return 0;
}

/* The image's raster layer, once its masks are in. */
static int add_raster(item_build *ib, lp_buf *b)
{
    cfile *f = ib->f;
    uint32_t *values;
    size_t n;
    lp_error e;
    char idbuf[37];
    lp_error_clear(&e);
    if (!ib->labels)
        return 0;
    if (lp_geom_dense_rle_encode(ib->labels, ib->w, ib->h, f->r->opt.lim->geom.max_pixels, f->tmp, &values, &n, &e) !=
            0 ||
        lp_uuid_v4(idbuf) != 0)
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory encoding a raster layer of %s", f->name),
               sink_stopped(f);
    lp_buf_reset(b);
    if (put_head(b, idbuf, ib->raster_class) || lp_buf_puts(b, "\"raster_layer\":{\"dense_rle\":["))
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
    for (size_t i = 0; i < n; i++)
        if (lp_buf_printf(b, i ? ",%u" : "%u", values[i]))
            return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
    if (lp_buf_printf(b, "],\"mask_annotation_ids_mapping\":{%s},\"total_pixels\":%llu}}",
                      ib->mapping.data ? ib->mapping.data : "", (unsigned long long)ib->w * ib->h))
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory"), sink_stopped(f);
    return add_darwin(ib, b, "images");
}

/* "a/b/c.jpg" → path "/a/b", name "c.jpg". */
static void split_name(lp_arena *a, const char *file_name, const char **path, const char **name)
{
    const char *slash = strrchr(file_name, '/');
    if (!slash) {
        *path = "/";
        *name = lp_arena_strdup(a, file_name);
        return;
    }
    *name = lp_arena_strdup(a, slash + 1);
    *path = file_name[0] == '/' ? lp_arena_strndup(a, file_name, (size_t)(slash - file_name))
                                : lp_arena_printf(a, "/%.*s", (int)(slash - file_name), file_name);
    if (*path && !**path)
        *path = "/";
}

static int cmp_ref(const void *x, const void *y)
{
    const ann_ref *a = x, *b = y;
    if (a->image_id != b->image_id)
        return a->image_id < b->image_id ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static int cmp_image(const void *x, const void *y)
{
    const image *a = *(const image *const *)x, *b = *(const image *const *)y;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static int yield_images(cfile *f)
{
    coco_doc *d = &f->d;
    lp_buf text;
    int rc = 0;
    lp_buf_init(&text, (size_t)1 << 31);
    if (d->nrefs) /* qsort takes no NULL, even for no elements */
        qsort(d->refs, d->nrefs, sizeof *d->refs, cmp_ref);
    /* images by id, to find an annotation's image and duplicates */
    const image **byid = calloc(d->nimages + 1, sizeof *byid);
    if (!byid) {
        lp_buf_free(&text);
        return lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name);
    }
    for (size_t i = 0; i < d->nimages; i++)
        byid[i] = &d->images[i];
    qsort(byid, d->nimages, sizeof *byid, cmp_image);
    for (size_t i = 1; rc == 0 && i < d->nimages; i++)
        if (byid[i]->id == byid[i - 1]->id)
            rc = problem(f, lp_arena_printf(f->tmp, "images[%zu].id", byid[i]->index), LP_IMP_SKIP_ITEM,
                         "repeats the id of an earlier image");
    /* annotations of no image */
    for (size_t k = 0, i = 0; rc == 0 && k < d->nrefs; k++) {
        while (i < d->nimages && byid[i]->id < d->refs[k].image_id)
            i++;
        if (i == d->nimages || byid[i]->id != d->refs[k].image_id)
            rc = problem(f, lp_arena_printf(f->tmp, "annotations[%zu].image_id", d->refs[k].index),
                         LP_IMP_SKIP_ANNOTATION, "names no image of the file");
    }
    for (size_t i = 0, k = 0; rc == 0 && !f->stop && i < d->nimages; i++) {
        const image *im = byid[i];
        if (i > 0 && byid[i - 1]->id == im->id)
            continue; /* a duplicate: reported above */
        while (k < d->nrefs && d->refs[k].image_id < im->id)
            k++;
        item_build ib;
        memset(&ib, 0, sizeof ib);
        ib.f = f;
        ib.im = im;
        lp_buf_init(&ib.mapping, (size_t)1 << 20);
        lp_arena_reset(f->tmp);
        for (; rc == 0 && k < d->nrefs && d->refs[k].image_id == im->id; k++)
            rc = convert(&ib, &d->refs[k], &text);
        if (rc == 0 && !f->stop)
            rc = add_raster(&ib, &text);
        if (rc == 0 && !f->stop) {
            lp_imp_slot *slot = lp_arena_calloc(f->a, 1, sizeof *slot);
            if (!slot) {
                rc = lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name);
            } else {
                slot->name = "0";
                slot->type = "image";
                slot->width = im->width > 0 ? im->width : -1;
                slot->height = im->height > 0 ? im->height : -1;
                slot->frame_count = -1;
                ib.it.file = f->name;
                ib.it.where = lp_arena_printf(f->a, "images[%zu]", im->index);
                split_name(f->a, im->file_name, &ib.it.path, &ib.it.name);
                ib.it.slots = slot;
                ib.it.nslots = 1;
                ib.it.ann_where = ib.where;
                ib.it.done = (double)(i + 1) / (double)d->nimages;
                if (!ib.it.where || !ib.it.path || !ib.it.name)
                    rc = lp_error_set(f->err, LP_E_NOMEM, "out of memory reading %s", f->name);
                else
                    rc = imp_item(f->r, &ib.it, f->err);
            }
        }
        lp_buf_free(&ib.mapping);
    }
    free(byid);
    lp_buf_free(&text);
    return f->stop ? -1 : rc;
}

static int coco_file(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a, lp_error *err)
{
    cfile f;
    lp_jscan s;
    lp_jstr key;
    int more = 0, rc = 0;
    memset(&f, 0, sizeof f);
    f.r = r;
    f.name = name;
    f.data = data;
    f.len = len;
    f.a = a;
    f.err = err;
    if (!(f.tmp = lp_arena_new(0, (size_t)r->opt.lim->geom.max_pixels * 3 + ((size_t)64 << 20))))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", name);
    lp_jscan_init(&s, data, len);
    if (lp_jscan_peek(&s) != LP_JT_OBJECT) {
        rc = s.failed ? imp_json_problem(r, name, &s, data, err)
                      : imp_problem(r, name, "", LP_IMP_SKIP_FILE, err,
                                    "a COCO file is one JSON object {\"images\", \"annotations\", \"categories\"}");
        goto done;
    }
    lp_jscan_object_begin(&s);
    while (rc == 0 && !f.stop && (more = lp_jscan_object_next(&s, &key)) == 1) {
        if (lp_jstr_eq(&key, "categories"))
            rc = read_list(&f, &s, "categories", read_category);
        else if (lp_jstr_eq(&key, "images"))
            rc = read_list(&f, &s, "images", read_image);
        else if (lp_jstr_eq(&key, "annotations"))
            rc = read_list(&f, &s, "annotations", note_annotation);
        else
            rc = lp_jscan_skip(&s, NULL, NULL);
    }
    if (f.stop) {
        rc = -1;
        goto done;
    }
    if (rc != 0 || more < 0 || lp_jscan_finish(&s) != 0) {
        if (!s.failed && rc != 0) /* out of memory */
            goto done;
        rc = imp_json_problem(r, name, &s, data, err);
        goto done;
    }
    for (size_t i = 0; i < f.d.ncats && rc == 0; i++) {
        const category *c = &f.d.cats[i];
        lp_imp_class ic = {.name = c->name};
        if (c->nkeypoints == 1 && strcmp(c->keypoints[0], c->name) == 0) {
            ic.types = 1u << LP_GEOM_KEYPOINT;
        } else if (c->nkeypoints) {
            ic.types = 1u << LP_GEOM_SKELETON;
            ic.nodes = (const char *const *)c->keypoints;
            ic.nnodes = c->nkeypoints;
            ic.edges = c->edges;
            ic.nedges = c->nedges;
        }
        rc = r->sink.cls(r->sink.ud, &ic, err);
    }
    if (rc == 0)
        rc = yield_images(&f);
done:
    doc_free(&f.d);
    lp_arena_free(f.tmp);
    return rc;
}

const lp_imp_ops lp_imp_coco_ops = {"coco", NULL, coco_role, coco_file, NULL, NULL};
