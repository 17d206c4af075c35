/* Darwin JSON 2.0 without a server: reading annotations with field errors,
 * every type through the stored blob and back to Darwin JSON, and the
 * shortest round-trip number format. */
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
#include "loupe/formats/json_text.h"

static const lp_ann_limits LIMITS = {
    .geom = {.max_points = 1000, .max_paths = 10, .max_pixels = 1000000}, .max_frame = 999, .max_string = 100};

static void test_format_double(void **state)
{
    (void)state;
    struct {
        double v;
        const char *text;
    } fixed[] = {{0, "0"}, {1, "1"}, {-2.5, "-2.5"}, {0.1, "0.1"}, {100, "100"}, {35.85509999999999, "35.85509999999999"},
                 {0.0001, "0.0001"}, {123456.789, "123456.789"}, {-0.0, "-0"}};
    char out[32];
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        lp_json_format_double(fixed[i].v, out);
        assert_string_equal(out, fixed[i].text);
    }
    srand(11);
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        size_t n = lp_json_format_double(v, out);
        assert_int_equal(n, strlen(out));
        assert_true(strtod(out, NULL) == v);
        double w = (double)(rand() % 2000000 - 1000000) / 1000.0; /* typical coordinates */
        lp_json_format_double(w, out);
        assert_true(strtod(out, NULL) == w);
        assert_true(strlen(out) <= 9);
    }
}

/* printf's answer: the fewest of 15, 16 or 17 significant digits that read back. */
static size_t printf_double(double v, char out[32])
{
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return (size_t)n;
}

/* Sums, products and ratios of coordinates need 15 to 17 digits: each reads
 * back as the same double, in no more characters than printf's shortest. */
static void test_format_double_long(void **state)
{
    (void)state;
    struct {
        double v;
        const char *text;
    } fixed[] = {{0.1 + 0.2, "0.30000000000000004"}, {1.0 / 3, "0.3333333333333333"}, {2.0 / 3, "0.6666666666666666"},
                 {1920.0 / 7, "274.2857142857143"},  {0.0001 / 3, "3.3333333333333335e-05"}, {1e15 / 3, "333333333333333.3"}};
    char out[32], ref[32];
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        lp_json_format_double(fixed[i].v, out);
        assert_string_equal(out, fixed[i].text);
    }
    srand(12);
    for (int i = 0; i < 300000; i++) {
        double a = (double)(rand() % 200000) / 100.0, b = (double)(rand() % 200000) / 1000.0, v;
        switch (i % 4) {
        case 0: v = a + b; break;
        case 1: v = a * b; break;
        case 2: v = b / 1920.0; break;
        default: v = -a / (b + 1) * 1e-3; break;
        }
        size_t n = lp_json_format_double(v, out);
        assert_int_equal(n, strlen(out));
        assert_true(strtod(out, NULL) == v);
        if (fabs(v) >= 1e-4 && n > printf_double(v, ref)) /* below, printf writes an exponent */
            fail_msg("%.17g: %s, printf %s", v, out, ref);
    }
}

/* Reads one annotation from text. */
static int read_one(lp_arena *a, const char *text, lp_ann *ann, lp_error *err)
{
    lp_jscan s;
    lp_error_clear(err);
    lp_jscan_init(&s, text, strlen(text));
    return lp_darwin_read(&s, a, &LIMITS, LP_ANN_CREATE, ann, err);
}

static int has_field(const lp_error *err, const char *field)
{
    for (size_t i = 0; i < err->nfields; i++)
        if (strcmp(err->fields[i].field, field) == 0)
            return 1;
    return 0;
}

