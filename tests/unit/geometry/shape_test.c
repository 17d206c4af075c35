/* Shape type names, deep copies and validation errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "loupe/geometry/shape.h"

static const lp_geom_limits limits = {.max_points = 5, .max_paths = 2, .max_pixels = 100};

/* The field error named field, or NULL. */
static const lp_field_error *field(const lp_error *e, const char *name)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (strcmp(e->fields[i].field, name) == 0)
            return &e->fields[i];
    return NULL;
}

static void test_type_names(void **state)
{
    (void)state;
    const char *names[] = {"bounding_box", "polygon", "line", "keypoint", "skeleton",
                           "ellipse", "cuboid", "tag", "mask", "text", "rotated_box"};
    for (int i = 0; i < LP_GEOM_TYPE_COUNT; i++) {
        lp_geom_type t;
        assert_string_equal(lp_geom_type_name((lp_geom_type)i), names[i]);
        assert_int_equal(lp_geom_type_from_name(names[i], &t), 0);
        assert_int_equal(t, i);
    }
    lp_geom_type t = LP_GEOM_LINE;
    assert_int_equal(lp_geom_type_from_name("Polygon", &t), -1);
    assert_int_equal(lp_geom_type_from_name("", &t), -1);
    assert_int_equal(lp_geom_type_from_name(NULL, &t), -1);
    assert_int_equal(t, LP_GEOM_LINE);
    assert_null(lp_geom_type_name(LP_GEOM_TYPE_COUNT));
    assert_null(lp_geom_type_name((lp_geom_type)-1));
    assert_false(lp_geom_type_has_geometry(LP_GEOM_TAG));
    assert_false(lp_geom_type_has_geometry(LP_GEOM_TEXT));
    assert_true(lp_geom_type_has_geometry(LP_GEOM_MASK));
    assert_true(lp_geom_type_has_geometry(LP_GEOM_BOUNDING_BOX));
}

static void test_valid_shapes(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_point tri[3] = {{0, 0}, {4, 0}, {0, 3}};
    lp_geom_path path = {tri, 3};
    lp_geom_skeleton_node nodes[2] = {{"head", 1, 2, false}, {"tail", 3, 4, true}};
    uint32_t counts[3] = {10, 5, 85};
    lp_geom_shape shapes[] = {
        {.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {1, 2, 0, 5}},
        {.type = LP_GEOM_POLYGON, .u.polygon = {&path, 1}},
        {.type = LP_GEOM_LINE, .u.line = {tri, 2}},
        {.type = LP_GEOM_KEYPOINT, .u.keypoint = {-3, 7.5}},
        {.type = LP_GEOM_SKELETON, .u.skeleton = {nodes, 2}},
        {.type = LP_GEOM_ELLIPSE, .u.ellipse = {{5, 5}, {0, 2}, -1.0}},
        {.type = LP_GEOM_CUBOID, .u.cuboid = {{0, 0, 1, 1}, {1, 1, 2, 2}}},
        {.type = LP_GEOM_TAG},
        {.type = LP_GEOM_TEXT},
        {.type = LP_GEOM_MASK, .u.mask = {10, 10, LP_GEOM_RLE_COLUMN_MAJOR, counts, 3}},
        {.type = LP_GEOM_MASK, .u.mask = {10, 10, LP_GEOM_RLE_ROW_MAJOR, NULL, 0}},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        assert_int_equal(lp_geom_validate(&shapes[i], &limits, &err), 0);
        assert_int_equal(err.code, LP_OK);
    }
}

