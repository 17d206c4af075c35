/* Video: probe, index, exact frames, poster, sprite, windows of frames and mezzanine. Every
 * input is made here at run time with the ffmpeg tool; reference frames
 * come from the same tool decoding the whole file independently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_skip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "loupe/media/video.h"
#include "loupe/media/video_index.h"
#include "loupe/media/video_mezzanine.h"
#include "loupe/media/video_reader.h"
#include "loupe/media/video_thumbs.h"
#include "media_fixture.h"

#define W 160
#define H 120
#define FRAME_BYTES ((size_t)W * H * 3)
/* Mean absolute difference allowed between our RGB and ffmpeg's (both
 * bicubic swscale from the same decoded YUV; only rounding differs). */
#define SAME_FRAME 2.0

static int have_ffmpeg;

static lp_media_limits limits(void) { return fx_limits(256, 2048); }

static int ff(const char *args)
{
    return fx_sh("ffmpeg -nostdin -v error -y %s", args);
}

/* All frames of path as RGB24, decoded by the ffmpeg tool (autorotated,
 * one output frame per decoded frame). */
static int reference(const char *path, const char *out)
{
    return fx_sh("ffmpeg -nostdin -v error -y -i '%s' -f rawvideo -pix_fmt rgb24 -fps_mode passthrough '%s'", path,
                 out);
}

static int setup(void **state)
{
    lp_error err;
    lp_error_clear(&err);
    if (lp_media_init("video_test", &err))
        return -1;
    have_ffmpeg = fx_have("ffmpeg");
    if (!have_ffmpeg)
        return 0;
    char cmd[2048];
    const char *src = "-f lavfi -i testsrc2=size=160x120:rate=25";
    int rc = 0;
    snprintf(cmd, sizeof cmd, "%s:duration=4 -c:v libx264 -preset ultrafast -g 25 -bf 2 -pix_fmt yuv420p '%s'", src,
             fx_path("cfr.mp4"));
    rc |= ff(cmd);
    snprintf(cmd, sizeof cmd, "-i '%s' -c copy -metadata:s:v rotate=90 '%s'", fx_path("cfr.mp4"), fx_path("rot.mp4"));
    rc |= ff(cmd);
    snprintf(cmd, sizeof cmd,
             "%s:duration=2 -vf \"setpts='if(lt(N,10),N/25,0.4+(N-10)/10)/TB'\" -fps_mode vfr -c:v libx264 "
             "-preset ultrafast -g 12 '%s'", src, fx_path("vfr.mkv"));
    rc |= ff(cmd);
    snprintf(cmd, sizeof cmd, "%s:duration=4 -c:v libx264 -preset ultrafast -g 1000 -bf 0 '%s'", src,
             fx_path("long.mp4"));
    rc |= ff(cmd);
    snprintf(cmd, sizeof cmd, "-f lavfi -i sine=duration=1 -c:a aac '%s'", fx_path("audio.m4a"));
    rc |= ff(cmd);
    rc |= reference(fx_path("cfr.mp4"), fx_path("cfr.rgb"));
    rc |= reference(fx_path("rot.mp4"), fx_path("rot.rgb"));
    rc |= reference(fx_path("vfr.mkv"), fx_path("vfr.rgb"));
    rc |= reference(fx_path("long.mp4"), fx_path("long.rgb"));
    return rc ? -1 : 0;
}

static int teardown(void **state)
{
    fx_cleanup();
    return 0;
}

#define NEED_FFMPEG()                                                                              \
    do {                                                                                           \
        if (!have_ffmpeg)                                                                          \
            LP_TEST_SKIP("ffmpeg is not installed (apt-get install ffmpeg)");                      \
    } while (0)

static lp_video_index *build(const char *name)
{
    lp_media_limits l = limits();
    lp_video_index *ix = NULL;
    lp_error err;
    lp_error_clear(&err);
    int rc = lp_video_index_build(fx_path(name), &l, &ix, &err);
    if (rc)
        fprintf(stderr, "index of %s: %s (%s)\n", name, err.message, err.detail);
    assert_int_equal(rc, 0);
    return ix;
}