static void test_read_annotations(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_ann ann;
    lp_error err;
    const char *cls = "\"class_id\":\"6A52A094-D998-4E6E-81B3-6BEEEBFAAE0B\"";
    char text[1024];

    snprintf(text, sizeof text,
             "{%s,\"polygon\":{\"paths\":[[{\"x\":1,\"y\":2},{\"x\":3,\"y\":4},{\"x\":5,\"y\":0}]]},"
             "\"bounding_box\":{\"x\":1,\"y\":0,\"w\":4,\"h\":4},\"text\":{\"text\":\"hi\"},\"z\":-2,"
             "\"instance_id\":{\"value\":3},\"name\":\"kept\",\"weird\":[1,{\"deep\":true}]}",
             cls);
    assert_int_equal(read_one(a, text, &ann, &err), 0);
    assert_string_equal(ann.class_id, "6a52a094-d998-4e6e-81b3-6beeebfaae0b");
    assert_int_equal(ann.type, LP_GEOM_POLYGON);
    assert_int_equal(ann.body.geom.shape.u.polygon.npaths, 1);
    assert_int_equal(ann.body.geom.shape.u.polygon.paths[0].npoints, 3);
    assert_true(ann.has_z && ann.z == -2);
    assert_int_equal(ann.body.sub_types, LP_ANN_SUB_TEXT | LP_ANN_SUB_INSTANCE_ID);
    assert_string_equal(ann.body.extra, "{\"weird\":[1,{\"deep\":true}]}");
    assert_string_equal(ann.class_name, "kept"); /* Darwin's name: checked against the class, derived on read */
    assert_non_null(strstr(ann.body.data, "\"bounding_box\":{\"x\":1,\"y\":0,\"w\":4,\"h\":4}"));
    assert_non_null(strstr(ann.body.data, "\"text\":{\"text\":\"hi\"}"));

    /* every problem of one annotation is reported, each naming its field */
    snprintf(text, sizeof text,
             "{\"polygon\":{\"paths\":[[{\"x\":1,\"y\":2},{\"x\":\"3\",\"y\":4},{\"x\":5}]]},\"confidence\":2,"
             "\"source\":\"alien\"}");
    assert_int_equal(read_one(a, text, &ann, &err), 1);
    assert_true(has_field(&err, "class_id"));
    assert_true(has_field(&err, "polygon.paths[0][1].x"));
    assert_true(has_field(&err, "polygon.paths[0][2].y"));
    assert_true(has_field(&err, "confidence"));
    assert_true(has_field(&err, "source"));

    snprintf(text, sizeof text, "{%s,\"line\":{\"path\":[{\"x\":1,\"y\":2}]}}", cls);
    assert_int_equal(read_one(a, text, &ann, &err), 1);
    assert_true(has_field(&err, "line.path"));

    /* video: frames come back sorted; ranges default to the frames' span */
    snprintf(text, sizeof text,
             "{%s,\"frames\":{\"10\":{\"keypoint\":{\"x\":1,\"y\":1}},\"2\":{\"keyframe\":false,"
             "\"keypoint\":{\"x\":0,\"y\":0},\"text\":{\"text\":\"t\"}}},\"hidden_areas\":[[4,5]],"
             "\"text\":{\"text\":\"whole clip\"}}",
             cls);
    assert_int_equal(read_one(a, text, &ann, &err), 0);
    assert_true(ann.video);
    assert_int_equal(ann.body.geom.type, -1);
    assert_string_equal(ann.body.data, "{\"text\":{\"text\":\"whole clip\"}}");
    assert_int_equal(ann.type, LP_GEOM_KEYPOINT);
    assert_int_equal(ann.nframes, 2);
    assert_int_equal(ann.frames[0].frame, 2);
    assert_false(ann.frames[0].keyframe);
    assert_int_equal(ann.frames[0].body.sub_types, LP_ANN_SUB_TEXT);
    assert_int_equal(ann.nranges, 1);
    assert_int_equal(ann.ranges[0].start, 2);
    assert_int_equal(ann.ranges[0].end, 11);
    assert_int_equal(ann.nhidden, 1);

    snprintf(text, sizeof text, "{%s,\"frames\":{\"1000\":{\"tag\":{}}},\"ranges\":[[3,3]]}", cls);
    assert_int_equal(read_one(a, text, &ann, &err), 1);
    assert_true(has_field(&err, "frames.1000"));

    snprintf(text, sizeof text, "{%s,\"frames\":{\"1\":{\"tag\":{}}},\"ranges\":[[3,3]]}", cls);
    assert_int_equal(read_one(a, text, &ann, &err), 1);
    assert_true(has_field(&err, "ranges[0]"));
    lp_arena_free(a);
}