static void test_polygon_errors_name_fields(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    lp_geom_point p0[4] = {{0, 0}, {1, 0}, {1, 1}, {NAN, 1}};
    lp_geom_point p1[2] = {{0, 0}, {1, 1}};
    lp_geom_path paths[2] = {{p0, 4}, {p1, 2}};
    lp_geom_shape s = {.type = LP_GEOM_POLYGON, .u.polygon = {paths, 2}};
    assert_int_equal(lp_geom_validate(&s, &limits, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_non_null(strstr(err.message, "polygon"));
    assert_int_equal(err.nfields, 2);
    const lp_field_error *f = field(&err, "polygon.paths[0][3].x");
    assert_non_null(f);
    assert_string_equal(f->message, "must be a finite number");
    f = field(&err, "polygon.paths[1]");
    assert_non_null(f);
    assert_string_equal(f->message, "needs at least 3 points (got 2)");
    assert_null(field(&err, "polygon.paths[0][3].y"));

    /* limits: too many paths, too many points, no paths */
    lp_geom_path three[3] = {{p0, 3}, {p0, 3}, {p0, 3}};
    s.u.polygon = (lp_geom_polygon){three, 3};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_validate(&s, &limits, &err), -1);
    assert_string_equal(err.fields[0].field, "polygon.paths");
    assert_string_equal(err.fields[0].message, "has 3 paths; at most 2 are allowed");
    lp_geom_point many[6] = {{0, 0}, {1, 0}, {2, 0}, {2, 1}, {1, 1}, {0, 1}};
    lp_geom_path big = {many, 6};
    s.u.polygon = (lp_geom_polygon){&big, 1};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_validate(&s, &limits, &err), -1);
    assert_string_equal(err.fields[0].field, "polygon.paths[0]");
    assert_string_equal(err.fields[0].message, "has 6 points; at most 5 are allowed");
    s.u.polygon = (lp_geom_polygon){NULL, 0};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_validate(&s, &limits, &err), -1);
    assert_string_equal(err.fields[0].field, "polygon.paths");
}

static void test_other_errors_name_fields(void **state)
{
    (void)state;
    lp_error err;
    struct {
        lp_geom_shape s;
        const char *field;
        const char *message;
    } cases[] = {
        {{.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {0, 0, -1, 2}}, "bounding_box.w", "must be at least 0 (got -1)"},
        {{.type = LP_GEOM_BOUNDING_BOX, .u.bbox = {0, INFINITY, 1, 2}}, "bounding_box.y", "must be a finite number"},
        {{.type = LP_GEOM_ELLIPSE, .u.ellipse = {{0, 0}, {1, -2}, 0}}, "ellipse.radius.y", "must be at least 0 (got -2)"},
        {{.type = LP_GEOM_ELLIPSE, .u.ellipse = {{0, 0}, {1, 2}, NAN}}, "ellipse.angle", "must be a finite number"},
        {{.type = LP_GEOM_ELLIPSE, .u.ellipse = {{NAN, 0}, {1, 2}, 0}}, "ellipse.center.x", "must be a finite number"},
        {{.type = LP_GEOM_CUBOID, .u.cuboid = {{0, 0, 1, 1}, {0, 0, 1, -3}}}, "cuboid.back.h", "must be at least 0 (got -3)"},
        {{.type = LP_GEOM_KEYPOINT, .u.keypoint = {1, -INFINITY}}, "keypoint.y", "must be a finite number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lp_error_clear(&err);
        assert_int_equal(lp_geom_validate(&cases[i].s, &limits, &err), -1);
        assert_int_equal(err.code, LP_E_INVALID);
        assert_int_equal(err.nfields, 1);
        assert_string_equal(err.fields[0].field, cases[i].field);
        assert_string_equal(err.fields[0].message, cases[i].message);
    }

    lp_geom_point line_pts[1] = {{0, 0}};
    lp_geom_shape line = {.type = LP_GEOM_LINE, .u.line = {line_pts, 1}};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_validate(&line, &limits, &err), -1);
    assert_string_equal(err.fields[0].field, "line.path");

    lp_geom_skeleton_node nodes[2] = {{"a", 0, 0, false}, {"b", 1, NAN, false}};
    lp_geom_shape sk = {.type = LP_GEOM_SKELETON, .u.skeleton = {nodes, 2}};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_validate(&sk, &limits, &err), -1);
    assert_string_equal(err.fields[0].field, "skeleton.nodes[1].y");

    uint32_t counts[2] = {50, 49};
    lp_geom_shape mask = {.type = LP_GEOM_MASK, .u.mask = {10, 10, LP_GEOM_RLE_COLUMN_MAJOR, counts, 2}};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_validate(&mask, &limits, &err), -1);
    assert_string_equal(err.fields[0].field, "mask.counts");
    mask.u.mask.width = 11;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_validate(&mask, &limits, &err), -1);
    assert_string_equal(err.fields[0].field, "mask");

    lp_geom_shape unknown = {.type = (lp_geom_type)42};
    lp_error_clear(&err);
    assert_int_equal(lp_geom_validate(&unknown, &limits, &err), -1);
    assert_string_equal(err.fields[0].field, "type");
}