static void test_probe(void **state)
{
    NEED_FFMPEG();
    lp_media_limits l = limits();
    lp_video_info info;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(fx_path("cfr.mp4"), &l, &info, &err), 0);
    assert_string_equal(info.codec, "h264");
    assert_string_equal(info.pixel_format, "yuv420p");
    assert_true(info.width == W && info.height == H);
    assert_true(info.display_width == W && info.display_height == H);
    assert_int_equal(info.rotation, 0);
    assert_true(info.duration_ms >= 3960 && info.duration_ms <= 4040);
    assert_true(info.avg_rate_num == 25 && info.avg_rate_den == 1);
    assert_int_equal(info.frames_estimate, 100);
    assert_int_equal(info.variable_frame_rate, 0);
    assert_int_equal(info.has_audio, 0);
    assert_non_null(strstr(info.container, "mp4"));

    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(fx_path("rot.mp4"), &l, &info, &err), 0);
    assert_true(info.rotation == 90 || info.rotation == 270);
    assert_true(info.display_width == H && info.display_height == W);

    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(fx_path("vfr.mkv"), &l, &info, &err), 0);
    assert_int_equal(info.variable_frame_rate, 1);
    assert_string_equal(info.container, "matroska,webm");
}

static void test_probe_limits(void **state)
{
    NEED_FFMPEG();
    lp_video_info info;
    lp_error err;
    lp_media_limits l = limits();
    l.video_max_pixels = 10000;
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(fx_path("cfr.mp4"), &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    assert_string_equal(err.message, "video frames are 160×120 pixels; the limit is 10000 pixels (video_max_pixels)");

    l = limits();
    l.video_max_duration_ms = 1000;
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(fx_path("cfr.mp4"), &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    assert_non_null(strstr(err.message, "(video_max_duration)"));

    l = limits();
    l.video_max_frames = 50;
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(fx_path("cfr.mp4"), &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    assert_string_equal(err.message, "video has 100 frames; the limit is 50 frames (video_max_frames)");

    /* Containers that do not state a count are caught while indexing. */
    lp_video_index *ix = NULL;
    l.video_max_frames = 20;
    lp_error_clear(&err);
    assert_int_equal(lp_video_index_build(fx_path("vfr.mkv"), &l, &ix, &err), -1);
    assert_null(ix);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    assert_non_null(strstr(err.message, "more than 20 frames (video_max_frames)"));
}

static void test_bad_inputs(void **state)
{
    NEED_FFMPEG();
    lp_media_limits l = limits();
    lp_video_info info;
    lp_error err;

    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(fx_path("audio.m4a"), &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_string_equal(err.message, "\"audio.m4a\" has no video stream");

    const char *text = fx_path("notes.mp4");
    const char words[] = "a shopping list, not a film\n";
    assert_int_equal(fx_write(text, words, sizeof words - 1), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(text, &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_MEDIA_TYPE);
    assert_non_null(strstr(err.message, "is not a supported video file"));

    /* A playlist is a demuxer FFmpeg knows but we do not allow. */
    const char *m3u = fx_path("playlist.mp4");
    char playlist[1200];
    int n = snprintf(playlist, sizeof playlist, "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n%s\n#EXT-X-ENDLIST\n",
                     fx_path("cfr.mp4"));
    assert_int_equal(fx_write(m3u, playlist, (size_t)n), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(m3u, &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_MEDIA_TYPE);

    const char *empty = fx_path("empty.mp4");
    assert_int_equal(fx_write(empty, "", 0), 0);
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(empty, &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_non_null(strstr(err.message, "is empty"));

    const char *urls[] = {"http://example.com/a.mp4", "pipe:0", "concat:a.mp4|b.mp4", "file:a.mp4"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        lp_error_clear(&err);
        assert_int_equal(lp_video_probe(urls[i], &l, &info, &err), -1);
        assert_int_equal(err.code, LP_E_INVALID);
        assert_non_null(strstr(err.message, "is a URL, not a local file path"));
    }

    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(fx_path("missing.mp4"), &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_IO);
}

static void test_index(void **state)
{
    NEED_FFMPEG();
    lp_video_index *ix = build("cfr.mp4");
    assert_int_equal(ix->count, 100);
    assert_int_equal(ix->keyframes, 4);
    assert_int_equal(ix->max_gop, 25);
    assert_int_equal(ix->flags & LP_VIDEO_INDEX_VFR, 0);
    for (int64_t i = 0; i < ix->count; i++) {
        assert_int_equal(!!(ix->frame_flags[i] & LP_VIDEO_FRAME_KEY), i % 25 == 0);
        if (i > 0)
            assert_true(ix->pts[i] > ix->pts[i - 1]);
    }
    assert_int_equal(lp_video_index_time_ms(ix, 99), 3960);
    assert_int_equal(lp_video_index_frame_at_ms(ix, 1000), 25);
    assert_int_equal(lp_video_index_frame_at_ms(ix, 1001), 26);
    assert_int_equal(lp_video_index_frame_at_ms(ix, -5), 0);
    assert_int_equal(lp_video_index_frame_at_ms(ix, 99999), 99);
    assert_int_equal(lp_video_index_keyframe_before(ix, 49), 25);
    assert_int_equal(lp_video_index_keyframe_before(ix, 50), 50);

    /* Round trip through the file format. */
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_video_index_save(ix, fx_path("cfr.lpvi"), &err), 0);
    lp_video_index *back = NULL;
    assert_int_equal(lp_video_index_load(fx_path("cfr.lpvi"), 100000, &back, &err), 0);
    assert_int_equal(back->count, ix->count);
    assert_int_equal(back->time_base_num, ix->time_base_num);
    assert_int_equal(back->time_base_den, ix->time_base_den);
    assert_int_equal(back->stream_index, ix->stream_index);
    assert_int_equal(back->max_gop, ix->max_gop);
    assert_memory_equal(back->pts, ix->pts, (size_t)ix->count * sizeof *ix->pts);
    assert_memory_equal(back->frame_flags, ix->frame_flags, (size_t)ix->count);
    lp_video_index_free(back);
    lp_error_clear(&err);
    assert_int_equal(lp_video_index_load(fx_path("cfr.lpvi"), 99, &back, &err), -1);
    assert_string_equal(err.fields[0].field, "index.count");
    lp_video_index_free(ix);

    ix = build("vfr.mkv");
    assert_int_equal(ix->count, 50);
    assert_int_equal(ix->flags & LP_VIDEO_INDEX_VFR, LP_VIDEO_INDEX_VFR);
    assert_int_equal(lp_video_index_time_ms(ix, 9), 360);
    assert_int_equal(lp_video_index_time_ms(ix, 10), 400);
    /* then 10 a second (ffmpeg rounds those timestamps to its 1/25 s grid) */
    assert_true(lp_video_index_time_ms(ix, 11) - lp_video_index_time_ms(ix, 10) >= 80);
    lp_video_index_free(ix);
}

/* Frame n of a reference file. */
static const uint8_t *ref_frame(const uint8_t *all, size_t all_len, int64_t n)
{
    assert_true((size_t)(n + 1) * FRAME_BYTES <= all_len);
    return all + (size_t)n * FRAME_BYTES;
}

static double diff_to_ref(lp_video_reader *r, int64_t n, const uint8_t *ref, size_t ref_len, int64_t ref_n)
{
    lp_video_frame f;
    lp_error err;
    lp_error_clear(&err);
    int rc = lp_video_reader_frame(r, n, &f, &err);
    if (rc)
        fprintf(stderr, "frame %lld: %s (%s)\n", (long long)n, err.message, err.detail);
    assert_int_equal(rc, 0);
    assert_int_equal(f.n, n);
    assert_int_equal((size_t)f.width * f.height * 3, FRAME_BYTES);
    assert_int_equal(f.stride, (size_t)f.width * 3);
    return fx_mean_abs_diff(f.rgb, ref_frame(ref, ref_len, ref_n), FRAME_BYTES);
}

static void check_frames(const char *video, const char *raw, const int64_t *order, size_t count, int width)
{
    lp_video_index *ix = build(video);
    size_t ref_len = 0;
    uint8_t *ref = fx_read(fx_path(raw), &ref_len);
    assert_non_null(ref);
    assert_int_equal(ref_len, (size_t)ix->count * FRAME_BYTES);
    lp_media_limits l = limits();
    lp_error err;
    lp_error_clear(&err);
    lp_video_reader *r = lp_video_reader_open(fx_path(video), ix, &l, &err);
    assert_non_null(r);
    for (size_t i = 0; i < count; i++) {
        int64_t n = order[i];
        double same = diff_to_ref(r, n, ref, ref_len, n);
        lp_video_frame f;
        assert_int_equal(lp_video_reader_frame(r, n, &f, &err), 0);
        assert_int_equal(f.width, width);
        assert_true(same < SAME_FRAME);
        /* …and the test can tell frames apart: a neighbour does not match. */
        int64_t other = n + 3 < ix->count ? n + 3 : n - 3;
        assert_true(fx_mean_abs_diff(f.rgb, ref_frame(ref, ref_len, other), FRAME_BYTES) > SAME_FRAME);
    }
    lp_video_reader_close(r);
    free(ref);
    lp_video_index_free(ix);
}

static void test_reader_exact_frames(void **state)
{
    NEED_FFMPEG();
    lp_video_index *ix = build("cfr.mp4");
    size_t ref_len = 0;
    uint8_t *ref = fx_read(fx_path("cfr.rgb"), &ref_len);
    assert_non_null(ref);
    lp_media_limits l = limits();
    lp_error err;
    lp_error_clear(&err);
    lp_video_reader *r = lp_video_reader_open(fx_path("cfr.mp4"), ix, &l, &err);
    assert_non_null(r);
    lp_video_reader_stats st;

    assert_true(diff_to_ref(r, 37, ref, ref_len, 37) < SAME_FRAME);
    lp_video_reader_get_stats(r, &st);
    assert_int_equal(st.seeks, 1);
    assert_true(st.frames_decoded >= 13); /* from keyframe 25 */

    /* Stepping forward decodes on without seeking. */
    int64_t decoded = st.frames_decoded;
    assert_true(diff_to_ref(r, 38, ref, ref_len, 38) < SAME_FRAME);
    assert_true(diff_to_ref(r, 39, ref, ref_len, 39) < SAME_FRAME);
    lp_video_reader_get_stats(r, &st);
    assert_int_equal(st.seeks, 1);
    assert_int_equal(st.frames_decoded, decoded + 2);

    /* Across a keyframe: a seek to it, not 13 frames of decoding. */
    assert_true(diff_to_ref(r, 52, ref, ref_len, 52) < SAME_FRAME);
    lp_video_reader_get_stats(r, &st);
    assert_int_equal(st.seeks, 2);

    /* Backwards, the first and the last frames. */
    assert_true(diff_to_ref(r, 5, ref, ref_len, 5) < SAME_FRAME);
    assert_true(diff_to_ref(r, 0, ref, ref_len, 0) < SAME_FRAME);
    assert_true(diff_to_ref(r, 99, ref, ref_len, 99) < SAME_FRAME);
    assert_true(diff_to_ref(r, 98, ref, ref_len, 98) < SAME_FRAME);
    assert_true(diff_to_ref(r, 24, ref, ref_len, 24) < SAME_FRAME);
    assert_true(diff_to_ref(r, 25, ref, ref_len, 25) < SAME_FRAME);
    /* A neighbour differs, so the comparisons above can fail. */
    assert_true(diff_to_ref(r, 40, ref, ref_len, 43) > SAME_FRAME);
    lp_video_reader_get_stats(r, &st);
    assert_int_equal(st.rewinds, 0);

    lp_video_frame f;
    lp_error_clear(&err);
    assert_int_equal(lp_video_reader_frame(r, 100, &f, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    assert_string_equal(err.message, "frame 100 does not exist; the video has frames 0 to 99");
    lp_error_clear(&err);
    assert_int_equal(lp_video_reader_frame(r, -1, &f, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);

    /* Encoded frames, with the cache answering a repeat. */
    lp_media_blob a = {0}, b = {0};
    assert_int_equal(lp_video_reader_encode(r, 60, LP_MEDIA_JPEG, 90, &a, &err), 0);
    assert_int_equal(lp_video_reader_encode(r, 60, LP_MEDIA_JPEG, 90, &b, &err), 0);
    assert_true(a.len > 100 && a.len == b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_true(((uint8_t *)a.data)[0] == 0xFF && ((uint8_t *)a.data)[1] == 0xD8);
    lp_video_reader_get_stats(r, &st);
    assert_int_equal(st.cache_hits, 1);
    VipsImage *img = vips_image_new_from_buffer(a.data, a.len, "", NULL);
    assert_non_null(img);
    assert_true(img->Xsize == W && img->Ysize == H);
    g_object_unref(img);
    lp_media_blob_free(&a);
    lp_media_blob_free(&b);
    assert_int_equal(lp_video_reader_encode(r, 61, LP_MEDIA_WEBP, 0, &a, &err), 0);
    assert_memory_equal((char *)a.data + 8, "WEBP", 4);
    lp_media_blob_free(&a);
    lp_media_blob_free(&a);

    lp_video_reader_close(r);
    free(ref);
    lp_video_index_free(ix);
}

static void test_reader_rotated_and_vfr(void **state)
{
    NEED_FFMPEG();
    const int64_t rot_order[] = {10, 11, 3, 77};
    check_frames("rot.mp4", "rot.rgb", rot_order, 4, H);
    const int64_t vfr_order[] = {15, 16, 2, 9, 10, 11, 49, 0};
    check_frames("vfr.mkv", "vfr.rgb", vfr_order, 8, W);
}

static void test_reader_index_of_another_file(void **state)
{
    NEED_FFMPEG();
    lp_video_index *ix = build("vfr.mkv");
    lp_media_limits l = limits();
    lp_error err;
    lp_error_clear(&err);
    assert_null(lp_video_reader_open(fx_path("cfr.mp4"), ix, &l, &err));
    assert_int_equal(err.code, LP_E_INVALID);
    assert_non_null(strstr(err.message, "does not belong to \"cfr.mp4\""));
    lp_video_index_free(ix);
}

static void test_poster_and_sprite(void **state)
{
    NEED_FFMPEG();
    lp_video_index *ix = build("cfr.mp4");
    lp_media_limits l = limits();
    lp_error err;
    lp_error_clear(&err);
    lp_video_reader *r = lp_video_reader_open(fx_path("cfr.mp4"), ix, &l, &err);
    assert_non_null(r);

    int64_t n = -1;
    assert_int_equal(lp_video_poster(r, 64, LP_MEDIA_JPEG, fx_path("poster.jpg"), &n, &err), 0);
    assert_int_equal(n, 10);
    VipsImage *img = vips_image_new_from_file(fx_path("poster.jpg"), NULL);
    assert_non_null(img);
    assert_true(img->Xsize == 64 && img->Ysize == 48);
    g_object_unref(img);

    lp_video_sprite sp;
    assert_int_equal(lp_video_sprite_make(r, 1000, 40, 3, 100, LP_MEDIA_JPEG, fx_path("sprite.jpg"), &sp, &err), 0);
    assert_int_equal(sp.count, 4);
    assert_true(sp.columns == 3 && sp.rows == 2);
    assert_true(sp.tile_width == 40 && sp.tile_height == 30);
    const int64_t frames[] = {0, 25, 50, 75};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sp.frames[i], frames[i]);
        assert_int_equal(sp.times_ms[i], 1000 * i);
    }
    img = vips_image_new_from_file(fx_path("sprite.jpg"), NULL);
    assert_non_null(img);
    assert_true(img->Xsize == 120 && img->Ysize == 60);
    g_object_unref(img);
    lp_video_sprite_free(&sp);

    assert_int_equal(lp_video_sprite_make(r, 100, 40, 10, 2, LP_MEDIA_WEBP, fx_path("sprite.webp"), &sp, &err), 0);
    assert_int_equal(sp.count, 2);
    assert_int_equal(sp.interval_ms, 3960);
    assert_int_equal(sp.frames[1], 99);
    lp_video_sprite_free(&sp);

    lp_error_clear(&err);
    assert_int_equal(lp_video_sprite_make(r, 0, 40, 3, 10, LP_MEDIA_JPEG, fx_path("x.jpg"), &sp, &err), -1);
    assert_string_equal(err.fields[0].field, "interval_ms");
    lp_error_clear(&err);
    assert_int_equal(lp_video_sprite_make(r, 1000, 40, 0, 10, LP_MEDIA_JPEG, fx_path("x.jpg"), &sp, &err), -1);
    assert_string_equal(err.fields[0].field, "columns");

    lp_video_reader_close(r);
    lp_video_index_free(ix);
}

/* Tile i of a decoded window sheet (RGB, tile W × H, columns) as one packed frame. */
static void window_tile(VipsImage *sheet, int columns, int i, uint8_t *out)
{
    for (int y = 0; y < H; y++)
        memcpy(out + (size_t)y * W * 3, VIPS_IMAGE_ADDR(sheet, (i % columns) * W, (i / columns) * H + y), (size_t)W * 3);
}

static void test_window(void **state)
{
    NEED_FFMPEG();
    lp_video_index *ix = build("cfr.mp4");
    size_t ref_len = 0;
    uint8_t *ref = fx_read(fx_path("cfr.rgb"), &ref_len), *tile = malloc(FRAME_BYTES);
    assert_non_null(ref);
    lp_media_limits l = limits();
    lp_error err;
    lp_error_clear(&err);
    lp_video_reader *r = lp_video_reader_open(fx_path("cfr.mp4"), ix, &l, &err);
    assert_non_null(r);
    /* 19 frames in 4 columns: 5 rows of frames, so the JPEG path reuses its
     * two rows of buffers twice, and the last place stays black. */
    const lp_video_window w = {.from = 3, .count = 19, .tile_width = W, .tile_height = H, .columns = 4};
    lp_media_format fmts[] = {LP_MEDIA_JPEG, LP_MEDIA_WEBP};
    const double same[] = {2.0, 7.0}; /* mean absolute difference at quality 95 (WebP's chroma is halved) */
    for (int f = 0; f < 2; f++) {
        lp_media_blob blob = {0};
        assert_int_equal(lp_video_window_encode(r, &w, fmts[f], 95, &blob, &err), 0);
        VipsImage *sheet = vips_image_new_from_buffer(blob.data, blob.len, "", NULL), *mem = NULL;
        assert_non_null(sheet);
        assert_true(sheet->Xsize == 4 * W && sheet->Ysize == 5 * H && sheet->Bands == 3);
        assert_non_null(mem = vips_image_copy_memory(sheet));
        for (int i = 0; i < w.count; i++) {
            window_tile(mem, w.columns, i, tile);
            assert_true(fx_mean_abs_diff(tile, ref_frame(ref, ref_len, w.from + i), FRAME_BYTES) < same[f]);
            /* …and not its neighbour */
            assert_true(fx_mean_abs_diff(tile, ref_frame(ref, ref_len, w.from + i + 2), FRAME_BYTES) > same[f]);
        }
        window_tile(mem, w.columns, 19, tile);
        uint8_t black[FRAME_BYTES];
        memset(black, 0, sizeof black);
        assert_true(fx_mean_abs_diff(tile, black, FRAME_BYTES) < 1.0);
        g_object_unref(mem);
        g_object_unref(sheet);
        lp_media_blob_free(&blob);
    }
    /* frames scaled to another size, 4:2:0 below quality 90 */
    const lp_video_window half = {.from = 90, .count = 10, .tile_width = W / 2, .tile_height = H / 2, .columns = 8};
    lp_media_blob blob = {0};
    assert_int_equal(lp_video_window_encode(r, &half, LP_MEDIA_JPEG, 80, &blob, &err), 0);
    VipsImage *sheet = vips_image_new_from_buffer(blob.data, blob.len, "", NULL);
    assert_non_null(sheet);
    assert_true(sheet->Xsize == 8 * W / 2 && sheet->Ysize == 2 * H / 2);
    g_object_unref(sheet);
    lp_media_blob_free(&blob);
    /* a frame past the end fails the whole window, and nothing leaks */
    const lp_video_window past = {.from = 95, .count = 10, .tile_width = W, .tile_height = H, .columns = 2};
    lp_error_clear(&err);
    assert_int_equal(lp_video_window_encode(r, &past, LP_MEDIA_JPEG, 80, &blob, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);
    assert_null(blob.data);
    lp_video_reader_close(r);
    free(tile);
    free(ref);
    lp_video_index_free(ix);
}

static void test_mezzanine(void **state)
{
    NEED_FFMPEG();
    lp_video_index *src = build("long.mp4"), *cfr = build("cfr.mp4");
    assert_int_equal(src->keyframes, 1);
    assert_int_equal(src->max_gop, 100);
    assert_true(lp_video_needs_mezzanine(src, LP_VIDEO_MEZZANINE_THRESHOLD));
    assert_false(lp_video_needs_mezzanine(cfr, LP_VIDEO_MEZZANINE_THRESHOLD));
    lp_video_index_free(cfr);

    char out_dir[1024];
    snprintf(out_dir, sizeof out_dir, "%s", fx_path("mezz"));
    assert_int_equal(fx_sh("mkdir -p '%s'", out_dir), 0);
    lp_media_limits l = limits();
    lp_video_mezzanine_result res;
    lp_error err;
    lp_error_clear(&err);
    int rc = lp_video_mezzanine(fx_path("long.mp4"), out_dir, &l, &res, &err);
    if (rc)
        fprintf(stderr, "mezzanine: %s (%s)\n", err.message, err.detail);
    assert_int_equal(rc, 0);
    assert_int_equal(res.frames, 100);
    assert_string_equal(res.codec, "h264");
    assert_non_null(strstr(res.path, "mezzanine.mp4"));

    lp_video_index *mz = NULL;
    assert_int_equal(lp_video_index_build(res.path, &l, &mz, &err), 0);
    assert_int_equal(mz->count, 100);
    assert_true(mz->max_gop <= LP_VIDEO_MEZZANINE_GOP);
    assert_false(lp_video_needs_mezzanine(mz, LP_VIDEO_MEZZANINE_THRESHOLD));
    for (int64_t i = 0; i < mz->count; i++)
        assert_int_equal(lp_video_index_time_ms(mz, i), lp_video_index_time_ms(src, i));

    /* Frame n of the mezzanine is frame n of the source. */
    size_t ref_len = 0;
    uint8_t *ref = fx_read(fx_path("long.rgb"), &ref_len);
    assert_non_null(ref);
    lp_video_reader *r = lp_video_reader_open(res.path, mz, &l, &err);
    assert_non_null(r);
    const int64_t order[] = {80, 81, 7, 50};
    for (size_t i = 0; i < 4; i++)
        assert_true(diff_to_ref(r, order[i], ref, ref_len, order[i]) < 3.0);
    lp_video_reader_stats st;
    lp_video_reader_get_stats(r, &st);
    assert_true(st.frames_decoded <= 4 * LP_VIDEO_MEZZANINE_GOP);
    lp_video_reader_close(r);
    free(ref);
    lp_video_index_free(mz);
    lp_video_index_free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_probe_limits),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_reader_exact_frames),
        cmocka_unit_test(test_reader_rotated_and_vfr),
        cmocka_unit_test(test_reader_index_of_another_file),
        cmocka_unit_test(test_poster_and_sprite),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_mezzanine),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
