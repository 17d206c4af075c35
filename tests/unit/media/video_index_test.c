/* The video index file format: every validation rule of the loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "loupe/media/video_index.h"
#include "media_fixture.h"

#define MAX_FRAMES 1000

static void put(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A valid index of n frames (keyframe every 3rd, pts 10·i) into buf. */
static size_t make(unsigned char *buf, int n)
{
    memset(buf, 0, LP_VIDEO_INDEX_HEADER_SIZE);
    memcpy(buf, "LPVIDX\r\n", 8);
    put(buf + 8, 1, 2);
    put(buf + 10, LP_VIDEO_INDEX_HEADER_SIZE, 2);
    put(buf + 16, 1, 4);
    put(buf + 20, 1000, 4);
    put(buf + 24, 0, 4);
    put(buf + 32, (uint64_t)n, 8);
    unsigned char *rec = buf + LP_VIDEO_INDEX_HEADER_SIZE;
    for (int i = 0; i < n; i++) {
        put(rec + i * 9, (uint64_t)(int64_t)(10 * i - 20), 8);
        rec[i * 9 + 8] = i % 3 == 0 ? LP_VIDEO_FRAME_KEY : 0;
    }
    return LP_VIDEO_INDEX_HEADER_SIZE + (size_t)n * 9;
}

static void reseal(unsigned char *buf, size_t len)
{
    put(buf + 28, fx_crc32(buf + LP_VIDEO_INDEX_HEADER_SIZE, len - LP_VIDEO_INDEX_HEADER_SIZE), 4);
}

static void expect_field(const unsigned char *buf, size_t len, const char *field)
{
    lp_video_index *ix = (lp_video_index *)1;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_video_index_parse(buf, len, MAX_FRAMES, &ix, &err), -1);
    assert_null(ix);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_true(err.nfields >= 1);
    assert_string_equal(err.fields[0].field, field);
    assert_true(strlen(err.message) > 0);
}

static void test_valid(void **state)
{
    unsigned char buf[LP_VIDEO_INDEX_HEADER_SIZE + 9 * 10];
    size_t len = make(buf, 10);
    reseal(buf, len);
    lp_video_index *ix = NULL;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_video_index_parse(buf, len, MAX_FRAMES, &ix, &err), 0);
    assert_int_equal(ix->count, 10);
    assert_int_equal(ix->keyframes, 4);
    assert_int_equal(ix->max_gop, 3);
    assert_int_equal(ix->pts[0], -20);
    assert_int_equal(lp_video_index_time_ms(ix, 9), 90);
    assert_int_equal(lp_video_index_keyframe_before(ix, 8), 6);
    assert_int_equal(lp_video_index_frame_at_ms(ix, 35), 4);
    lp_video_index_free(ix);
    lp_video_index_free(NULL);
}

static void test_header_rules(void **state)
{
    unsigned char buf[LP_VIDEO_INDEX_HEADER_SIZE + 9 * 10], copy[sizeof buf];
    size_t len = make(buf, 10);
    reseal(buf, len);

    expect_field(buf, 20, "index");
    memcpy(copy, buf, len);
    copy[0] = 'X';
    expect_field(copy, len, "index.magic");
    /* one header field set to a bad value at a time: offset, value, width, the field named */
    static const struct { size_t off; uint64_t value; int width; const char *field; } bad[] = {
        {8, 2, 2, "index.version"},
        {10, 64, 2, "index.header_size"},
        {12, 4, 4, "index.flags"},
        {20, 0, 4, "index.time_base"},
        {16, 0xFFFFFFFF, 4, "index.time_base"},
        {24, 0xFFFFFFFF, 4, "index.stream_index"},
        {32, 0, 8, "index.count"},
        {32, MAX_FRAMES + 1, 8, "index.count"},
        {32, UINT64_MAX, 8, "index.count"},
        {40, 1, 8, "index.reserved"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(copy, buf, len);
        put(copy + bad[i].off, bad[i].value, bad[i].width);
        expect_field(copy, len, bad[i].field);
    }
    expect_field(buf, len - 1, "index.count");  /* truncated record */
    expect_field(buf, len - 9, "index.count");  /* a whole record missing */
}

static void test_record_rules(void **state)
{
    unsigned char buf[LP_VIDEO_INDEX_HEADER_SIZE + 9 * 10];
    size_t len = make(buf, 10);
    reseal(buf, len);
    buf[LP_VIDEO_INDEX_HEADER_SIZE + 5 * 9] ^= 0x40; /* damage without resealing */
    expect_field(buf, len, "index.crc");

    len = make(buf, 10);
    put(buf + LP_VIDEO_INDEX_HEADER_SIZE + 4 * 9, 0, 8); /* pts[4] = 0 < pts[3] = 10 */
    reseal(buf, len);
    expect_field(buf, len, "index.pts[4]");

    len = make(buf, 10);
    put(buf + LP_VIDEO_INDEX_HEADER_SIZE + 1 * 9, (uint64_t)-20, 8); /* equal to pts[0] */
    reseal(buf, len);
    expect_field(buf, len, "index.pts[1]");

    len = make(buf, 10);
    put(buf + LP_VIDEO_INDEX_HEADER_SIZE + 9 * 9, (uint64_t)INT64_MAX, 8);
    reseal(buf, len);
    expect_field(buf, len, "index.pts[9]");

    len = make(buf, 10);
    buf[LP_VIDEO_INDEX_HEADER_SIZE + 2 * 9 + 8] = 0x80;
    reseal(buf, len);
    expect_field(buf, len, "index.flags[2]");

    len = make(buf, 10);
    for (int i = 0; i < 10; i++)
        buf[LP_VIDEO_INDEX_HEADER_SIZE + i * 9 + 8] = 0;
    reseal(buf, len);
    expect_field(buf, len, "index.flags");
}

static void test_load_and_save_files(void **state)
{
    unsigned char buf[LP_VIDEO_INDEX_HEADER_SIZE + 9 * 10];
    size_t len = make(buf, 10);
    reseal(buf, len);
    lp_video_index *ix = NULL;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_video_index_parse(buf, len, MAX_FRAMES, &ix, &err), 0);
    const char *path = fx_path("saved.lpvi");
    assert_int_equal(lp_video_index_save(ix, path, &err), 0);
    size_t back_len = 0;
    unsigned char *back = fx_read(path, &back_len);
    assert_non_null(back);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, buf, len); /* byte for byte what the format says */
    free(back);
    lp_video_index_free(ix);

    lp_error_clear(&err);
    assert_int_equal(lp_video_index_load(fx_path("absent.lpvi"), MAX_FRAMES, &ix, &err), -1);
    assert_int_equal(err.code, LP_E_IO);
    assert_int_equal(fx_write(path, buf, len - 3), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_video_index_load(path, MAX_FRAMES, &ix, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
}

static int teardown(void **state)
{
    fx_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_record_rules),
        cmocka_unit_test(test_load_and_save_files),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