static void test_many_errors_are_capped(void **state)
{
    (void)state;
    lp_geom_point pts[40];
    for (int i = 0; i < 40; i++)
        pts[i] = (lp_geom_point){NAN, NAN};
    lp_geom_path path = {pts, 40};
    lp_geom_shape s = {.type = LP_GEOM_POLYGON, .u.polygon = {&path, 1}};
    lp_geom_limits lim = {100, 10, 100};
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_geom_validate(&s, &lim, &err), -1);
    assert_int_equal(err.nfields, LP_ERROR_MAX_FIELDS);
    assert_int_equal(err.nfields + err.nfields_dropped, 80);
    assert_string_equal(err.fields[0].field, "polygon.paths[0][0].x");
    assert_string_equal(err.fields[1].field, "polygon.paths[0][0].y");
}

static void test_copy_is_deep(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    assert_non_null(a);
    lp_error err;
    lp_error_clear(&err);
    char name[8] = "elbow";
    lp_geom_skeleton_node nodes[1] = {{name, 1, 2, true}};
    lp_geom_shape src = {.type = LP_GEOM_SKELETON, .u.skeleton = {nodes, 1}}, dst;
    assert_int_equal(lp_geom_shape_copy(a, &dst, &src, &err), 0);
    strcpy(name, "wrist");
    nodes[0].x = 99;
    assert_string_equal(dst.u.skeleton.nodes[0].name, "elbow");
    assert_true(dst.u.skeleton.nodes[0].x == 1);
    assert_true(dst.u.skeleton.nodes[0].occluded);

    lp_geom_point pts[3] = {{0, 0}, {1, 0}, {0, 1}};
    lp_geom_path path = {pts, 3};
    src = (lp_geom_shape){.type = LP_GEOM_POLYGON, .u.polygon = {&path, 1}};
    assert_int_equal(lp_geom_shape_copy(a, &dst, &src, &err), 0);
    pts[1].x = 7;
    assert_true(dst.u.polygon.paths[0].points[1].x == 1);
    assert_ptr_not_equal(dst.u.polygon.paths, &path);
    lp_arena_free(a);

    /* an arena too small reports LP_E_NOMEM and leaves dst zeroed */
    lp_arena *tiny = lp_arena_new(64, 64);
    assert_non_null(tiny);
    lp_geom_point lots[64] = {{0, 0}};
    lp_geom_path lp = {lots, 64};
    src.u.polygon = (lp_geom_polygon){&lp, 1};
    assert_int_equal(lp_geom_shape_copy(tiny, &dst, &src, &err), -1);
    assert_int_equal(err.code, LP_E_NOMEM);
    assert_int_equal(dst.u.polygon.npaths, 0);
    lp_arena_free(tiny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_valid_shapes),
        cmocka_unit_test(test_polygon_errors_name_fields),
        cmocka_unit_test(test_other_errors_name_fields),
        cmocka_unit_test(test_many_errors_are_capped),
        cmocka_unit_test(test_copy_is_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