/* Encodes and decodes a shape read from text; the JSON written back must
 * equal expect. */
static void round_trip(lp_arena *a, const char *member, const char *expect)
{
    char text[512], out_text[512];
    lp_ann ann;
    lp_error err;
    lp_buf blob, out;
    lp_ann_geom g;
    snprintf(text, sizeof text, "{\"class_id\":\"6a52a094-d998-4e6e-81b3-6beeebfaae0b\",%s}", member);
    if (read_one(a, text, &ann, &err) != 0)
        fail_msg("%s: %s %s", member, err.message, err.nfields ? err.fields[0].field : "");
    lp_buf_init(&blob, 1 << 20);
    lp_buf_init(&out, 1 << 20);
    assert_int_equal(lp_ann_geom_encode(&ann.body.geom, &blob), 0);
    assert_int_equal(lp_ann_geom_decode(blob.data, blob.len, a, &g, &err), 0);
    assert_int_equal(g.type, ann.type);
    assert_int_equal(lp_darwin_write_geom(&out, &g), 0);
    snprintf(out_text, sizeof out_text, "%s", out.data);
    assert_string_equal(out_text, expect);
    /* any truncation of the blob is refused, never read past */
    for (size_t cut = 0; cut < blob.len; cut++)
        assert_int_equal(lp_ann_geom_decode(blob.data, cut, a, &g, &err), -1);
    lp_buf_free(&blob);
    lp_buf_free(&out);
}

