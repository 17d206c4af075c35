/* Import readers without a server: what the export writers write is read
 * back by the readers and written again — equal, byte for byte — and files
 * with problems are reported where they are wrong, with what was left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/annotation/stored.h"
#include "loupe/core/json_scan.h"
#include "loupe/formats/darwin.h"
#include "loupe/formats/export.h"
#include "loupe/formats/import.h"

#define MAX_FILES 16
#define CAT "6a52a094-d998-4e6e-81b3-6beeebfaae0b"
#define PERSON "0b3f8a0e-2a36-4c1e-9d59-1f3c5d6a7e8f"
#define MASK_ID "11111111-1111-4111-8111-111111111111"

/* ---- files in memory ----------------------------------------------------------- */

typedef struct files {
    char names[MAX_FILES][128];
    lp_buf data[MAX_FILES];
    int n;
} files;

static int mem_open(void *ud, const char *name, bool compress, lp_error *err)
{
    files *f = ud;
    (void)compress;
    if (f->n == MAX_FILES)
        return lp_error_set(err, LP_E_TOO_LARGE, "too many files");
    snprintf(f->names[f->n], sizeof f->names[0], "%s", name);
    lp_buf_init(&f->data[f->n], 64u << 20);
    f->n++;
    return 0;
}

static int mem_write(void *ud, const void *p, size_t n, lp_error *err)
{
    files *f = ud;
    (void)err;
    return f->n ? lp_buf_append(&f->data[f->n - 1], p, n) : -1;
}

static void files_free(files *f)
{
    for (int i = 0; i < f->n; i++)
        lp_buf_free(&f->data[i]);
    f->n = 0;
}

/* ---- classes and the item exported ------------------------------------------------ */

static const char *const NODES[] = {"nose", "eye"};
static const uint32_t EDGES[] = {0, 1};
static lp_fmt_class CLASSES[2];
static lp_fmt_classes CLS = {CLASSES, 2};

static const lp_ann_limits LIMITS = {
    .geom = {.max_points = 1000, .max_paths = 10, .max_pixels = 1000000}, .max_frame = 999, .max_string = 100};

static const lp_fmt_item ITEM = {.id = "22222222-2222-4222-8222-222222222222",
                                 .name = "cat.jpg",
                                 .path = "/a/b",
                                 .slot = "0",
                                 .slot_type = "image",
                                 .width = 10,
                                 .height = 8,
                                 .frame_count = -1,
                                 .fps = -1};

static const char *const ANNS[] = {
    "{\"class_id\":\"" CAT "\",\"bounding_box\":{\"x\":1,\"y\":2,\"w\":3,\"h\":4},\"text\":{\"text\":\"hi\"}}",
    "{\"class_id\":\"" CAT "\",\"polygon\":{\"paths\":[[{\"x\":0,\"y\":0},{\"x\":4,\"y\":0},{\"x\":4,\"y\":4},"
    "{\"x\":0,\"y\":4}]]},\"my_key\":[1,2]}",
    "{\"class_id\":\"" CAT "\",\"ellipse\":{\"center\":{\"x\":5,\"y\":4},\"radius\":{\"x\":2,\"y\":1},"
    "\"angle\":0.5}}",
    "{\"id\":\"" MASK_ID "\",\"class_id\":\"" CAT "\",\"mask\":{\"sparse_rle\":null}}",
    "{\"class_id\":\"" CAT "\",\"raster_layer\":{\"dense_rle\":[0,16,1,3,0,7,1,1,0,53],"
    "\"mask_annotation_ids_mapping\":{\"" MASK_ID "\":1},\"total_pixels\":80}}",
    "{\"class_id\":\"" PERSON "\",\"skeleton\":{\"nodes\":[{\"name\":\"eye\",\"x\":6,\"y\":2,\"occluded\":true},"
    "{\"name\":\"nose\",\"x\":5,\"y\":3,\"occluded\":false}]}}",
    "{\"class_id\":\"" CAT "\",\"line\":{\"path\":[{\"x\":0,\"y\":0},{\"x\":9.25,\"y\":7}]}}",
    "{\"class_id\":\"" CAT "\",\"tag\":{},\"source\":\"model\",\"confidence\":0.75}",
    "{\"class_id\":\"" CAT "\",\"keypoint\":{\"x\":2.5,\"y\":3.5},\"z\":3}",
};
#define NANNS (sizeof ANNS / sizeof ANNS[0])

static const char VIDEO_ANN[] = "{\"class_id\":\"" CAT "\",\"ranges\":[[0,10]],\"interpolated\":true,\"frames\":{"
                                "\"0\":{\"keyframe\":true,\"bounding_box\":{\"x\":0,\"y\":0,\"w\":2,\"h\":2}},"
                                "\"4\":{\"keyframe\":true,\"bounding_box\":{\"x\":4,\"y\":4,\"w\":2,\"h\":2}}}}";

static const lp_fmt_class *class_named(const char *name)
{
    for (size_t i = 0; i < CLS.n; i++)
        if (strcmp(CLS.v[i].name, name) == 0)
            return &CLS.v[i];
    return NULL;
}

/* Stores one read annotation (its class found by id or, as an import does,
 * by name) and adds its rows to b. */
static void add_ann(lp_fmt_batch *b, lp_buf *blobs, lp_ann *ann, size_t k)
{
    lp_error err;
    lp_error_clear(&err);
    if (!ann->class_id) { /* the masks' raster layer is Darwin's "__raster_layer__": here cat's */
        const lp_fmt_class *c =
            class_named(strcmp(ann->class_name, "__raster_layer__") == 0 ? "cat" : ann->class_name);
        assert_non_null(c);
        ann->class_id = c->id;
    }
    if (!ann->id)
        ann->id = lp_arena_printf(b->arena, "00000000-0000-4000-8000-%012zu", k + 1);
    if (!ann->slot)
        ann->slot = "0";
    const lp_ann *one = ann;
    lp_ann_row *rows;
    lp_ann_frame_row *frames;
    size_t nframes;
    assert_int_equal(lp_ann_store(&one, 1, b->arena, blobs, &rows, &frames, &nframes, &err), 0);
    rows[0].interpolated = ann->interpolated;
    rows[0].class_name = lp_fmt_class_find(&CLS, rows[0].class_id)->name;
    if (nframes == 0)
        assert_int_equal(lp_fmt_batch_add(b, &rows[0], NULL, &err), 0);
    for (size_t i = 0; i < nframes; i++)
        assert_int_equal(lp_fmt_batch_add(b, &rows[0], &frames[i], &err), 0);
}

static void add_text(lp_fmt_batch *b, lp_buf *blobs, const char *text, size_t k)
{
    lp_jscan s;
    lp_ann ann;
    lp_error err;
    lp_error_clear(&err);
    lp_jscan_init(&s, text, strlen(text));
    if (lp_darwin_read(&s, b->arena, &LIMITS, LP_ANN_CREATE, &ann, &err) != 0)
        fail_msg("%s: %s %s", text, err.message, err.nfields ? err.fields[0].field : "");
    add_ann(b, blobs, &ann, k);
}

/* ---- what a reader yields, collected ------------------------------------------------ */

typedef struct got {
    lp_arena *a;
    lp_buf blobs;
    lp_fmt_writer *w;            /* items read are written again here */
    files out;
    size_t nitems, nclasses, nproblems, skipped[4];
    char classes[16][64];
    unsigned class_types[16];
    size_t class_nodes[16];
    char problems[16][400];
    double done[16];             /* each item's share of its file read */
    lp_imp_item last;
} got;

static int on_class(void *ud, const lp_imp_class *c, lp_error *err)
{
    got *g = ud;
    (void)err;
    if (g->nclasses < 16) {
        snprintf(g->classes[g->nclasses], 64, "%s", c->name);
        g->class_types[g->nclasses] = c->types;
        g->class_nodes[g->nclasses] = c->nnodes;
    }
    g->nclasses++;
    return 0;
}

static int on_problem(void *ud, const lp_imp_problem *p, lp_error *err)
{
    got *g = ud;
    (void)err;
    if (g->nproblems < 16)
        snprintf(g->problems[g->nproblems], 400, "%s|%s|%s", p->file, p->where, p->message);
    g->nproblems++;
    g->skipped[p->skip]++;
    return 0;
}

