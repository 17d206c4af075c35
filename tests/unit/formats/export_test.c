/* Export writers without a server: a generated item holding every
 * annotation type goes through each format into memory, and what comes out
 * is read back — COCO as JSON with its RLE decoded, YOLO numbers turned back
 * into pixels, VOC and CVAT XML, mask PNGs inflated pixel by pixel, Darwin
 * as JSON — with every dropped or converted annotation counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "loupe/annotation/stored.h"
#include "loupe/core/json_scan.h"
#include "loupe/formats/darwin.h"
#include "loupe/formats/export.h"
#include "loupe/geometry/rle.h"

#define MAX_FILES 16

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

static const lp_buf *file_named(const files *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return &f->data[i];
    fail_msg("no file %s", name);
    return NULL;
}

static void files_free(files *f)
{
    for (int i = 0; i < f->n; i++)
        lp_buf_free(&f->data[i]);
    f->n = 0;
}

#define CAT "6a52a094-d998-4e6e-81b3-6beeebfaae0b"
#define PERSON "0b3f8a0e-2a36-4c1e-9d59-1f3c5d6a7e8f"
#define MASK_ID "11111111-1111-4111-8111-111111111111"

static const char *const NODES[] = {"nose", "eye"};
static const uint32_t EDGES[] = {0, 1};

static lp_fmt_class CLASSES[2];
static lp_fmt_classes CLS = {CLASSES, 2};

static void setup_classes(void)
{
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
    CLS.v = CLASSES;
    CLS.n = 2;
    lp_error err;
    assert_int_equal(lp_fmt_classes_prepare(&CLS, &err), 0);
}

static const lp_ann_limits LIMITS = {
    .geom = {.max_points = 1000, .max_paths = 10, .max_pixels = 1000000}, .max_frame = 999, .max_string = 100};

/* Reads a Darwin annotation, stores it and adds its rows to b. */
static void add(lp_fmt_batch *b, lp_buf *blobs, const char *text)
{
    lp_jscan s;
    lp_ann ann;
    lp_error err;
    lp_error_clear(&err);
    lp_jscan_init(&s, text, strlen(text));
    if (lp_darwin_read(&s, b->arena, &LIMITS, LP_ANN_CREATE, &ann, &err) != 0)
        fail_msg("%s: %s %s", text, err.message, err.nfields ? err.fields[0].field : "");
    if (!ann.id)
        ann.id = lp_arena_printf(b->arena, "00000000-0000-4000-8000-%012zu", b->n + 1);
    ann.slot = "0";
    const lp_ann *one = &ann;
    lp_ann_row *rows;
    lp_ann_frame_row *frames;
    size_t nframes;
    assert_int_equal(lp_ann_store(&one, 1, b->arena, blobs, &rows, &frames, &nframes, &err), 0);
    rows[0].interpolated = ann.interpolated;
    if (nframes == 0)
        assert_int_equal(lp_fmt_batch_add(b, &rows[0], NULL, &err), 0);
    for (size_t i = 0; i < nframes; i++)
        assert_int_equal(lp_fmt_batch_add(b, &rows[0], &frames[i], &err), 0);
}

/* An item 10 x 8 with one annotation of every type. */
static void image_batch(lp_fmt_batch *b, lp_buf *blobs)
{
    add(b, blobs, "{\"class_id\":\"" CAT "\",\"bounding_box\":{\"x\":1,\"y\":2,\"w\":3,\"h\":4}}");
    add(b, blobs,
        "{\"class_id\":\"" CAT "\",\"polygon\":{\"paths\":[[{\"x\":0,\"y\":0},{\"x\":4,\"y\":0},{\"x\":4,\"y\":4},"
        "{\"x\":0,\"y\":4}]]}}");
    add(b, blobs,
        "{\"class_id\":\"" CAT "\",\"ellipse\":{\"center\":{\"x\":5,\"y\":4},\"radius\":{\"x\":2,\"y\":1},"
        "\"angle\":0}}");
    add(b, blobs, "{\"id\":\"" MASK_ID "\",\"class_id\":\"" CAT "\",\"mask\":{\"sparse_rle\":null}}");
    /* the mask: pixels (6..8, row 1) and (6, row 2) */
    add(b, blobs,
        "{\"class_id\":\"" CAT "\",\"raster_layer\":{\"dense_rle\":[0,16,1,3,0,7,1,1,0,53],"
        "\"mask_annotation_ids_mapping\":{\"" MASK_ID "\":1},\"total_pixels\":80}}");
    add(b, blobs,
        "{\"class_id\":\"" PERSON "\",\"skeleton\":{\"nodes\":[{\"name\":\"eye\",\"x\":6,\"y\":2,\"occluded\":true},"
        "{\"name\":\"nose\",\"x\":5,\"y\":3,\"occluded\":false}]}}");
    add(b, blobs, "{\"class_id\":\"" CAT "\",\"line\":{\"path\":[{\"x\":0,\"y\":0},{\"x\":9,\"y\":7}]}}");
    add(b, blobs, "{\"class_id\":\"" CAT "\",\"tag\":{}}");
    add(b, blobs, "{\"class_id\":\"" CAT "\",\"keypoint\":{\"x\":2.5,\"y\":3.5}}");
}

