/* Which stored file a model decodes for an image slot (lp_model_infer_source): the smallest derived
 * image that still holds the pixels the model needs, else the original. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "loupe/jobs/model_infer.h"

/* A slot's storage and media as media.normalize leaves them for a 4000 × 3000 photograph (preview 2048 ×
 * 1536, thumbnail 256 × 192). */
static json_t *storage_doc(void)
{
    return json_pack("{s:s, s:s, s:s}", "original", "uploads/o", "thumbnail", "derived/t", "preview", "derived/p");
}

static json_t *media_doc(int has_alpha)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:b}", "thumbnail_width", (json_int_t)256, "thumbnail_height",
                     (json_int_t)192, "preview_width", (json_int_t)2048, "preview_height", (json_int_t)1536,
                     "has_alpha", has_alpha);
}

static void test_smallest_that_holds_the_input(void **state)
{
    json_t *st = storage_doc(), *media = media_doc(0);
    lp_image_fit small = {128, 128, 0}, cover = {256, 256, 1}, mid = {640, 640, 0}, huge = {4096, 4096, 0};
    (void)state;
    /* 128 × 128 letterboxed needs a longest side of 128: the thumbnail (256) holds it */
    assert_string_equal(lp_model_infer_source(st, media, 4000, 3000, 2048, &small), "derived/t");
    /* 256 × 256 stretched needs the short side at 256, the long one at 342: the preview */
    assert_string_equal(lp_model_infer_source(st, media, 4000, 3000, 2048, &cover), "derived/p");
    assert_string_equal(lp_model_infer_source(st, media, 4000, 3000, 2048, &mid), "derived/p");
    /* more than the preview holds: the original, unless model_image_max_side caps the need */
    assert_string_equal(lp_model_infer_source(st, media, 4000, 3000, 4096, &huge), "uploads/o");
    assert_string_equal(lp_model_infer_source(st, media, 4000, 3000, 2048, &huge), "derived/p");
    /* the whole image (a model server that takes it): model_image_max_side decides */
    assert_string_equal(lp_model_infer_source(st, media, 4000, 3000, 2048, NULL), "derived/p");
    assert_string_equal(lp_model_infer_source(st, media, 4000, 3000, 3000, NULL), "uploads/o");
    /* exactly as large as needed is enough */
    lp_image_fit exact = {256, 192, 0};
    assert_string_equal(lp_model_infer_source(st, media, 4000, 3000, 2048, &exact), "derived/t");
    lp_image_fit one_more = {257, 193, 0};
    assert_string_equal(lp_model_infer_source(st, media, 4000, 3000, 2048, &one_more), "derived/p");
    json_decref(media);
    json_decref(st);
}

/* A derived image as large as the original is no smaller to decode (and was encoded once more): the original. */
static void test_never_one_as_large_as_the_original(void **state)
{
    json_t *st = storage_doc();
    json_t *media = json_pack("{s:I, s:I, s:I, s:I, s:b}", "thumbnail_width", (json_int_t)256, "thumbnail_height",
                              (json_int_t)256, "preview_width", (json_int_t)512, "preview_height", (json_int_t)512,
                              "has_alpha", 0);
    lp_image_fit small = {128, 128, 0}, mid = {300, 300, 0};
    (void)state;
    assert_string_equal(lp_model_infer_source(st, media, 512, 512, 2048, &small), "derived/t");
    assert_string_equal(lp_model_infer_source(st, media, 512, 512, 2048, &mid), "uploads/o");
    assert_string_equal(lp_model_infer_source(st, media, 512, 512, 2048, NULL), "uploads/o");
    json_decref(media);
    json_decref(st);
}

/* Alpha, an unknown size, missing sizes or files: the original; no original: NULL. */
static void test_the_original_otherwise(void **state)
{
    json_t *st = storage_doc(), *alpha = media_doc(1), *media = media_doc(0), *bare = json_object();
    json_t *only = json_pack("{s:s}", "original", "uploads/o"), *none = json_pack("{s:s}", "thumbnail", "derived/t");
    lp_image_fit small = {128, 128, 0};
    (void)state;
    assert_string_equal(lp_model_infer_source(st, alpha, 4000, 3000, 2048, &small), "uploads/o");
    assert_string_equal(lp_model_infer_source(st, media, -1, -1, 2048, &small), "uploads/o");
    assert_string_equal(lp_model_infer_source(st, NULL, 4000, 3000, 2048, &small), "uploads/o");
    assert_string_equal(lp_model_infer_source(st, bare, 4000, 3000, 2048, &small), "uploads/o");
    assert_string_equal(lp_model_infer_source(only, media, 4000, 3000, 2048, &small), "uploads/o");
    assert_null(lp_model_infer_source(none, media, 4000, 3000, 2048, &small));
    assert_null(lp_model_infer_source(NULL, media, 4000, 3000, 2048, &small));
    json_decref(none);
    json_decref(only);
    json_decref(bare);
    json_decref(media);
    json_decref(alpha);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smallest_that_holds_the_input),
        cmocka_unit_test(test_never_one_as_large_as_the_original),
        cmocka_unit_test(test_the_original_otherwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