static int on_item(void *ud, const lp_imp_item *it, lp_error *err)
{
    got *g = ud;
    if (g->nitems < 16)
        g->done[g->nitems] = it->done;
    g->nitems++;
    g->last = *it;
    /* the reader's slots live only as long as this call: keep a copy */
    if (it->nslots)
        g->last.slots = lp_arena_memdup(g->a, it->slots, it->nslots * sizeof *it->slots);
    if (!g->w)
        return 0;
    lp_fmt_batch b = {.arena = g->a, .classes = &CLS};
    lp_fmt_item fi = ITEM;
    fi.name = it->name;
    fi.path = it->path;
    assert_int_equal(it->nslots, 1);
    fi.slot = it->slots[0].name;
    fi.slot_type = it->slots[0].type;
    fi.width = it->slots[0].width;
    fi.height = it->slots[0].height;
    fi.frame_count = it->slots[0].frame_count;
    for (size_t i = 0; i < it->nanns; i++) {
        assert_null(it->anns[i].class_id); /* named, never numbered */
        assert_non_null(it->anns[i].class_name);
        add_ann(&b, &g->blobs, &it->anns[i], i);
    }
    return lp_fmt_writer_item(g->w, &fi, &b, g->a, err);
}

static void got_init(got *g)
{
    memset(g, 0, sizeof *g);
    g->a = lp_arena_new(0, 0);
    lp_buf_init(&g->blobs, 1 << 20);
}

static void got_free(got *g)
{
    lp_fmt_writer_free(g->w);
    files_free(&g->out);
    lp_buf_free(&g->blobs);
    lp_arena_free(g->a);
}

/* The import's answer to a YOLO reader: ITEM, whose size is known. */
static int image_of(void *ud, const char *path, const char *stem, lp_arena *a, const char **name, int64_t *width,
                    int64_t *height, lp_error *err)
{
    (void)ud;
    (void)err;
    if (strcmp(path, ITEM.path) != 0 || strcmp(stem, "cat") != 0)
        return 0;
    *name = lp_arena_strdup(a, ITEM.name);
    *width = ITEM.width;
    *height = ITEM.height;
    return 1;
}

static lp_imp_reader *reader_v(const char *format, const char *variant, got *g)
{
    lp_imp_options opt = {.lim = &LIMITS, .variant = variant, .image = image_of};
    lp_imp_sink sink = {on_class, on_item, on_problem, g};
    lp_error err;
    lp_error_clear(&err);
    lp_imp_reader *r = lp_imp_reader_new(format, &opt, &sink, &err);
    if (!r)
        fail_msg("%s: %s", format, err.message);
    return r;
}

static lp_imp_reader *reader(const char *format, got *g) { return reader_v(format, NULL, g); }

/* Feeds every file of in to r the way the import job does: its metadata
 * files first, then those holding items. */
static void feed(lp_imp_reader *r, const files *in, lp_arena *a)
{
    lp_error err;
    lp_error_clear(&err);
    for (int pass = LP_IMP_ROLE_META; pass <= LP_IMP_ROLE_ITEMS; pass++)
        for (int i = 0; i < in->n; i++)
            if ((int)lp_imp_reader_role(r, in->names[i]) == pass &&
                lp_imp_reader_file(r, in->names[i], in->data[i].data, in->data[i].len, a, &err) != 0)
                fail_msg("%s: %s", in->names[i], err.message);
    if (lp_imp_reader_end(r, a, &err) != 0)
        fail_msg("end: %s", err.message);
}

static void feed_one(lp_imp_reader *r, const char *name, const char *text, lp_arena *a)
{
    lp_error err;
    lp_error_clear(&err);
    if (lp_imp_reader_file(r, name, text, strlen(text), a, &err) != 0)
        fail_msg("%s: %s", name, err.message);
}

/* Exports ITEM (every image annotation type) and a video item in format. */
static void export_all(const char *format, const char *variant, files *out)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_buf blobs;
    lp_fmt_out o = {.open = mem_open, .write = mem_write, .ud = out};
    lp_fmt_options opt = {.created = "2026-01-01T00:00:00Z", .variant = variant};
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&blobs, 1 << 20);
    lp_fmt_writer *w = lp_fmt_writer_new(format, &o, &CLS, &opt, &err);
    assert_non_null(w);
    lp_fmt_batch b = {.arena = a, .classes = &CLS};
    for (size_t i = 0; i < NANNS; i++)
        add_text(&b, &blobs, ANNS[i], i);
    assert_int_equal(lp_fmt_writer_item(w, &ITEM, &b, a, &err), 0);
    lp_fmt_batch_clear(&b);
    add_text(&b, &blobs, VIDEO_ANN, 100);
    lp_fmt_item v = ITEM;
    v.name = "clip.mp4";
    v.slot_type = "video";
    v.frame_count = 20;
    assert_int_equal(lp_fmt_writer_item(w, &v, &b, a, &err), 0);
    assert_int_equal(lp_fmt_writer_end(w, &err), 0);
    lp_fmt_writer_free(w);
    lp_buf_free(&blobs);
    lp_arena_free(a);
}

/* ---- Darwin ----------------------------------------------------------------------------- */

static void round_trip_equal(const char *format, size_t want_items, got *g);

static void test_darwin_round_trip(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    lp_imp_reader *r = reader("darwin", &g);
    assert_int_equal(lp_imp_reader_role(r, ".v7/metadata.json"), LP_IMP_ROLE_META);
    assert_int_equal(lp_imp_reader_role(r, "a/b/cat.json"), LP_IMP_ROLE_ITEMS);
    assert_int_equal(lp_imp_reader_role(r, "a/b/cat.jpg"), LP_IMP_ROLE_SKIP);
    lp_imp_reader_free(r);
    got_free(&g);
    got_init(&g);
    round_trip_equal("darwin", 2, &g); /* written again: the same files, byte for byte */
    assert_int_equal(g.nclasses, 11);  /* cat: 10 types, person: 1 (with its skeleton) */
    assert_string_equal(g.classes[10], "person");
    assert_int_equal(g.class_types[10], 1u << LP_GEOM_SKELETON);
    assert_int_equal(g.class_nodes[10], 2);
    got_free(&g);
}

static void test_darwin_problems(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    lp_imp_reader *r = reader("darwin", &g);
    /* not JSON: located by line and column, the file left out */
    feed_one(r, "bad.json", "{\"version\":\"2.0\",\n \"item\": {\"name\": x}}", g.a);
    assert_int_equal(g.nproblems, 1);
    assert_non_null(strstr(g.problems[0], "bad.json|line 2, column 19|not valid JSON: "));
    assert_non_null(strstr(g.problems[0], "; the file was not read"));
    assert_int_equal(g.skipped[LP_IMP_SKIP_FILE], 1);
    /* a wrong annotation: left out, located by JSON path; the others come */
    feed_one(r, "x/one.json",
             "{\"version\":\"2.0\",\"item\":{\"name\":\"one.jpg\",\"path\":\"/x\",\"slots\":[{\"slot_name\":\"0\","
             "\"type\":\"image\",\"width\":4,\"height\":3}]},\"annotations\":["
             "{\"name\":\"cat\",\"bounding_box\":{\"x\":1,\"y\":2,\"w\":3,\"h\":4}},"
             "{\"name\":\"cat\",\"polygon\":{\"paths\":[[{\"x\":0,\"y\":0}]]}},"
             "{\"name\":\"cat\",\"tag\":{}}],\"properties\":[{\"name\":\"p\",\"value\":\"v\"}]}",
             g.a);
    assert_int_equal(g.nitems, 1);
    assert_int_equal(g.last.nanns, 2);
    assert_string_equal(g.last.name, "one.jpg");
    assert_string_equal(g.last.path, "/x");
    assert_string_equal(g.last.ann_where[1], "annotations[2]");
    assert_int_equal(g.last.slots[0].width, 4);
    assert_true(g.last.has_props);
    assert_int_equal(g.last.props.nprops, 1);
    assert_int_equal(g.skipped[LP_IMP_SKIP_ANNOTATION], 1);
    assert_non_null(strstr(g.problems[1], "x/one.json|annotations[1].polygon"));
    /* Darwin 1.0, a missing item name, not an object */
    size_t before = g.skipped[LP_IMP_SKIP_FILE];
    feed_one(r, "old.json", "{\"image\":{\"filename\":\"a.jpg\"},\"annotations\":[]}", g.a);
    feed_one(r, "anon.json", "{\"version\":\"2.0\",\"item\":{\"path\":\"/\"},\"annotations\":[]}", g.a);
    feed_one(r, "list.json", "[1,2]", g.a);
    feed_one(r, "v3.json", "{\"version\":\"3.0\"}", g.a);
    assert_int_equal(g.skipped[LP_IMP_SKIP_FILE], before + 4);
    assert_int_equal(g.nitems, 1);
    assert_non_null(strstr(g.problems[g.nproblems - 4], "old.json|image|"));
    assert_non_null(strstr(g.problems[g.nproblems - 3], "anon.json|item.name|"));
    lp_imp_reader_free(r);
    got_free(&g);
}

/* Exports ITEM in format into g (initialised), reads the files back with
 * format's reader and writes what it read again: the same files, byte for
 * byte. The caller frees g. */
