/* What loupe push does with each file (src/cli/plan.c): media types by extension, where a file
 * goes in the dataset, and the plan — create, upload, skip by checksum, conflict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/cli/plan.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_media_type(void **state)
{
    (void)state;
    assert_string_equal(lp_cli_media_type("a/b/c.JPG"), "image");
    assert_string_equal(lp_cli_media_type("x.png"), "image");
    assert_string_equal(lp_cli_media_type("clip.mp4"), "video");
    assert_string_equal(lp_cli_media_type("brain.nii.gz"), "volume");
    assert_null(lp_cli_media_type("notes.txt"));
    assert_null(lp_cli_media_type("a/.hidden.jpg"));
    assert_null(lp_cli_media_type(".jpg"));
    assert_null(lp_cli_media_type("archive.gz"));
}

static void test_remote_location(void **state)
{
    (void)state;
    char path[64];
    const char *name;
    assert_int_equal(lp_cli_remote_location("/", "c.jpg", path, sizeof path, &name), 0);
    assert_string_equal(path, "/");
    assert_string_equal(name, "c.jpg");
    assert_int_equal(lp_cli_remote_location("/", "a/b/c.jpg", path, sizeof path, &name), 0);
    assert_string_equal(path, "/a/b");
    assert_string_equal(name, "c.jpg");
    assert_int_equal(lp_cli_remote_location("/cam1", "a/c.jpg", path, sizeof path, &name), 0);
    assert_string_equal(path, "/cam1/a");
    assert_int_equal(lp_cli_remote_location("/cam1", "c.jpg", path, sizeof path, &name), 0);
    assert_string_equal(path, "/cam1");
    assert_int_equal(lp_cli_remote_location("/cam1", "aaaaaaaaaa/c.jpg", path, 8, &name), -1);
}

static void test_plan(void **state)
{
    (void)state;
    lp_cli_local_file files[] = {
        {.rel = "new.jpg", .sha256 = SHA_A},       /* no item */
        {.rel = "a/same.jpg", .sha256 = SHA_A},    /* item holds the same bytes */
        {.rel = "a/partial.jpg", .sha256 = SHA_A}, /* item registered, file never stored */
        {.rel = "a/changed.jpg", .sha256 = SHA_A}, /* item holds other bytes */
        {.rel = "b/same.jpg", .sha256 = SHA_B},    /* same name, other folder: its own item */
    };
    lp_cli_remote_item remote[] = {
        {.path = "/a", .name = "same.jpg", .item_id = "i1", .slot = "0", .sha256 = SHA_A},
        {.path = "/a", .name = "partial.jpg", .item_id = "i2", .slot = "0", .sha256 = NULL},
        {.path = "/a", .name = "changed.jpg", .item_id = "i3", .slot = "0", .sha256 = SHA_B},
        {.path = "/", .name = "same.jpg", .item_id = "i4", .slot = "0", .sha256 = SHA_B}, /* not b/same.jpg */
    };
    lp_cli_plan_entry plan[5];
    assert_int_equal(lp_cli_plan_push(files, 5, remote, 4, "/", 0, plan), 0);
    assert_int_equal(plan[0].action, LP_CLI_CREATE);
    assert_null(plan[0].item);
    assert_int_equal(plan[1].action, LP_CLI_SKIP);
    assert_string_equal(plan[1].item->item_id, "i1");
    assert_int_equal(plan[2].action, LP_CLI_UPLOAD);
    assert_string_equal(plan[2].item->item_id, "i2");
    assert_int_equal(plan[3].action, LP_CLI_CONFLICT);
    assert_string_equal(plan[3].item->item_id, "i3");
    assert_int_equal(plan[4].action, LP_CLI_CREATE);

    /* --replace uploads over other bytes; the same bytes are still skipped */
    assert_int_equal(lp_cli_plan_push(files, 5, remote, 4, "/", 1, plan), 0);
    assert_int_equal(plan[3].action, LP_CLI_UPLOAD);
    assert_int_equal(plan[1].action, LP_CLI_SKIP);

    /* under --path the folder is part of the item's path */
    lp_cli_remote_item under[] = {{.path = "/cam1/a", .name = "same.jpg", .item_id = "i9", .slot = "left",
                                   .sha256 = SHA_A}};
    assert_int_equal(lp_cli_plan_push(files, 5, under, 1, "/cam1", 0, plan), 0);
    assert_int_equal(plan[1].action, LP_CLI_SKIP);
    assert_string_equal(plan[1].item->slot, "left");
    assert_int_equal(plan[0].action, LP_CLI_CREATE);

    /* an empty dataset: everything is created */
    assert_int_equal(lp_cli_plan_push(files, 5, NULL, 0, "/", 0, plan), 0);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(plan[i].action, LP_CLI_CREATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_media_type),
        cmocka_unit_test(test_remote_location),
        cmocka_unit_test(test_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