static const lp_fmt_item ITEM = {.id = "22222222-2222-4222-8222-222222222222",
                                 .name = "cat.jpg",
                                 .path = "/a/b",
                                 .slot = "0",
                                 .slot_type = "image",
                                 .width = 10,
                                 .height = 8,
                                 .frame_count = -1,
                                 .fps = -1};

/* Runs one export of ITEM (and, when video, a video item too). */
static const lp_fmt_stats *run(const char *format, const char *variant, files *out, lp_fmt_writer **wp, bool video)
{
    lp_arena *a = lp_arena_new(0, 0);
    lp_buf blobs;
    lp_fmt_out o = {.open = mem_open, .write = mem_write, .ud = out};
    lp_fmt_options opt = {.variant = variant, .created = "2026-01-01T00:00:00Z"};
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&blobs, 1 << 20);
    lp_fmt_writer *w = lp_fmt_writer_new(format, &o, &CLS, &opt, &err);
    if (!w)
        fail_msg("%s: %s", format, err.message);
    lp_fmt_batch b = {.arena = a, .classes = &CLS};
    image_batch(&b, &blobs);
    if (lp_fmt_writer_item(w, &ITEM, &b, a, &err) != 0)
        fail_msg("%s: %s", format, err.message);
    if (video) {
        lp_fmt_batch_clear(&b);
        add(&b, &blobs,
            "{\"class_id\":\"" CAT "\",\"ranges\":[[0,10]],\"interpolated\":true,\"frames\":{"
            "\"0\":{\"keyframe\":true,\"bounding_box\":{\"x\":0,\"y\":0,\"w\":2,\"h\":2}},"
            "\"4\":{\"keyframe\":true,\"bounding_box\":{\"x\":4,\"y\":4,\"w\":2,\"h\":2}}}}");
        lp_fmt_item v = ITEM;
        v.name = "clip.mp4";
        v.slot_type = "video";
        v.frame_count = 20;
        if (lp_fmt_writer_item(w, &v, &b, a, &err) != 0)
            fail_msg("%s: %s", format, err.message);
    }
    if (lp_fmt_writer_end(w, &err) != 0)
        fail_msg("%s: %s", format, err.message);
    lp_buf_free(&blobs);
    lp_arena_free(a);
    *wp = w;
    return lp_fmt_writer_stats(w);
}