static void round_trip(const char *format, const char *variant, size_t want_items, got *g, files *in)
{
    lp_error err;
    lp_error_clear(&err);
    export_all(format, variant, in);
    lp_fmt_out o = {.open = mem_open, .write = mem_write, .ud = &g->out};
    lp_fmt_options opt = {.created = "2026-01-01T00:00:00Z", .variant = variant};
    g->w = lp_fmt_writer_new(format, &o, &CLS, &opt, &err);
    assert_non_null(g->w);
    lp_imp_reader *r = reader_v(format, variant, g);
    feed(r, in, g->a);
    assert_int_equal(lp_fmt_writer_end(g->w, &err), 0);
    for (size_t i = 0; i < g->nproblems && i < 16; i++)
        print_message("problem: %s\n", g->problems[i]);
    assert_int_equal(g->nproblems, 0);
    assert_int_equal(g->nitems, want_items);
    assert_int_equal(g->out.n, in->n);
    lp_imp_reader_free(r);
}

static void round_trip_equal(const char *format, size_t want_items, got *g)
{
    files in = {.n = 0};
    round_trip(format, NULL, want_items, g, &in);
    for (int i = 0; i < in.n; i++) {
        assert_string_equal(g->out.names[i], in.names[i]);
        assert_int_equal(g->out.data[i].len, in.data[i].len);
        assert_memory_equal(g->out.data[i].data, in.data[i].data, in.data[i].len);
    }
    files_free(&in);
}

/* ---- Pascal VOC ---------------------------------------------------------------------- */

static void test_voc_round_trip(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    round_trip_equal("voc", 1, &g); /* the video item is not VOC's */
    assert_int_equal(g.nclasses, 2);
    got_free(&g);
    got_init(&g);
    lp_imp_reader *r = reader("voc", &g);
    assert_int_equal(lp_imp_reader_role(r, "labelmap.txt"), LP_IMP_ROLE_META);
    assert_int_equal(lp_imp_reader_role(r, "Annotations/a/b/cat.xml"), LP_IMP_ROLE_ITEMS);
    assert_int_equal(lp_imp_reader_role(r, "JPEGImages/cat.jpg"), LP_IMP_ROLE_SKIP);
    /* the inverse of the export's rule: 1-based inclusive pixel indices */
    feed_one(r, "Annotations/x/y.xml",
             "<annotation><folder>VOC2012</folder><filename>y.png</filename><size><width>10</width>"
             "<height>8</height></size><object><name>cat</name><difficult>1</difficult><bndbox><xmin>2</xmin>"
             "<ymin>3</ymin><xmax>4.5</xmax><ymax>8</ymax></bndbox></object></annotation>",
             g.a);
    assert_int_equal(g.nproblems, 0);
    assert_int_equal(g.nitems, 1);
    assert_string_equal(g.last.path, "/x");
    assert_string_equal(g.last.name, "y.png");
    assert_int_equal(g.last.slots[0].width, 10);
    assert_int_equal(g.last.nanns, 1);
    const lp_geom_bbox *b = &g.last.anns[0].body.geom.shape.u.bbox;
    assert_true(b->x == 1 && b->y == 2 && b->w == 3.5 && b->h == 6);
    assert_string_equal(g.last.anns[0].class_name, "cat");
    assert_null(g.last.anns[0].id);
    assert_string_equal(g.last.ann_where[0], "line 1, column 111");
    lp_imp_reader_free(r);
    got_free(&g);
}

static void test_voc_problems(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    lp_imp_reader *r = reader("voc", &g);
    /* bad objects are left out one by one, located; the good one comes */
    feed_one(r, "Annotations/p.xml",
             "<annotation>\n<object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>"
             "</object>\n<object><name>cat</name><bndbox><xmin>5</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax>"
             "</bndbox></object>\n<object><name>cat</name><bndbox><xmin>x</xmin></bndbox></object>\n"
             "<object><name>cat</name><loupe_id>no spaces allowed</loupe_id><bndbox><xmin>1</xmin><ymin>1</ymin>"
             "<xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>",
             g.a);
    assert_int_equal(g.nitems, 1);
    assert_int_equal(g.last.nanns, 1);
    assert_string_equal(g.last.name, "p.jpg");
    assert_string_equal(g.last.path, "/");
    assert_int_equal(g.skipped[LP_IMP_SKIP_ANNOTATION], 3);
    assert_non_null(strstr(g.problems[0], "Annotations/p.xml|line 2, column 1|object has no <name>"));
    assert_non_null(strstr(g.problems[1], "|line 3, column 1|object <bndbox> ends before it starts"));
    assert_non_null(strstr(g.problems[2], "|line 4, column 1|object has a <xmin> that is not a number"));
    assert_non_null(strstr(g.problems[3], "|line 5, column 1|<loupe_id> is not an annotation id"));
    assert_int_equal(g.skipped[LP_IMP_NOTE], 1);
    /* files left out: not XML, a DOCTYPE (entities: billion laughs, XXE), not VOC */
    feed_one(r, "bad.xml", "<annotation>\n  <object></annotation>", g.a);
    feed_one(r, "lol.xml",
             "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>"
             "<annotation>&lol2;</annotation>",
             g.a);
    feed_one(r, "xxe.xml",
             "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><annotation><filename>&x;</filename>"
             "</annotation>",
             g.a);
    feed_one(r, "cvat.xml", "<annotations><version>1.1</version></annotations>", g.a);
    assert_int_equal(g.skipped[LP_IMP_SKIP_FILE], 4);
    assert_int_equal(g.nitems, 1);
    assert_non_null(strstr(g.problems[4], "bad.xml|line 2, column 13|not well-formed XML: mismatched tag"));
    assert_non_null(strstr(g.problems[7], "cvat.xml||not a Pascal VOC annotation"));
    /* labelmap: classes with colours; lines that are not labels are notes */
    feed_one(r, "labelmap.txt", "# label:color_rgb:parts:actions\nbackground:0,0,0::\ndog:1,2,3::\nnope\n", g.a);
    assert_int_equal(g.nclasses, 1);
    assert_string_equal(g.classes[0], "dog");
    assert_non_null(strstr(g.problems[8], "labelmap.txt|line 4|not a label line"));
    /* a rotated box the geometry checks refuse: the problem names the member and why */
    feed_one(r, "Annotations/q.xml",
             "<annotation>\n<object><name>cat</name><robndbox><cx>1.7e308</cx><cy>5</cy><w>1.7e308</w><h>2</h>"
             "<angle>0</angle></robndbox></object></annotation>",
             g.a);
    assert_non_null(strstr(g.problems[9], "|line 2, column 1|object has an invalid rotated_box.w: takes the box's far edge"));
    lp_imp_reader_free(r);
    got_free(&g);
}

/* ---- YOLO -------------------------------------------------------------------------------- */

/* Every number of every file, in order (the label files and data.yaml). */
static size_t all_numbers(const files *f, double *v, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < f->n; i++) {
        const char *p = f->data[i].data;
        while (*p) {
            char *end;
            if ((*p >= '0' && *p <= '9') || *p == '-' || *p == '.') {
                double d = strtod(p, &end);
                if (end > p) {
                    assert_true(n < cap);
                    v[n++] = d;
                    p = end;
                    continue;
                }
            }
            p++;
        }
    }
    return n;
}

/* Written, read back and written again: the same files with the same
 * numbers, up to the last bits of a double (fractions × size / size). */
static void yolo_round_trip(const char *variant)
{
    static double a[4096], b[4096];
    files in = {.n = 0};
    got g;
    got_init(&g);
    round_trip("yolo", variant, 1, &g, &in);
    for (int i = 0; i < in.n; i++)
        assert_string_equal(g.out.names[i], in.names[i]);
    size_t na = all_numbers(&in, a, 4096), nb = all_numbers(&g.out, b, 4096);
    assert_int_equal(na, nb);
    assert_true(na > (strcmp(variant, "pose") == 0 ? 15 : 20));
    for (size_t i = 0; i < na; i++)
        if (fabs(a[i] - b[i]) > 1e-12)
            fail_msg("%s: number %zu: %.17g written, %.17g after a round trip", variant, i, a[i], b[i]);
    assert_int_equal(g.nclasses, 2);
    got_free(&g);
    files_free(&in);
}

static void test_yolo_round_trip(void **state)
{
    (void)state;
    yolo_round_trip("detect");
    yolo_round_trip("segment");
    yolo_round_trip("pose");
}

/* Pose labels: kpt_shape's keypoints per line, the class's nodes named by
 * kpt_names (inline or as a block), v below 2 occluded; lines of another
 * length, or without kpt_shape, left out. */