static void test_blob_round_trips(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    const char *same[] = {
        "\"bounding_box\":{\"x\":10.5,\"y\":-2,\"w\":3.25,\"h\":0}",
        "\"polygon\":{\"paths\":[[{\"x\":0,\"y\":0},{\"x\":4,\"y\":0},{\"x\":4,\"y\":4}],"
        "[{\"x\":1,\"y\":1},{\"x\":2,\"y\":1},{\"x\":2,\"y\":2}]]}",
        "\"line\":{\"path\":[{\"x\":142.624,\"y\":-0.1339},{\"x\":171.0572,\"y\":-45.1531}]}",
        "\"keypoint\":{\"x\":49.6239,\"y\":173.4268}",
        "\"skeleton\":{\"nodes\":[{\"name\":\"a\\\"b\",\"x\":1,\"y\":2,\"occluded\":true},"
        "{\"x\":3,\"y\":4,\"occluded\":false}]}",
        "\"ellipse\":{\"center\":{\"x\":1,\"y\":2},\"radius\":{\"x\":3,\"y\":4},\"angle\":0.3985}",
        "\"cuboid\":{\"front\":{\"x\":1,\"y\":2,\"w\":3,\"h\":4},\"back\":{\"x\":5,\"y\":6,\"w\":7,\"h\":8}}",
        "\"tag\":{}",
        "\"mask\":{\"sparse_rle\":null}",
        "\"text\":{\"text\":\"STOP\"}",
        "\"raster_layer\":{\"dense_rle\":[0,5,1,5],\"mask_annotation_ids_mapping\":{\"x\":1},\"total_pixels\":10}",
        /* Darwin 1.0's complex_polygon and the legacy single-path polygon keep their form */
        "\"complex_polygon\":{\"path\":[[{\"x\":0,\"y\":0},{\"x\":4,\"y\":0},{\"x\":4,\"y\":4}],"
        "[{\"x\":1,\"y\":1},{\"x\":2,\"y\":1},{\"x\":2,\"y\":2}]]}",
        "\"polygon\":{\"path\":[{\"x\":0,\"y\":0},{\"x\":4,\"y\":0},{\"x\":4,\"y\":4}]}",
        "\"table\":{\"bounding_box\":{\"x\":1,\"y\":2,\"w\":3,\"h\":4},\"cells\":[{\"col\":0,\"row\":0}]}",
        "\"simple_table\":{\"bounding_box\":{\"x\":1,\"y\":2,\"w\":3,\"h\":4},\"col_offsets\":[0,0.5],"
        "\"row_offsets\":[0]}",
        "\"string\":{\"sources\":[{\"id\":\"c1\",\"ranges\":[[0,4]]}]}",
        "\"graph\":{\"nodes\":[{\"id\":\"a\"}],\"edges\":[]}",
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        round_trip(a, same[i], same[i]);
    lp_error err;
    lp_ann_geom g;
    unsigned char junk[4] = {9, 0, 0, 0};
    assert_int_equal(lp_ann_geom_decode(junk, sizeof junk, a, &g, &err), -1);
    assert_int_equal(err.code, LP_E_INTERNAL);
    lp_arena_free(a);
}

/* Writes a stored row of ann (as it reads back: class_name set) into out. */
static void write_back(lp_arena *a, const lp_ann *ann, const char *class_name, lp_buf *out)
{
    lp_buf blobs;
    lp_ann_row *rows;
    lp_ann_frame_row *frames;
    size_t nframes;
    lp_error err;
    const lp_ann *list[1] = {ann};
    lp_buf_init(&blobs, 1 << 20);
    assert_int_equal(lp_ann_store(list, 1, a, &blobs, &rows, &frames, &nframes, &err), 0);
    rows[0].class_name = class_name;
    rows[0].slot = "0";
    assert_int_equal(lp_darwin_write_row(out, a, &rows[0], &err), 0);
    for (size_t i = 0; i < nframes; i++)
        assert_int_equal(lp_darwin_write_frame(out, a, &frames[i], i == 0, &err), 0);
    assert_int_equal(lp_darwin_write_row_end(out, &rows[0]), 0);
    lp_buf_free(&blobs);
}

static void test_darwin_keys(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_ann ann;
    lp_error err;
    lp_buf out;
    const char *id = "\"id\":\"3893e60c-436b-47a8-9544-ff60d018a694\"";

    /* name and slot_names name the class and the slot; the writer derives them */
    assert_int_equal(read_one(a, "{\"id\":\"3893e60c-436b-47a8-9544-ff60d018a694\",\"name\":\"car\","
                                 "\"slot_names\":[\"0\"],\"tag\":{},"
                                 "\"annotators\":[{\"email\":\"a@b.c\",\"full_name\":\"A\"}],"
                                 "\"inference\":{\"confidence\":0.5,\"model\":{\"id\":\"m\"}},\"measures\":{}}",
                         &ann, &err),
                     0);
    assert_null(ann.class_id);
    assert_string_equal(ann.class_name, "car");
    assert_string_equal(ann.slot, "0");
    assert_true(ann.slot_from_names);
    assert_false(ann.has_source);
    assert_int_equal(ann.body.sub_types, LP_ANN_SUB_INFERENCE | LP_ANN_SUB_MEASURES);
    assert_null(ann.body.extra);
    lp_buf_init(&out, 1 << 16);
    write_back(a, &ann, "car", &out);
    assert_non_null(strstr(out.data, "\"slot_names\":[\"0\"]"));
    assert_non_null(strstr(out.data, "\"name\":\"car\""));
    assert_non_null(strstr(out.data, "\"annotators\":[{\"email\":\"a@b.c\",\"full_name\":\"A\"}]"));
    lp_buf_free(&out);

    /* contradictions and shapes Darwin does not allow name their field */
    const struct {
        const char *text, *field;
    } bad[] = {
        {"{\"name\":\"car\",\"slot\":\"1\",\"slot_names\":[\"0\"],\"tag\":{}}", "slot_names"},
        {"{\"name\":\"car\",\"slot_names\":[\"0\",\"1\"],\"tag\":{}}", "slot_names[1]"},
        {"{\"tag\":{}}", "class_id"},
        {"{\"name\":\"car\",\"tag\":{},\"reviewers\":[1]}", "reviewers[0]"},
        {"{\"name\":\"car\",\"tag\":{},\"inference\":{\"confidence\":-1}}", "inference.confidence"},
        {"{\"name\":\"car\",\"string\":{}}", "string.sources"},
        {"{\"name\":\"car\",\"table\":{\"bounding_box\":{\"x\":1},\"cells\":[]}}", "table.bounding_box.y"},
        {"{\"name\":\"car\",\"complex_polygon\":{\"paths\":[]}}", "complex_polygon.paths"},
        {"{\"id\":\"a b\",\"name\":\"car\",\"tag\":{}}", "id"},
        {"{\"id\":\"x\\\"y\",\"name\":\"car\",\"tag\":{}}", "id"},
        {"{\"id\":\"\",\"name\":\"car\",\"tag\":{}}", "id"},
        {"{\"id\":\"12345678901234567890123456789012345678901234567890123456789012345\",\"name\":\"car\","
         "\"tag\":{}}",
         "id"},
    };
    /* ids: UUIDs are stored lower-case; plain ids (as the reference client allows) as sent */
    assert_int_equal(read_one(a, "{\"id\":\"3893E60C-436B-47A8-9544-FF60D018A694\",\"name\":\"c\",\"tag\":{}}", &ann, &err),
                     0);
    assert_string_equal(ann.id, "3893e60c-436b-47a8-9544-ff60d018a694");
    assert_int_equal(read_one(a, "{\"id\":\"Mask_1:v2.a-b\",\"name\":\"c\",\"tag\":{}}", &ann, &err), 0);
    assert_string_equal(ann.id, "Mask_1:v2.a-b");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (read_one(a, bad[i].text, &ann, &err) != 1 || !has_field(&err, bad[i].field))
            fail_msg("%s: expected a field error on %s, got %s", bad[i].text, bad[i].field,
                     err.nfields ? err.fields[0].field : "none");
    }

    /* video: interpolated absent is false; ranges and hidden_areas come back only as sent */
    char text[512];
    snprintf(text, sizeof text,
             "{%s,\"name\":\"car\",\"frames\":{\"0\":{\"keypoint\":{\"x\":1,\"y\":1}}},\"hidden_areas\":[]}", id);
    assert_int_equal(read_one(a, text, &ann, &err), 0);
    assert_false(ann.interpolated);
    assert_false(ann.ranges_given);
    assert_true(ann.has_hidden);
    assert_int_equal(ann.nranges, 1); /* the default range, kept for frames on demand */
    lp_buf_init(&out, 1 << 16);
    write_back(a, &ann, "car", &out);
    assert_null(strstr(out.data, "\"ranges\""));
    assert_non_null(strstr(out.data, "\"hidden_areas\":[]"));
    assert_null(strstr(out.data, "\"interpolated\""));
    lp_buf_free(&out);
    snprintf(text, sizeof text,
             "{%s,\"name\":\"car\",\"frames\":{\"0\":{\"keypoint\":{\"x\":1,\"y\":1}}},\"ranges\":[[0,3]],"
             "\"interpolated\":true}",
             id);
    assert_int_equal(read_one(a, text, &ann, &err), 0);
    assert_true(ann.interpolated);
    lp_buf_init(&out, 1 << 16);
    write_back(a, &ann, "car", &out);
    assert_non_null(strstr(out.data, "\"ranges\":[[0,3]]"));
    assert_null(strstr(out.data, "\"hidden_areas\""));
    lp_buf_free(&out);
    lp_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_double),
        cmocka_unit_test(test_format_double_long),
        cmocka_unit_test(test_read_annotations),
        cmocka_unit_test(test_blob_round_trips),
        cmocka_unit_test(test_darwin_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