static void test_coco(void **state)
{
    (void)state;
    files out = {.n = 0};
    lp_fmt_writer *w;
    const lp_fmt_stats *st = run("coco", NULL, &out, &w, true);
    const lp_buf *f = file_named(&out, "annotations/instances.json");
    json_error_t jerr;
    json_t *doc = json_loadb(f->data, f->len, 0, &jerr);
    if (!doc)
        fail_msg("COCO is not JSON: %s", jerr.text);
    json_t *cats = json_object_get(doc, "categories"), *anns = json_object_get(doc, "annotations");
    json_t *imgs = json_object_get(doc, "images");
    assert_int_equal(json_array_size(cats), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cats, 0), "name")), "cat");
    json_t *person = json_array_get(cats, 1);
    assert_int_equal(json_array_size(json_object_get(person, "keypoints")), 2);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(json_object_get(person, "skeleton"), 0), 1)), 2);
    assert_int_equal(json_array_size(imgs), 1); /* the video is skipped */
    assert_string_equal(json_string_value(json_object_get(json_array_get(imgs, 0), "file_name")), "a/b/cat.jpg");
    /* box, polygon, ellipse, mask, skeleton, keypoint; the line and the tag are dropped */
    assert_int_equal(json_array_size(anns), 6);
    json_t *box = json_object_get(json_array_get(anns, 0), "bbox");
    assert_true(json_number_value(json_array_get(box, 0)) == 1 && json_number_value(json_array_get(box, 3)) == 4);
    assert_true(json_number_value(json_object_get(json_array_get(anns, 1), "area")) == 16);
    json_t *mask = json_array_get(anns, 3);
    json_t *seg = json_object_get(mask, "segmentation");
    const char *counts = json_string_value(json_object_get(seg, "counts"));
    assert_non_null(counts);
    lp_arena *a = lp_arena_new(0, 0);
    lp_geom_rle rle;
    lp_error err;
    assert_int_equal(lp_geom_rle_from_coco_string(counts, strlen(counts), 10, 8, 80, a, &rle, &err), 0);
    uint8_t px[80];
    assert_int_equal(lp_geom_rle_decode(&rle, 80, px, sizeof px, &err), 0);
    for (int i = 0; i < 80; i++)
        assert_int_equal(px[i], i == 16 || i == 17 || i == 18 || i == 26);
    assert_true(json_number_value(json_object_get(mask, "area")) == 4);
    json_t *kp = json_object_get(json_array_get(anns, 4), "keypoints");
    /* node order of the class: nose (visible), eye (occluded) */
    assert_true(json_number_value(json_array_get(kp, 0)) == 5 && json_integer_value(json_array_get(kp, 2)) == 2);
    assert_true(json_number_value(json_array_get(kp, 3)) == 6 && json_integer_value(json_array_get(kp, 5)) == 1);
    assert_int_equal(st->dropped[LP_GEOM_LINE], 1);
    assert_int_equal(st->dropped[LP_GEOM_TAG], 1);
    assert_int_equal(st->dropped[LP_GEOM_BOUNDING_BOX], 1); /* the video's track */
    assert_int_equal(st->converted[LP_GEOM_ELLIPSE], 1);
    assert_int_equal(st->items_skipped, 1);
    json_decref(doc);
    lp_arena_free(a);
    lp_fmt_writer_free(w);
    files_free(&out);
}

/* The numbers of one YOLO line. */
static int line_numbers(const char *line, double *v, int max)
{
    int n = 0;
    char *end;
    const char *eol = strchr(line, '\n');
    while (n < max && (!eol || line < eol)) {
        double x = strtod(line, &end);
        if (end == line || (eol && end > eol))
            break;
        v[n++] = x;
        line = end;
    }
    return n;
}

static void test_yolo(void **state)
{
    (void)state;
    files out = {.n = 0};
    lp_fmt_writer *w;
    const lp_fmt_stats *st = run("yolo", NULL, &out, &w, false);
    const lp_buf *f = file_named(&out, "labels/a/b/cat.txt");
    double v[64];
    /* the box 1,2,3,4 comes back in pixels */
    assert_int_equal(line_numbers(f->data, v, 64), 5);
    assert_true(v[0] == 0);
    assert_true(fabs((v[1] - v[3] / 2) * 10 - 1) < 1e-9 && fabs((v[2] - v[4] / 2) * 8 - 2) < 1e-9);
    assert_true(fabs(v[3] * 10 - 3) < 1e-9 && fabs(v[4] * 8 - 4) < 1e-9);
    /* box, polygon, ellipse, mask, skeleton: 5 lines; line, tag, keypoint dropped */
    int lines = 0;
    for (const char *p = f->data; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 5);
    assert_int_equal(st->dropped[LP_GEOM_KEYPOINT] + st->dropped[LP_GEOM_LINE] + st->dropped[LP_GEOM_TAG], 3);
    const lp_buf *yaml = file_named(&out, "data.yaml");
    assert_non_null(strstr(yaml->data, "task: detect\n"));
    assert_non_null(strstr(yaml->data, "  0: \"cat\"\n  1: \"person\"\n"));
    lp_fmt_writer_free(w);
    files_free(&out);

    run("yolo", "pose", &out, &w, false);
    f = file_named(&out, "labels/a/b/cat.txt");
    assert_int_equal(line_numbers(f->data, v, 64), 11);
    assert_true(v[0] == 1 && fabs(v[5] * 10 - 5) < 1e-9 && v[7] == 2 && fabs(v[8] * 10 - 6) < 1e-9 && v[10] == 1);
    assert_non_null(strstr(file_named(&out, "data.yaml")->data, "kpt_shape: [2, 3]"));
    lp_fmt_writer_free(w);
    files_free(&out);

    st = run("yolo", "segment", &out, &w, false);
    f = file_named(&out, "labels/a/b/cat.txt");
    assert_int_equal(line_numbers(f->data, v, 64), 9); /* the box as 4 corners */
    assert_int_equal(st->written[LP_GEOM_POLYGON], 1);
    lp_fmt_writer_free(w);
    files_free(&out);
    lp_error err;
    lp_error_clear(&err);
    lp_fmt_options bad = {.variant = "classify"};
    lp_fmt_out o = {.open = mem_open, .write = mem_write, .ud = &out};
    assert_null(lp_fmt_writer_new("yolo", &o, &CLS, &bad, &err));
    assert_string_equal(err.fields[0].field, "options.variant");
}