static void test_yolo_pose(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    lp_imp_reader *r = reader_v("yolo", "pose", &g);
    feed_one(r, "data.yaml",
             "task: pose\nkpt_shape: [3, 3]\nnames:\n  0: person\n  1: hand\n  2: dot\nkpt_names:\n"
             "  0: [\"nose\", \"eye, left\"]\n  1:\n    - a\n    - b\n    - c\nkpt_edges:\n  0: [[0, 1]]\n  1: [[0, 1], [1, 2], [2, 9]]\n",
             g.a);
    assert_int_equal(g.nclasses, 3);
    assert_int_equal(g.class_types[0], 1u << LP_GEOM_SKELETON);
    assert_int_equal(g.class_nodes[0], 2);
    assert_int_equal(g.class_nodes[1], 3);
    assert_int_equal(g.class_nodes[2], 0);
    feed_one(r, "labels/a/b/cat.txt",
             "0 0.5 0.5 0.2 0.2 0.1 0.25 2 0.2 0.5 1 0 0 0\n"
             "2 0.5 0.5 0.2 0.2 0.1 0.25 2 0.2 0.5 0 0.3 0.75 2\n"
             "1 0.5 0.5 0.2 0.2 0.1 0.25 2\n",
             g.a);
    assert_int_equal(g.nitems, 1);
    assert_int_equal(g.last.nanns, 2);
    const lp_geom_skeleton *s = &g.last.anns[0].body.geom.shape.u.skeleton;
    assert_int_equal(g.last.anns[0].type, LP_GEOM_SKELETON);
    assert_string_equal(g.last.anns[0].class_name, "person");
    assert_int_equal(s->nnodes, 2); /* the class's two nodes; the padding is not read */
    assert_string_equal(s->nodes[0].name, "nose");
    assert_string_equal(s->nodes[1].name, "eye, left");
    assert_true(s->nodes[0].x == 1 && s->nodes[0].y == 2 && !s->nodes[0].occluded);
    assert_true(s->nodes[1].x == 2 && s->nodes[1].y == 4 && s->nodes[1].occluded);
    s = &g.last.anns[1].body.geom.shape.u.skeleton; /* no kpt_names: kpt_shape's three, unnamed */
    assert_int_equal(s->nnodes, 3);
    assert_null(s->nodes[0].name);
    assert_true(s->nodes[1].occluded && !s->nodes[2].occluded && s->nodes[2].x == 3 && s->nodes[2].y == 6);
    assert_int_equal(g.skipped[LP_IMP_SKIP_ANNOTATION], 1);
    assert_non_null(strstr(g.problems[0], "|line 3|the line is not a pose line"));
    lp_imp_reader_free(r);
    got_free(&g);

    /* two dimensions: every node visible; data.yaml's task: pose with the default variant */
    got_init(&g);
    r = reader("yolo", &g);
    feed_one(r, "data.yaml", "task: pose\nkpt_shape: [2, 2]\nnames: [person]\n", g.a);
    feed_one(r, "labels/a/b/cat.txt", "0 0.5 0.5 0.2 0.2 0.1 0.25 0.2 0.5\n", g.a);
    assert_int_equal(g.last.nanns, 1);
    s = &g.last.anns[0].body.geom.shape.u.skeleton;
    assert_true(s->nnodes == 2 && !s->nodes[0].occluded && !s->nodes[1].occluded && s->nodes[1].y == 4);
    lp_imp_reader_free(r);
    got_free(&g);

    /* no kpt_shape: each line a problem */
    got_init(&g);
    r = reader_v("yolo", "pose", &g);
    feed_one(r, "data.yaml", "names: [person]\n", g.a);
    feed_one(r, "labels/a/b/cat.txt", "0 0.5 0.5 0.2 0.2 0.1 0.25 2\n", g.a);
    assert_int_equal(g.last.nanns, 0);
    assert_non_null(strstr(g.problems[0], "gives no kpt_shape"));
    lp_imp_reader_free(r);
    got_free(&g);
}

static void test_yolo_problems(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    lp_imp_reader *r = reader("yolo", &g);
    assert_int_equal(lp_imp_reader_role(r, "data.yaml"), LP_IMP_ROLE_META);
    assert_int_equal(lp_imp_reader_role(r, "labels/a/b/cat.txt"), LP_IMP_ROLE_ITEMS);
    assert_int_equal(lp_imp_reader_role(r, "images/a/b/cat.jpg"), LP_IMP_ROLE_SKIP);
    assert_int_equal(lp_imp_reader_role(r, "readme.txt"), LP_IMP_ROLE_SKIP);
    /* the forms of names Ultralytics writes */
    feed_one(r, "data.yaml", "path: .\nnames: ['dog', \"cat\"]  # two\n", g.a);
    assert_int_equal(g.nclasses, 2);
    assert_string_equal(g.classes[1], "cat");
    feed_one(r, "data.yaml", "names:\n  - ant\n  - 'b''s'\n", g.a);
    assert_string_equal(g.classes[3], "b's");
    feed_one(r, "data.yaml", "names:\n  0: \"x\\u00e9\"\n  1: cat # a comment\nnc: 2\n", g.a);
    assert_string_equal(g.classes[4], "x\xc3\xa9");
    assert_string_equal(g.classes[5], "cat");
    /* fractions of the item's size; bad lines left out, located */
    feed_one(r, "labels/a/b/cat.txt",
             "1 0.5 0.5 0.2 0.25\n\n1 0 0 1 0 1 1\n7 0.5 0.5 0.1 0.1\n1 0.5 x 0.1 0.1\n1 0.5 0.5 0.1\n", g.a);
    assert_int_equal(g.nitems, 1);
    assert_string_equal(g.last.name, "cat.jpg");
    assert_string_equal(g.last.path, "/a/b");
    assert_int_equal(g.last.nanns, 2);
    const lp_geom_bbox *b = &g.last.anns[0].body.geom.shape.u.bbox;
    assert_true(b->x == 4 && b->y == 3 && b->w == 2 && b->h == 2);
    assert_string_equal(g.last.anns[0].class_name, "cat");
    const lp_geom_path *p = &g.last.anns[1].body.geom.shape.u.polygon.paths[0];
    assert_int_equal(p->npoints, 3);
    assert_true(p->points[2].x == 10 && p->points[2].y == 8);
    assert_string_equal(g.last.ann_where[1], "line 3");
    assert_int_equal(g.skipped[LP_IMP_SKIP_ANNOTATION], 3);
    assert_non_null(strstr(g.problems[0], "labels/a/b/cat.txt|line 4|the line names a class that data.yaml"));
    assert_non_null(strstr(g.problems[1], "|line 5|the line holds something that is not a number"));
    assert_non_null(strstr(g.problems[2], "|line 6|the line is neither a box"));
    /* an item whose size the import does not know: left out */
    feed_one(r, "labels/dog.txt", "0 0.5 0.5 0.2 0.2\n", g.a);
    assert_int_equal(g.nitems, 1);
    assert_int_equal(g.skipped[LP_IMP_SKIP_ITEM], 1);
    assert_non_null(strstr(g.problems[3], "labels/dog.txt||no item at / named dog.* with a known width"));
    /* a shape the geometry checks refuse: the line says which member and why */
    feed_one(r, "labels/a/b/cat.txt", "1 0.5 0.5 -0.1 0.1\n", g.a);
    assert_non_null(strstr(g.problems[4], "|line 1|the line has an invalid bounding_box.w: must be at least 0"));
    lp_imp_reader_free(r);
    got_free(&g);
    lp_error err;
    lp_error_clear(&err);
    assert_true(lp_imp_format_valid("yolo", "pose"));
    assert_false(lp_imp_format_valid("yolo", "classify"));
    assert_true(lp_imp_format_valid("yolo", "obb"));
    assert_true(lp_imp_format_valid("yolo", "segment"));
}

/* Rotated boxes: YOLO OBB corners (variant or data.yaml's task), CVAT's
 * <box rotation>, VOC's <robndbox>. */
