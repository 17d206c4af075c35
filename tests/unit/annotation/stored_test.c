/* The stored form without a server: the blob's bytes are the persistence
 * format, so a few shapes are pinned to their exact bytes (docs/ANNOTATIONS.md
 * "Storage"), every truncation is refused, and a damaged blob is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "loupe/annotation/stored.h"

static const unsigned char BBOX_BLOB[] = {
    1, 0,                                          /* version 1, bounding_box */
    0, 0, 0, 0, 0, 0, 0x25, 0x40,                  /* x = 10.5 */
    0, 0, 0, 0, 0, 0, 0,    0xc0,                  /* y = -2 */
    0, 0, 0, 0, 0, 0, 0x0a, 0x40,                  /* w = 3.25 */
    0, 0, 0, 0, 0, 0, 0,    0,                     /* h = 0 */
};

static const unsigned char POLYGON_BLOB[] = {
    1, 1,                                          /* version 1, polygon */
    1, 0, 0, 0,                                    /* one path */
    3, 0, 0, 0,                                    /* of three points */
    0, 0, 0, 0, 0, 0, 0, 0,    0, 0, 0, 0, 0, 0, 0, 0,           /* (0, 0) */
    0, 0, 0, 0, 0, 0, 0x10, 0x40, 0, 0, 0, 0, 0, 0, 0, 0,        /* (4, 0) */
    0, 0, 0, 0, 0, 0, 0x10, 0x40, 0, 0, 0, 0, 0, 0, 0x10, 0x40,  /* (4, 4) */
};

/* Type bytes are fixed per type: rotated_box, added after the others, is 17
 * and a table (whose type number in memory moved) stays 12. */
static const unsigned char RBOX_BLOB[] = {
    1, 17,                                         /* version 1, rotated_box */
    0, 0, 0, 0, 0, 0, 0x25, 0x40,                  /* x = 10.5 */
    0, 0, 0, 0, 0, 0, 0,    0xc0,                  /* y = -2 */
    0, 0, 0, 0, 0, 0, 0x0a, 0x40,                  /* w = 3.25 */
    0, 0, 0, 0, 0, 0, 0x10, 0x40,                  /* h = 4 */
    0, 0, 0, 0, 0, 0, 0xe0, 0x3f,                  /* angle = 0.5 */
};

static const unsigned char TABLE_BLOB[] = {1, 12, 2, 0, 0, 0, '{', '}'};

static void encode_is(const lp_ann_geom *g, const unsigned char *want, size_t n)
{
    lp_buf b;
    lp_buf_init(&b, 1 << 16);
    assert_int_equal(lp_ann_geom_encode(g, &b), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, want, n);
    lp_buf_free(&b);
}

static void test_pinned_bytes(void **state)
{
    (void)state;
    lp_ann_geom box = {.type = LP_GEOM_BOUNDING_BOX};
    box.shape.type = LP_GEOM_BOUNDING_BOX;
    box.shape.u.bbox = (lp_geom_bbox){.x = 10.5, .y = -2, .w = 3.25, .h = 0};
    encode_is(&box, BBOX_BLOB, sizeof BBOX_BLOB);

    lp_geom_point pts[3] = {{0, 0}, {4, 0}, {4, 4}};
    lp_geom_path path = {.points = pts, .npoints = 3};
    lp_ann_geom poly = {.type = LP_GEOM_POLYGON};
    poly.shape.type = LP_GEOM_POLYGON;
    poly.shape.u.polygon.paths = &path;
    poly.shape.u.polygon.npaths = 1;
    encode_is(&poly, POLYGON_BLOB, sizeof POLYGON_BLOB);

    lp_ann_geom rbox = {.type = LP_GEOM_ROTATED_BOX};
    rbox.shape.type = LP_GEOM_ROTATED_BOX;
    rbox.shape.u.rbox = (lp_geom_rbox){.x = 10.5, .y = -2, .w = 3.25, .h = 4, .angle = 0.5};
    encode_is(&rbox, RBOX_BLOB, sizeof RBOX_BLOB);

    lp_ann_geom table = {.type = LP_ANN_TABLE, .raw = "{}", .raw_len = 2};
    encode_is(&table, TABLE_BLOB, sizeof TABLE_BLOB);
}