/* What the frame callback was told. */
typedef struct told {
    int64_t frames[32];
    char names[32][80];
    size_t n;
} told;

static int tell_frame(void *ud, const lp_fmt_item *video, int64_t frame, const lp_fmt_item *image, lp_error *err)
{
    told *t = ud;
    lp_arena *a = lp_arena_new(0, 0);
    char *name = lp_fmt_media_name(a, image);
    (void)err;
    assert_string_equal(video->name, "clip.mp4");
    assert_true(t->n < 32);
    t->frames[t->n] = frame;
    snprintf(t->names[t->n++], 80, "%s", name);
    lp_arena_free(a);
    return 0;
}

/* A video written frame by frame tells each frame, with the name of its
 * image (for the media put beside the labels); the keyframes here. */
static void test_video_frames_told(void **state)
{
    (void)state;
    files out = {.n = 0};
    told t = {.n = 0};
    lp_arena *a = lp_arena_new(0, 0);
    lp_buf blobs;
    lp_fmt_out o = {.open = mem_open, .write = mem_write, .ud = &out};
    lp_fmt_options opt = {.created = "2026-01-01T00:00:00Z", .frames = LP_FMT_FRAMES_KEYFRAMES,
                          .frame = tell_frame, .frame_ud = &t};
    lp_error err;
    lp_error_clear(&err);
    lp_buf_init(&blobs, 1 << 20);
    lp_fmt_writer *w = lp_fmt_writer_new("yolo", &o, &CLS, &opt, &err);
    assert_non_null(w);
    lp_fmt_batch b = {.arena = a, .classes = &CLS};
    add(&b, &blobs,
        "{\"class_id\":\"" CAT "\",\"ranges\":[[0,10]],\"interpolated\":true,\"frames\":{"
        "\"0\":{\"keyframe\":true,\"bounding_box\":{\"x\":0,\"y\":0,\"w\":2,\"h\":2}},"
        "\"4\":{\"keyframe\":true,\"bounding_box\":{\"x\":4,\"y\":4,\"w\":2,\"h\":2}}}}");
    lp_fmt_item v = ITEM;
    v.name = "clip.mp4";
    v.slot_type = "video";
    v.frame_count = 20;
    assert_int_equal(lp_fmt_writer_item(w, &v, &b, a, &err), 0);
    lp_fmt_batch_clear(&b);
    image_batch(&b, &blobs); /* an image item: told nothing */
    assert_int_equal(lp_fmt_writer_item(w, &ITEM, &b, a, &err), 0);
    assert_int_equal(lp_fmt_writer_end(w, &err), 0);
    assert_int_equal(t.n, 2);
    assert_true(t.frames[0] == 0 && t.frames[1] == 4);
    assert_string_equal(t.names[0], "images/a/b/clip.mp4/frame_000000.jpg");
    assert_string_equal(t.names[1], "images/a/b/clip.mp4/frame_000004.jpg");
    assert_non_null(file_named(&out, "labels/a/b/clip.mp4/frame_000004.txt"));
    lp_fmt_writer_free(w);
    files_free(&out);
    lp_buf_free(&blobs);
    lp_arena_free(a);
}