static void test_rotated_box_readers(void **state)
{
    (void)state;
    got g;
    /* a 4 x 2 box about (4, 3) turned a quarter: corners (5,1) (5,5) (3,5) (3,1) of the 10 x 8 image */
    static const char obb[] = "0 0.5 0.125 0.5 0.625 0.3 0.625 0.3 0.125\n0 0.5 0.5 0.2 0.2\n";
    for (int by_task = 0; by_task <= 1; by_task++) {
        got_init(&g);
        lp_imp_reader *r = by_task ? reader("yolo", &g) : reader_v("yolo", "obb", &g);
        feed_one(r, "data.yaml", by_task ? "task: obb\nnames: [cat]\n" : "names: [cat]\n", g.a);
        feed_one(r, "labels/a/b/cat.txt", obb, g.a);
        assert_int_equal(g.last.nanns, 1);
        assert_int_equal(g.last.anns[0].type, LP_GEOM_ROTATED_BOX);
        const lp_geom_rbox *b = &g.last.anns[0].body.geom.shape.u.rbox;
        assert_true(fabs(b->x - 2) < 1e-12 && fabs(b->y - 2) < 1e-12 && fabs(b->w - 4) < 1e-12 &&
                    fabs(b->h - 2) < 1e-12 && fabs(b->angle - M_PI / 2) < 1e-12);
        assert_non_null(strstr(g.problems[0], "|line 2|the line is not an oriented box"));
        lp_imp_reader_free(r);
        got_free(&g);
    }

    got_init(&g);
    lp_imp_reader *r = reader("cvat", &g);
    feed_one(r, "annotations.xml",
             "<annotations><image id=\"0\" name=\"a/b/cat.jpg\" width=\"10\" height=\"8\">\n"
             "<box label=\"cat\" xtl=\"2\" ytl=\"2\" xbr=\"6\" ybr=\"4\" rotation=\"350\"/>\n"
             "<box label=\"cat\" xtl=\"2\" ytl=\"2\" xbr=\"6\" ybr=\"4\" rotation=\"0\"/>\n"
             "</image></annotations>",
             g.a);
    assert_int_equal(g.last.nanns, 2);
    assert_int_equal(g.last.anns[0].type, LP_GEOM_ROTATED_BOX);
    const lp_geom_rbox *rb = &g.last.anns[0].body.geom.shape.u.rbox;
    assert_true(rb->x == 2 && rb->y == 2 && rb->w == 4 && rb->h == 2 && fabs(rb->angle - 350 * M_PI / 180) < 1e-12);
    assert_int_equal(g.last.anns[1].type, LP_GEOM_BOUNDING_BOX);
    lp_imp_reader_free(r);
    got_free(&g);

    got_init(&g);
    r = reader("voc", &g);
    feed_one(r, "Annotations/a/b/cat.xml",
             "<annotation><filename>cat.jpg</filename><size><width>10</width><height>8</height></size>\n"
             "<object><type>robndbox</type><name>cat</name><bndbox><xmin>2</xmin><ymin>1</ymin><xmax>6</xmax>"
             "<ymax>5</ymax></bndbox><robndbox><cx>4</cx><cy>3</cy><w>4</w><h>2</h><angle>1.5</angle></robndbox>"
             "</object>\n"
             "<object><name>cat</name><robndbox><cx>4</cx><cy>3</cy></robndbox></object>\n"
             "</annotation>",
             g.a);
    assert_int_equal(g.last.nanns, 1);
    assert_int_equal(g.last.anns[0].type, LP_GEOM_ROTATED_BOX);
    rb = &g.last.anns[0].body.geom.shape.u.rbox;
    assert_true(rb->x == 2 && rb->y == 2 && rb->w == 4 && rb->h == 2 && rb->angle == 1.5);
    assert_non_null(strstr(g.problems[0], "has a <robndbox> without all of cx, cy, w, h and angle"));
    lp_imp_reader_free(r);
    got_free(&g);
}

/* ---- CVAT -------------------------------------------------------------------------------- */

/* s without its lines holding needle (new with malloc). */
static char *without_lines(const char *s, const char *needle)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    assert_non_null(out);
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)n, s);
        if (!strstr(line, needle)) {
            memcpy(o, s, n);
            o += n;
        }
        s += n;
    }
    *o = '\0';
    return out;
}

static void test_cvat_round_trip(void **state)
{
    (void)state;
    files in = {.n = 0};
    got g;
    lp_error err;
    lp_error_clear(&err);
    got_init(&g);
    export_all("cvat", NULL, &in);
    lp_fmt_out o = {.open = mem_open, .write = mem_write, .ud = &g.out};
    lp_fmt_options opt = {.created = "2026-01-01T00:00:00Z"};
    g.w = lp_fmt_writer_new("cvat", &o, &CLS, &opt, &err);
    lp_imp_reader *r = reader("cvat", &g);
    feed(r, &in, g.a);
    assert_int_equal(lp_fmt_writer_end(g.w, &err), 0);
    /* the image and the video, every shape (the mask through its raster layer) */
    assert_int_equal(g.nitems, 2);
    assert_int_equal(g.nproblems, 0);
    assert_int_equal(g.out.n, in.n);
    for (int i = 0; i < in.n; i++) {
        assert_string_equal(g.out.names[i], in.names[i]);
        assert_non_null(strstr(in.data[i].data, strcmp(in.names[i], "annotations.xml") == 0 ? "<mask " : "<track"));
        char *want = without_lines(in.data[i].data, "\x01"); /* every line */
        if (strcmp(g.out.data[i].data, want) != 0)
            fail_msg("%s written again differs:\n%s\n----\n%s", in.names[i], want, g.out.data[i].data);
        free(want);
    }
    lp_imp_reader_free(r);
    got_free(&g);
    files_free(&in);
}

static void test_cvat_problems(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    lp_imp_reader *r = reader("cvat", &g);
    assert_int_equal(lp_imp_reader_role(r, "annotations.xml"), LP_IMP_ROLE_ITEMS);
    assert_int_equal(lp_imp_reader_role(r, "images/a.jpg"), LP_IMP_ROLE_SKIP);
    feed_one(r, "annotations.xml",
             "<annotations><version>1.1</version>\n"
             "<image id=\"0\" name=\"x/a.png\" width=\"10\" height=\"8\">\n"
             "<box label=\"cat\" xtl=\"1\" ytl=\"2\" xbr=\"4\" ybr=\"6\" z_order=\"2\" source=\"auto\"/>\n"
             "<box xtl=\"1\" ytl=\"2\" xbr=\"4\" ybr=\"6\"/>\n"
             "<polygon label=\"cat\" points=\"0,0;4,0;x\"/>\n"
             "<points label=\"cat\" points=\"1,1;2,2\"/>\n"
             "<cuboid label=\"cat\" xtl1=\"1\"/>\n"
             "<box label=\"cat\" xtl=\"1\" ytl=\"2\" xbr=\"4\" ybr=\"6\" rotation=\"1e308\"/>\n"
             "<ellipse label=\"cat\" cx=\"4\" cy=\"4\" rx=\"2\" ry=\"1\" rotation=\"-1e308\"/>\n"
             "</image>\n<image id=\"1\" width=\"3\"/></annotations>",
             g.a);
    assert_int_equal(g.nitems, 1);
    assert_string_equal(g.last.path, "/x");
    assert_string_equal(g.last.name, "a.png");
    assert_int_equal(g.last.slots[0].width, 10);
    assert_int_equal(g.last.nanns, 1);
    assert_true(g.last.anns[0].has_source && g.last.anns[0].source == LP_ANN_MODEL);
    assert_true(g.last.anns[0].has_z && g.last.anns[0].z == 2);
    const lp_geom_bbox *b = &g.last.anns[0].body.geom.shape.u.bbox;
    assert_true(b->x == 1 && b->y == 2 && b->w == 3 && b->h == 4);
    assert_int_equal(g.skipped[LP_IMP_SKIP_ANNOTATION], 6);
    assert_int_equal(g.skipped[LP_IMP_SKIP_ITEM], 1);
    assert_non_null(strstr(g.problems[0], "annotations.xml|line 4, column 1|<box> has no label"));
    assert_non_null(strstr(g.problems[1], "|line 5, column 1|<polygon> has no points"));
    assert_non_null(strstr(g.problems[2], "|line 6, column 1|<points> holds more than one point"));
    assert_non_null(strstr(g.problems[3], "|line 7, column 1|<cuboid> has no number in ytl1"));
    /* a finite rotation whose radians are not is refused naming the attribute */
    assert_non_null(strstr(g.problems[4], "|line 8, column 1|<box> has an invalid rotation=\"1e308\": must be a number "
                                          "of degrees within ±5e307"));
    assert_non_null(strstr(g.problems[5], "|line 9, column 1|<ellipse> has an invalid rotation=\"-1e308\""));
    assert_non_null(strstr(g.problems[6], "|line 11, column 1|<image> has no name"));
    /* a video: outside closes a range; one without a name is left out */
    feed_one(r, "videos/v/clip.xml",
             "<annotations><meta><task><name>clip.mp4</name><size>30</size></task></meta>"
             "<track id=\"0\" label=\"cat\"><box frame=\"2\" keyframe=\"1\" outside=\"0\" xtl=\"0\" ytl=\"0\" "
             "xbr=\"2\" ybr=\"2\"/><box frame=\"5\" keyframe=\"1\" outside=\"1\" xtl=\"0\" ytl=\"0\" xbr=\"2\" "
             "ybr=\"2\"/><box frame=\"9\" keyframe=\"1\" outside=\"0\" xtl=\"4\" ytl=\"4\" xbr=\"6\" ybr=\"6\"/>"
             "</track><track label=\"cat\"><box frame=\"1\" outside=\"1\" xtl=\"0\" ytl=\"0\" xbr=\"1\" "
             "ybr=\"1\"/></track></annotations>",
             g.a);
    assert_int_equal(g.nitems, 2);
    assert_string_equal(g.last.path, "/v");
    assert_string_equal(g.last.name, "clip.mp4");
    assert_string_equal(g.last.slots[0].type, "video");
    assert_int_equal(g.last.slots[0].frame_count, 30);
    assert_int_equal(g.last.nanns, 1);
    const lp_ann *t = &g.last.anns[0];
    assert_true(t->video && t->interpolated && t->nframes == 2 && t->nranges == 2);
    assert_true(t->ranges[0].start == 2 && t->ranges[0].end == 5 && t->ranges[1].start == 9 && t->ranges[1].end == 30);
    assert_int_equal(t->frames[1].frame, 9);
    assert_non_null(strstr(g.problems[7], "videos/v/clip.xml|"));
    assert_non_null(strstr(g.problems[7], "<track> has no visible keyframe"));
    feed_one(r, "videos/anon.xml", "<annotations><track label=\"cat\"/></annotations>", g.a);
    feed_one(r, "voc.xml", "<annotation/>", g.a);
    assert_int_equal(g.nitems, 2);
    assert_int_equal(g.skipped[LP_IMP_SKIP_FILE], 1);
    lp_imp_reader_free(r);
    got_free(&g);
}