static void test_decode_and_truncation(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_ann_geom g;
    lp_error err;
    assert_int_equal(lp_ann_geom_decode(POLYGON_BLOB, sizeof POLYGON_BLOB, a, &g, &err), 0);
    assert_int_equal(g.type, LP_GEOM_POLYGON);
    assert_int_equal(g.shape.u.polygon.npaths, 1);
    assert_int_equal(g.shape.u.polygon.paths[0].npoints, 3);
    assert_true(g.shape.u.polygon.paths[0].points[2].x == 4 && g.shape.u.polygon.paths[0].points[2].y == 4);
    for (size_t cut = 0; cut < sizeof POLYGON_BLOB; cut++)
        assert_int_equal(lp_ann_geom_decode(POLYGON_BLOB, cut, a, &g, &err), -1);
    unsigned char junk[4] = {9, 0, 0, 0};
    assert_int_equal(lp_ann_geom_decode(junk, sizeof junk, a, &g, &err), -1);
    assert_int_equal(err.code, LP_E_INTERNAL);

    /* the fixed type bytes read back as their types */
    assert_int_equal(lp_ann_geom_decode(RBOX_BLOB, sizeof RBOX_BLOB, a, &g, &err), 0);
    assert_int_equal(g.type, LP_GEOM_ROTATED_BOX);
    assert_int_equal(g.shape.type, LP_GEOM_ROTATED_BOX);
    assert_true(g.shape.u.rbox.x == 10.5 && g.shape.u.rbox.y == -2 && g.shape.u.rbox.w == 3.25 &&
                g.shape.u.rbox.h == 4 && g.shape.u.rbox.angle == 0.5);
    for (size_t cut = 0; cut < sizeof RBOX_BLOB; cut++)
        assert_int_equal(lp_ann_geom_decode(RBOX_BLOB, cut, a, &g, &err), -1);
    assert_int_equal(lp_ann_geom_decode(TABLE_BLOB, sizeof TABLE_BLOB, a, &g, &err), 0);
    assert_int_equal(g.type, LP_ANN_TABLE);
    assert_int_equal(g.raw_len, 2);
    unsigned char unknown[2] = {1, 18};
    assert_int_equal(lp_ann_geom_decode(unknown, sizeof unknown, a, &g, &err), -1);
    lp_arena_free(a);
}

static void test_store_rows(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_ann anns[2];
    const lp_ann *list[2] = {&anns[0], &anns[1]};
    lp_ann_row *rows;
    lp_ann_frame_row *frames;
    size_t nframes;
    lp_buf blobs;
    lp_error err;
    lp_geom_frame_range range = {0, 5};
    lp_ann_frame fr[2];
    memset(anns, 0, sizeof anns);
    memset(fr, 0, sizeof fr);
    anns[0].id = "6a52a094-d998-4e6e-81b3-6beeebfaae0b";
    anns[0].body.data = "{}";
    anns[0].body.data_len = 2;
    anns[0].body.geom.type = -1; /* a tag: no shape */
    anns[1].id = "7b52a094-d998-4e6e-81b3-6beeebfaae0b";
    anns[1].video = true;
    anns[1].ranges = &range;
    anns[1].nranges = 1;
    anns[1].body.geom.type = -1;
    for (int k = 0; k < 2; k++) {
        fr[k].frame = k * 4;
        fr[k].keyframe = true;
        fr[k].body.geom.type = LP_GEOM_BOUNDING_BOX;
        fr[k].body.geom.shape.type = LP_GEOM_BOUNDING_BOX;
        fr[k].body.geom.shape.u.bbox = (lp_geom_bbox){.x = 10.5, .y = -2, .w = 3.25, .h = 0};
    }
    anns[1].frames = fr;
    anns[1].nframes = 2;
    /* a buffer that has to grow (and move) while the shapes go in */
    lp_buf_init(&blobs, 1 << 16);
    assert_int_equal(lp_ann_store(list, 2, a, &blobs, &rows, &frames, &nframes, &err), 0);
    assert_null(rows[0].body.geom);
    assert_false(rows[0].video);
    assert_true(rows[1].video);
    assert_int_equal(rows[1].version, 1);
    assert_int_equal(nframes, 2);
    for (int k = 0; k < 2; k++) {
        assert_string_equal(frames[k].annotation_id, anns[1].id);
        assert_int_equal(frames[k].frame, k * 4);
        assert_int_equal(frames[k].body.geom_len, sizeof BBOX_BLOB);
        assert_memory_equal(frames[k].body.geom, BBOX_BLOB, sizeof BBOX_BLOB);
    }
    lp_buf_free(&blobs);
    lp_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_bytes),
        cmocka_unit_test(test_decode_and_truncation),
        cmocka_unit_test(test_store_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