static void test_voc_and_cvat(void **state)
{
    (void)state;
    files out = {.n = 0};
    lp_fmt_writer *w;
    run("voc", NULL, &out, &w, false);
    const lp_buf *f = file_named(&out, "Annotations/a/b/cat.xml");
    assert_non_null(strstr(f->data, "<filename>cat.jpg</filename>"));
    assert_non_null(strstr(f->data, "<xmin>2</xmin>\n      <ymin>3</ymin>\n      <xmax>4</xmax>\n      <ymax>6</ymax>"));
    assert_non_null(strstr(file_named(&out, "labelmap.txt")->data, "cat:255,0,0::\nperson:0,0,255::\n"));
    lp_fmt_writer_free(w);
    files_free(&out);

    const lp_fmt_stats *st = run("cvat", NULL, &out, &w, true);
    f = file_named(&out, "annotations.xml");
    assert_non_null(strstr(f->data, "<box label=\"cat\" source=\"manual\" occluded=\"0\" xtl=\"1\" ytl=\"2\" xbr=\"4\" ybr=\"6\""));
    assert_non_null(strstr(f->data, "<ellipse label=\"cat\""));
    assert_non_null(strstr(f->data, "<mask label=\"cat\" source=\"manual\" occluded=\"0\" rle=\"0, 4, 2\" left=\"6\" top=\"1\" width=\"3\" height=\"2\""));
    assert_non_null(strstr(f->data, "<points label=\"eye\" source=\"manual\" outside=\"0\" occluded=\"1\" points=\"6,2\"/>"));
    assert_non_null(strstr(f->data, "<tag label=\"cat\""));
    assert_non_null(strstr(f->data, "<size>1</size>"));
    const lp_buf *v = file_named(&out, "videos/a/b/clip.xml");
    assert_non_null(strstr(v->data, "<mode>interpolation</mode>"));
    assert_non_null(strstr(v->data, "frame=\"0\" keyframe=\"1\" outside=\"0\" xtl=\"0\""));
    assert_non_null(strstr(v->data, "frame=\"4\" keyframe=\"1\" outside=\"0\" xtl=\"4\""));
    /* the range ends at 10: the track goes outside there, holding the last shape */
    assert_non_null(strstr(v->data, "frame=\"10\" keyframe=\"1\" outside=\"1\" xtl=\"4\""));
    assert_int_equal(st->dropped[LP_GEOM_TEXT], 0);
    assert_int_equal(st->written[LP_GEOM_BOUNDING_BOX], 2);
    lp_fmt_writer_free(w);
    files_free(&out);
}