/* CVAT's cuboids (eight corners: two faces) and masks (RLE over a box, one
 * raster layer per image, later masks over earlier ones), and their
 * problems. */
static void test_cvat_cuboid_and_masks(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    lp_imp_reader *r = reader("cvat", &g);
    feed_one(r, "annotations.xml",
             "<annotations>\n<image id=\"0\" name=\"a/b/cat.jpg\" width=\"4\" height=\"3\">\n"
             "<cuboid label=\"cat\" xtl1=\"1\" ytl1=\"2\" xbl1=\"1\" ybl1=\"6\" xtr1=\"4\" ytr1=\"2\" xbr1=\"4\" "
             "ybr1=\"6\" xtl2=\"5\" ytl2=\"6\" xbl2=\"5.5\" ybl2=\"14\" xtr2=\"12\" ytr2=\"6\" xbr2=\"12\" ybr2=\"14\"/>\n"
             "<mask label=\"cat\" rle=\"1, 2, 1\" left=\"1\" top=\"0\" width=\"2\" height=\"2\" z_order=\"1\"/>\n"
             "<mask label=\"dog\" rle=\"0, 2\" left=\"2\" top=\"1\" width=\"2\" height=\"1\"/>\n"
             "<mask label=\"cat\" rle=\"1, 2\" left=\"0\" top=\"0\" width=\"2\" height=\"1\"/>\n"
             "<mask label=\"cat\" rle=\"1, x\" left=\"0\" top=\"0\" width=\"2\" height=\"1\"/>\n"
             "<mask label=\"cat\" rle=\"4\" left=\"3\" top=\"0\" width=\"2\" height=\"2\"/>\n"
             "</image>\n<image id=\"1\" name=\"d.jpg\"><mask label=\"cat\" rle=\"0, 1\" left=\"0\" top=\"0\" "
             "width=\"1\" height=\"1\"/></image></annotations>",
             g.a);
    assert_int_equal(g.nitems, 2);
    assert_int_equal(g.skipped[LP_IMP_SKIP_ANNOTATION], 4);
    assert_non_null(strstr(g.problems[0], "|line 6, column 1|<mask> has runs of 3 pixels in total, not its box's 2"));
    assert_non_null(strstr(g.problems[1], "|line 7, column 1|<mask> has an rle that is not run lengths"));
    assert_non_null(strstr(g.problems[2], "|line 8, column 1|<mask> has a box outside the image"));
    assert_non_null(strstr(g.problems[3], "|line 10, column 28|"));
    assert_non_null(strstr(g.problems[3], "<mask> is in an <image> without width and height"));
    lp_imp_reader_free(r);
    got_free(&g);
    /* the cuboid, three masks, one raster layer */
    got_init(&g);
    r = reader("cvat", &g);
    feed_one(r, "annotations.xml",
             "<annotations><image id=\"0\" name=\"a/b/cat.jpg\" width=\"4\" height=\"3\">"
             "<cuboid label=\"cat\" xtl1=\"1\" ytl1=\"2\" xbl1=\"1\" ybl1=\"6\" xtr1=\"4\" ytr1=\"2\" xbr1=\"4\" "
             "ybr1=\"6\" xtl2=\"5\" ytl2=\"6\" xbl2=\"5.5\" ybl2=\"14\" xtr2=\"12\" ytr2=\"6\" xbr2=\"12\" ybr2=\"14\"/>"
             "<mask label=\"cat\" rle=\"1, 2, 1\" left=\"1\" top=\"0\" width=\"2\" height=\"2\" z_order=\"1\"/>"
             "<mask label=\"dog\" rle=\"0, 2\" left=\"2\" top=\"1\" width=\"2\" height=\"1\"/>"
             "<mask label=\"cat\" rle=\"1, 1\" left=\"0\" top=\"0\" width=\"2\" height=\"1\"/>"
             "</image></annotations>",
             g.a);
    assert_int_equal(g.nproblems, 0);
    assert_int_equal(g.last.nanns, 5);
    const lp_ann *c = &g.last.anns[0];
    assert_int_equal(c->type, LP_GEOM_CUBOID);
    const lp_geom_cuboid *cu = &c->body.geom.shape.u.cuboid;
    assert_true(cu->front.x == 1 && cu->front.y == 2 && cu->front.w == 3 && cu->front.h == 4);
    assert_true(cu->back.x == 5 && cu->back.y == 6 && cu->back.w == 7 && cu->back.h == 8);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(g.last.anns[i].type, LP_GEOM_MASK);
        assert_true(lp_ann_id_ok(g.last.anns[i].id));
    }
    assert_true(g.last.anns[1].has_z && g.last.anns[1].z == 1);
    assert_string_equal(g.last.anns[2].class_name, "dog");
    const lp_ann *layer = &g.last.anns[4];
    assert_int_equal(layer->type, LP_ANN_RASTER_LAYER);
    assert_string_equal(layer->class_name, "cat");
    assert_string_equal(g.last.ann_where[4], "raster layer");
    /* 4 × 3, row by row: mask 1 at (2,0) (1,1), mask 2 at (2,1) (3,1), mask 3 at (1,0) */
    static const uint32_t want[] = {0, 1, 3, 1, 1, 1, 0, 2, 1, 1, 2, 2, 0, 4};
    assert_int_equal(layer->body.geom.ndense, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < layer->body.geom.ndense; i++)
        assert_int_equal(layer->body.geom.dense[i], want[i]);
    assert_non_null(strstr(layer->body.geom.raw, g.last.anns[1].id));
    lp_imp_reader_free(r);
    got_free(&g);

    /* a cuboid written by the CVAT export reads back as it was */
    lp_arena *a = lp_arena_new(0, 0);
    lp_buf blobs;
    files out = {.n = 0};
    lp_fmt_out o = {.open = mem_open, .write = mem_write, .ud = &out};
    lp_fmt_options opt = {.created = "2026-01-01T00:00:00Z"};
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&blobs, 1 << 20);
    lp_fmt_writer *w = lp_fmt_writer_new("cvat", &o, &CLS, &opt, &err);
    lp_fmt_batch b = {.arena = a, .classes = &CLS};
    add_text(&b, &blobs,
             "{\"class_id\":\"" CAT "\",\"cuboid\":{\"front\":{\"x\":1.5,\"y\":2,\"w\":3,\"h\":4},"
             "\"back\":{\"x\":5,\"y\":6,\"w\":7.25,\"h\":8}}}",
             0);
    assert_int_equal(lp_fmt_writer_item(w, &ITEM, &b, a, &err), 0);
    assert_int_equal(lp_fmt_writer_end(w, &err), 0);
    assert_int_equal(lp_fmt_writer_stats(w)->written[LP_GEOM_CUBOID], 1);
    assert_int_equal(lp_fmt_writer_stats(w)->converted[LP_GEOM_CUBOID], 0);
    lp_fmt_writer_free(w);
    got_init(&g);
    r = reader("cvat", &g);
    feed(r, &out, g.a);
    assert_int_equal(g.nproblems, 0);
    assert_int_equal(g.last.nanns, 1);
    cu = &g.last.anns[0].body.geom.shape.u.cuboid;
    assert_true(cu->front.x == 1.5 && cu->front.y == 2 && cu->front.w == 3 && cu->front.h == 4);
    assert_true(cu->back.x == 5 && cu->back.y == 6 && cu->back.w == 7.25 && cu->back.h == 8);
    lp_imp_reader_free(r);
    got_free(&g);
    files_free(&out);
    lp_buf_free(&blobs);
    lp_arena_free(a);
}

/* ---- masks ------------------------------------------------------------------------------- */

static void test_mask_round_trip(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    round_trip_equal("mask", 1, &g); /* the PNG and class_mapping.csv again, byte for byte */
    assert_int_equal(g.nclasses, 2);
    /* the item: one mask per class present and the raster layer */
    assert_string_equal(g.last.name, "cat.jpg");
    assert_string_equal(g.last.path, "/a/b");
    size_t masks = 0, layers = 0;
    for (size_t i = 0; i < g.last.nanns; i++) {
        masks += g.last.anns[i].type == LP_GEOM_MASK;
        layers += g.last.anns[i].type == LP_ANN_RASTER_LAYER;
    }
    assert_int_equal(masks, 1); /* cat (skeletons are not drawn in masks) */
    assert_int_equal(layers, 1);
    got_free(&g);
}

/* Instance masks: every instance a mask with its annotation id and class
 * (instances.csv), the PNG one raster layer; written again byte for byte. */
static void test_mask_instance_round_trip(void **state)
{
    (void)state;
    files in = {.n = 0};
    got g;
    got_init(&g);
    round_trip("mask", "instance", 1, &g, &in);
    for (int i = 0; i < in.n; i++) {
        assert_string_equal(g.out.names[i], in.names[i]);
        assert_int_equal(g.out.data[i].len, in.data[i].len);
        assert_memory_equal(g.out.data[i].data, in.data[i].data, in.data[i].len);
    }
    size_t masks = 0, layers = 0;
    for (size_t i = 0; i < g.last.nanns; i++) {
        const lp_ann *ann = &g.last.anns[i];
        masks += ann->type == LP_GEOM_MASK;
        layers += ann->type == LP_ANN_RASTER_LAYER;
        if (ann->type == LP_GEOM_MASK && strcmp(ann->id, MASK_ID) == 0)
            assert_string_equal(ann->class_name, "cat");
    }
    assert_int_equal(masks, 4); /* the box, the polygon, the ellipse and the mask, as drawn */
    assert_int_equal(layers, 1);
    files_free(&in);
    got_free(&g);

    /* an instance instances.csv does not name for that image: a problem; a bad line: a note */
    got_init(&g);
    lp_imp_reader *r = reader_v("mask", "instance", &g);
    feed_one(r, "instances.csv", "image,instance,class,annotation_id\nother.jpg,1,cat,x\na/b/cat.jpg,x,cat,\n", g.a);
    export_all("mask", "instance", &in);
    for (int i = 0; i < in.n; i++)
        if (strcmp(in.names[i], "instances/a/b/cat.png") == 0)
            assert_int_equal(lp_imp_reader_file(r, in.names[i], in.data[i].data, in.data[i].len, g.a, &(lp_error){0}),
                             0);
    assert_int_equal(g.nitems, 1);
    assert_int_equal(g.last.nanns, 0);
    assert_int_equal(g.skipped[LP_IMP_SKIP_ANNOTATION], 4);
    assert_non_null(strstr(g.problems[0], "instances.csv|line 3|not an instance line"));
    assert_non_null(strstr(g.problems[1], "instances/a/b/cat.png|value 1|"));
    assert_non_null(strstr(g.problems[1], "instances.csv (for image a/b/cat.jpg) does not name"));
    lp_imp_reader_free(r);
    files_free(&in);
    got_free(&g);
}

static void test_mask_problems(void **state)
{
    (void)state;
    files in = {.n = 0};
    got g;
    got_init(&g);
    export_all("mask", NULL, &in);
    lp_imp_reader *r = reader("mask", &g);
    assert_int_equal(lp_imp_reader_role(r, "class_mapping.csv"), LP_IMP_ROLE_META);
    assert_int_equal(lp_imp_reader_role(r, "masks/a/b/cat.png"), LP_IMP_ROLE_ITEMS);
    assert_int_equal(lp_imp_reader_role(r, "instances/a/b/cat.png"), LP_IMP_ROLE_ITEMS);
    assert_int_equal(lp_imp_reader_role(r, "instances.csv"), LP_IMP_ROLE_META);
    assert_int_equal(lp_imp_reader_role(r, "images/a/b/cat.png"), LP_IMP_ROLE_SKIP);
    const lp_buf *png = NULL;
    for (int i = 0; i < in.n; i++)
        if (strcmp(in.names[i], "masks/a/b/cat.png") == 0)
            png = &in.data[i];
    assert_non_null(png);
    /* no mapping yet: the values are not named */
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_imp_reader_file(r, "masks/a/b/cat.png", png->data, png->len, g.a, &err), 0);
    assert_int_equal(g.nitems, 1);
    assert_int_equal(g.last.nanns, 0);
    assert_int_equal(g.skipped[LP_IMP_SKIP_ANNOTATION], 1);
    assert_non_null(strstr(g.problems[0], "masks/a/b/cat.png|value 1|"));
    /* damaged: a flipped byte fails the CRC; cut short; not a PNG; an unknown item */
    char *bad = malloc(png->len);
    assert_non_null(bad);
    memcpy(bad, png->data, png->len);
    bad[40] ^= 1;
    assert_int_equal(lp_imp_reader_file(r, "masks/a/b/cat.png", bad, png->len, g.a, &err), 0);
    assert_int_equal(lp_imp_reader_file(r, "masks/a/b/cat.png", png->data, png->len / 2, g.a, &err), 0);
    feed_one(r, "masks/a/b/cat.png", "GIF89a", g.a);
    assert_int_equal(lp_imp_reader_file(r, "masks/x.png", png->data, png->len, g.a, &err), 0);
    assert_int_equal(g.skipped[LP_IMP_SKIP_FILE], 3);
    assert_int_equal(g.skipped[LP_IMP_SKIP_ITEM], 1);
    assert_non_null(strstr(g.problems[1], "CRC does not match"));
    assert_non_null(strstr(g.problems[3], "is not a PNG"));
    assert_non_null(strstr(g.problems[4], "masks/x.png||no item at / named x.*"));
    assert_int_equal(g.nitems, 1);
    free(bad);
    lp_imp_reader_free(r);
    got_free(&g);
    files_free(&in);
}