/* Inflates a palette PNG's pixels (filter 0 rows) into px. */
static void png_pixels(const lp_buf *f, uint32_t *w, uint32_t *h, uint8_t *px, size_t cap, unsigned char pal[768])
{
    const unsigned char *p = (const unsigned char *)f->data + 8, *end = (const unsigned char *)f->data + f->len;
    unsigned char idat[65536];
    size_t nidat = 0;
    assert_memory_equal(f->data, "\x89PNG\r\n\x1a\n", 8);
    while (p + 12 <= end) {
        uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        uLong crc = crc32(0, p + 4, n + 4);
        const unsigned char *c = p + 8 + n;
        assert_int_equal(crc, (uLong)c[0] << 24 | (uLong)c[1] << 16 | (uLong)c[2] << 8 | c[3]);
        if (memcmp(p + 4, "IHDR", 4) == 0) {
            *w = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
            *h = (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 | (uint32_t)p[14] << 8 | p[15];
            assert_int_equal(p[16], 8);
            assert_int_equal(p[17], 3);
        } else if (memcmp(p + 4, "PLTE", 4) == 0) {
            memcpy(pal, p + 8, n);
        } else if (memcmp(p + 4, "IDAT", 4) == 0) {
            memcpy(idat + nidat, p + 8, n);
            nidat += n;
        }
        p += 12 + n;
    }
    uint8_t raw[4096];
    uLongf rawlen = sizeof raw;
    assert_int_equal(uncompress(raw, &rawlen, idat, nidat), Z_OK);
    assert_int_equal(rawlen, (size_t)(*w + 1) * *h);
    for (uint32_t y = 0; y < *h; y++) {
        assert_int_equal(raw[y * (*w + 1)], 0);
        assert_true((size_t)(y + 1) * *w <= cap);
        memcpy(px + y * *w, raw + y * (*w + 1) + 1, *w);
    }
}

static void test_masks(void **state)
{
    (void)state;
    files out = {.n = 0};
    lp_fmt_writer *w;
    const lp_fmt_stats *st = run("mask", NULL, &out, &w, false);
    uint32_t W = 0, H = 0;
    uint8_t px[80];
    unsigned char pal[768];
    png_pixels(file_named(&out, "masks/a/b/cat.png"), &W, &H, px, sizeof px, pal);
    assert_int_equal(W, 10);
    assert_int_equal(H, 8);
    /* the polygon 0..4 covers pixels 0..3 of rows 0..3; the mask's pixels are drawn too */
    assert_int_equal(px[0], 1);
    assert_int_equal(px[3 * 10 + 3], 1);
    assert_int_equal(px[16], 1);
    assert_int_equal(px[26], 1);
    assert_int_equal(px[7 * 10 + 9], 0);
    assert_int_equal(pal[3], 255); /* class 1 (cat) is red */
    assert_int_equal(st->dropped[LP_GEOM_SKELETON], 1);
    assert_non_null(strstr(file_named(&out, "class_mapping.csv")->data, "1,\"cat\",#ff0000\n2,\"person\",#0000ff\n"));
    lp_fmt_writer_free(w);
    files_free(&out);

    run("mask", "instance", &out, &w, false);
    png_pixels(file_named(&out, "instances/a/b/cat.png"), &W, &H, px, sizeof px, pal);
    assert_int_equal(px[16], 4); /* box 1, polygon 2, ellipse 3, mask 4 */
    assert_non_null(strstr(file_named(&out, "instances.csv")->data, "\"a/b/cat.jpg\",4,\"cat\"," MASK_ID "\n"));
    lp_fmt_writer_free(w);
    files_free(&out);
}

static void test_darwin(void **state)
{
    (void)state;
    files out = {.n = 0};
    lp_fmt_writer *w;
    run("darwin", NULL, &out, &w, true);
    const lp_buf *f = file_named(&out, "a/b/cat.json");
    json_error_t jerr;
    json_t *doc = json_loadb(f->data, f->len, 0, &jerr);
    if (!doc)
        fail_msg("Darwin is not JSON: %s", jerr.text);
    assert_string_equal(json_string_value(json_object_get(doc, "version")), "2.0");
    assert_int_equal(json_array_size(json_object_get(doc, "annotations")), 9);
    json_decref(doc);
    f = file_named(&out, "a/b/clip.json");
    doc = json_loadb(f->data, f->len, 0, &jerr);
    assert_non_null(doc);
    json_t *frames = json_object_get(json_array_get(json_object_get(doc, "annotations"), 0), "frames");
    assert_int_equal(json_object_size(frames), 2);
    json_decref(doc);
    f = file_named(&out, ".v7/metadata.json");
    doc = json_loadb(f->data, f->len, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "classes")), 11); /* cat: 10 types, person: 1 */
    json_decref(doc);
    lp_fmt_writer_free(w);
    files_free(&out);
}

static void test_names(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    files out = {.n = 0};
    lp_fmt_out o = {.open = mem_open, .write = mem_write, .ud = &out};
    assert_null(lp_fmt_writer_new("tfrecord", &o, &CLS, NULL, &err));
    assert_string_equal(err.fields[0].field, "format");
    assert_true(lp_fmt_variant_valid("yolo", "segment"));
    assert_false(lp_fmt_variant_valid("coco", "segment"));
    assert_true(lp_fmt_variant_valid("coco", NULL));
}

static int setup(void **state)
{
    (void)state;
    setup_classes();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coco),  cmocka_unit_test(test_yolo),   cmocka_unit_test(test_voc_and_cvat),
        cmocka_unit_test(test_masks), cmocka_unit_test(test_darwin), cmocka_unit_test(test_names),
        cmocka_unit_test(test_video_frames_told),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