static void test_limits_and_names(void **state)
{
    (void)state;
    got g;
    lp_error err;
    lp_error_clear(&err);
    got_init(&g);
    lp_imp_options opt = {.lim = &LIMITS, .max_items = 1};
    lp_imp_sink sink = {on_class, on_item, on_problem, &g};
    lp_imp_reader *r = lp_imp_reader_new("darwin", &opt, &sink, &err);
    static const char one[] = "{\"version\":\"2.0\",\"item\":{\"name\":\"a.jpg\"},\"annotations\":[]}";
    assert_int_equal(lp_imp_reader_file(r, "a.json", one, strlen(one), g.a, &err), 0);
    assert_int_equal(lp_imp_reader_file(r, "b.json", one, strlen(one), g.a, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_imp_reader_free(r);
    assert_null(lp_imp_reader_new("tfrecord", &opt, &sink, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    assert_true(lp_imp_format_valid("darwin", NULL));
    assert_false(lp_imp_format_valid("darwin", "segment"));
    assert_true(lp_imp_format_valid("coco", NULL));
    assert_false(lp_imp_format_valid("nope", NULL));
    got_free(&g);
}


/* ---- COCO ------------------------------------------------------------------------------ */

static const lp_ann *ann_of_type(const lp_imp_item *it, int type, size_t nth)
{
    for (size_t i = 0; i < it->nanns; i++)
        if (it->anns[i].type == type && nth-- == 0)
            return &it->anns[i];
    return NULL;
}

/* What the COCO writer wrote comes back: boxes as boxes (loupe_type), polygons — a rectangle too —, the
 * ellipse as its polygon, the mask pixel for pixel (column-major RLE back to
 * the row-major raster layer), the skeleton by node names, the keypoint,
 * and Loupe's annotation ids. */
static void test_coco_round_trip(void **state)
{
    (void)state;
    files in = {.n = 0};
    got g;
    export_all("coco", NULL, &in);
    got_init(&g);
    lp_imp_reader *r = reader("coco", &g);
    assert_int_equal(lp_imp_reader_role(r, "annotations/instances.json"), LP_IMP_ROLE_ITEMS);
    feed(r, &in, g.a);
    for (size_t i = 0; i < g.nproblems && i < 16; i++)
        print_message("%s\n", g.problems[i]);
    assert_int_equal(g.nproblems, 0);
    assert_int_equal(g.nitems, 1); /* the video item is not in COCO */
    assert_int_equal(g.nclasses, 2);
    const lp_imp_item *it = &g.last;
    assert_string_equal(it->path, "/a/b");
    assert_string_equal(it->name, "cat.jpg");
    assert_int_equal(it->slots[0].width, 10);
    assert_int_equal(it->slots[0].height, 8);
    /* box, polygon, ellipse (a polygon), mask, skeleton, keypoint, and the raster layer */
    assert_int_equal(it->nanns, 7);
    const lp_ann *box = ann_of_type(it, LP_GEOM_BOUNDING_BOX, 0);
    assert_non_null(box);
    assert_string_equal(box->class_name, "cat");
    assert_string_equal(box->id, "00000000-0000-4000-8000-000000000001");
    assert_true(box->body.geom.shape.u.bbox.x == 1 && box->body.geom.shape.u.bbox.w == 3);
    const lp_ann *poly = ann_of_type(it, LP_GEOM_POLYGON, 0);
    assert_non_null(poly);
    assert_int_equal(poly->body.geom.shape.u.polygon.paths[0].npoints, 4);
    const lp_ann *ellipse = ann_of_type(it, LP_GEOM_POLYGON, 1);
    assert_non_null(ellipse);
    assert_int_equal(ellipse->body.geom.shape.u.polygon.paths[0].npoints, 64);
    const lp_ann *mask = ann_of_type(it, LP_GEOM_MASK, 0);
    assert_non_null(mask);
    assert_string_equal(mask->id, MASK_ID);
    const lp_ann *raster = ann_of_type(it, LP_ANN_RASTER_LAYER, 0);
    assert_non_null(raster);
    static const uint32_t dense[] = {0, 16, 1, 3, 0, 7, 1, 1, 0, 53};
    assert_int_equal(raster->body.geom.ndense, 10);
    assert_memory_equal(raster->body.geom.dense, dense, sizeof dense);
    assert_non_null(strstr(raster->body.geom.raw, "\"" MASK_ID "\":1"));
    const lp_ann *sk = ann_of_type(it, LP_GEOM_SKELETON, 0);
    assert_non_null(sk);
    assert_string_equal(sk->class_name, "person");
    const lp_geom_skeleton *s = &sk->body.geom.shape.u.skeleton;
    assert_int_equal(s->nnodes, 2);
    assert_string_equal(s->nodes[0].name, "nose");
    assert_true(s->nodes[0].x == 5 && s->nodes[0].y == 3 && !s->nodes[0].occluded);
    assert_string_equal(s->nodes[1].name, "eye");
    assert_true(s->nodes[1].occluded);
    const lp_ann *kp = ann_of_type(it, LP_GEOM_KEYPOINT, 0);
    assert_non_null(kp);
    assert_true(kp->body.geom.shape.u.keypoint.x == 2.5 && kp->body.geom.shape.u.keypoint.y == 3.5);
    lp_imp_reader_free(r);
    got_free(&g);
    files_free(&in);
}

/* An RLE with uncompressed counts (column-major) on a 3 x 2 image: the
 * raster layer walks rows. Counts 2, 3, 1 walk columns: pixels (x, y) =
 * (1, 0), (1, 1), (2, 0) are set. */
static void test_coco_rle_counts_and_problems(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    lp_imp_reader *r = reader("coco", &g);
    feed_one(r, "instances.json",
             "{\"annotations\":["
             "{\"id\":1,\"image_id\":7,\"category_id\":3,\"iscrowd\":1,"
             "\"segmentation\":{\"size\":[2,3],\"counts\":[2,3,1]},\"bbox\":[1,0,2,2]},"
             "{\"id\":2,\"image_id\":7,\"category_id\":9,\"bbox\":[0,0,1,1]},"
             "{\"id\":3,\"image_id\":8,\"category_id\":3,\"bbox\":[0,0,1,1]},"
             "{\"id\":4,\"image_id\":7,\"category_id\":3,\"segmentation\":[[0,0,1,0]]},"
             "{\"id\":5,\"image_id\":7,\"category_id\":3,\"segmentation\":[[0,0,2,0,2,2,0,2]],\"bbox\":[0,0,2,2]}],"
             "\"images\":[{\"id\":7,\"file_name\":\"x/y.png\",\"width\":3,\"height\":2}],"
             "\"categories\":[{\"id\":3,\"name\":\"blob\"}]}",
             g.a);
    assert_int_equal(g.nitems, 1);
    const lp_imp_item *it = &g.last;
    assert_string_equal(it->path, "/x");
    assert_string_equal(it->name, "y.png");
    const lp_ann *raster = ann_of_type(it, LP_ANN_RASTER_LAYER, 0);
    assert_non_null(raster);
    static const uint32_t dense[] = {0, 1, 1, 2, 0, 1, 1, 1, 0, 1};
    assert_int_equal(raster->body.geom.ndense, 10);
    assert_memory_equal(raster->body.geom.dense, dense, sizeof dense);
    assert_non_null(ann_of_type(it, LP_GEOM_BOUNDING_BOX, 0)); /* the 4-corner rectangle of its bbox */
    /* unknown category, no image, a polygon of two points: each located, each left out */
    assert_int_equal(g.skipped[LP_IMP_SKIP_ANNOTATION], 3);
    bool cat = false, img = false, poly = false;
    for (size_t i = 0; i < g.nproblems; i++) {
        cat |= strstr(g.problems[i], "instances.json|annotations[1].category_id|") != NULL;
        img |= strstr(g.problems[i], "instances.json|annotations[2].image_id|") != NULL;
        poly |= strstr(g.problems[i], "instances.json|annotations[3].polygon") != NULL;
    }
    assert_true(cat && img && poly);
    /* not JSON */
    feed_one(r, "bad.json", "{\"images\": [}", g.a);
    assert_int_equal(g.skipped[LP_IMP_SKIP_FILE], 1);
    lp_imp_reader_free(r);
    got_free(&g);
}

/* Each item says how far through its file the reader is: the share of the
 * images read (COCO), of the bytes (CVAT), or the whole file (one item per
 * file) — what the import job reports as its progress. */
static void test_items_say_how_far(void **state)
{
    (void)state;
    got g;
    got_init(&g);
    lp_imp_reader *r = reader("coco", &g);
    feed_one(r, "c.json",
             "{\"images\":[{\"id\":1,\"file_name\":\"a.jpg\",\"width\":10,\"height\":8},{\"id\":2,"
             "\"file_name\":\"b.jpg\",\"width\":10,\"height\":8},{\"id\":3,\"file_name\":\"c.jpg\"}],"
             "\"annotations\":[],\"categories\":[]}",
             g.a);
    lp_imp_reader_free(r);
    assert_int_equal(g.nitems, 3);
    assert_true(g.done[0] == 1.0 / 3 && g.done[1] == 2.0 / 3 && g.done[2] == 1);
    got_free(&g);

    got_init(&g);
    r = reader("cvat", &g);
    const char *xml = "<annotations><image name=\"a.jpg\" width=\"10\" height=\"8\"></image>"
                      "<image name=\"b.jpg\" width=\"10\" height=\"8\"></image>"
                      "<image name=\"c.jpg\" width=\"10\" height=\"8\"></image></annotations>";
    feed_one(r, "c.xml", xml, g.a);
    lp_imp_reader_free(r);
    assert_int_equal(g.nitems, 3);
    assert_true(g.done[0] > 0 && g.done[0] < g.done[1] && g.done[1] < g.done[2] && g.done[2] < 1);
    got_free(&g);

    got_init(&g);
    r = reader("darwin", &g);
    feed_one(r, "a.json",
             "{\"version\":\"2.0\",\"item\":{\"name\":\"a.jpg\",\"path\":\"/\"},\"annotations\":[]}", g.a);
    lp_imp_reader_free(r);
    assert_int_equal(g.nitems, 1);
    assert_true(g.done[0] == 1);
    got_free(&g);
}

static int setup(void **state)
{
    (void)state;
    lp_error err;
    memset(CLASSES, 0, sizeof CLASSES);
    CLASSES[0] = (lp_fmt_class){.id = CAT, .name = "cat", .color = "#ff0000", .types = 0x3ff};
    CLASSES[1] = (lp_fmt_class){.id = PERSON,
                                .name = "person",
                                .color = "rgba(0,0,255,1)",
                                .types = 1u << LP_GEOM_SKELETON,
                                .nodes = NODES,
                                .nnodes = 2,
                                .edges = EDGES,
                                .nedges = 1};
    return lp_fmt_classes_prepare(&CLS, &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_darwin_round_trip),
        cmocka_unit_test(test_darwin_problems),
        cmocka_unit_test(test_limits_and_names),
        cmocka_unit_test(test_voc_round_trip),
        cmocka_unit_test(test_voc_problems),
        cmocka_unit_test(test_yolo_round_trip),
        cmocka_unit_test(test_yolo_problems),
        cmocka_unit_test(test_rotated_box_readers),
        cmocka_unit_test(test_yolo_pose),
        cmocka_unit_test(test_cvat_round_trip),
        cmocka_unit_test(test_cvat_problems),
        cmocka_unit_test(test_cvat_cuboid_and_masks),
        cmocka_unit_test(test_mask_round_trip),
        cmocka_unit_test(test_mask_problems),
        cmocka_unit_test(test_mask_instance_round_trip),
        cmocka_unit_test(test_coco_round_trip),
        cmocka_unit_test(test_coco_rle_counts_and_problems),
        cmocka_unit_test(test_items_say_how_far),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
