/* The ingest pass: mezzanine with audio, HLS renditions whose segments hold
 * known frame ranges, audio peaks, the frame manifest's runs, and the video
 * limits (codec, side). Videos are generated with the ffmpeg tool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_skip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/media/audio_peaks.h"
#include "loupe/media/video.h"
#include "loupe/media/video_index.h"
#include "loupe/media/video_ingest.h"
#include "loupe/media/video_manifest.h"
#include "media_fixture.h"

static int have_ffmpeg;

#define NEED_FFMPEG()                                                                                                  \
    do {                                                                                                               \
        if (!have_ffmpeg)                                                                                              \
            LP_TEST_SKIP("ffmpeg is not installed (apt-get install ffmpeg)");                                             \
    } while (0)

static int ff(const char *args)
{
    return fx_sh("ffmpeg -nostdin -v error -y %s", args);
}

static int setup(void **state)
{
    (void)state;
    char cmd[2048];
    int rc = 0;
    have_ffmpeg = fx_have("ffmpeg");
    if (!have_ffmpeg)
        return 0;
    /* 3 s at 25/s with a 440 Hz tone at half scale (the source is at 1/8); a rotated copy; VFR VP9 without audio. */
    snprintf(cmd, sizeof cmd,
             "-f lavfi -i testsrc2=size=400x240:rate=25:duration=3 -f lavfi -i sine=frequency=440:duration=3 "
             "-af volume=4 -c:v libx264 -preset ultrafast -g 250 -pix_fmt yuv420p -c:a aac -shortest '%s'",
             fx_path("av.mp4"));
    rc |= ff(cmd);
    snprintf(cmd, sizeof cmd, "-i '%s' -c copy -metadata:s:v rotate=90 '%s'", fx_path("av.mp4"), fx_path("rot.mp4"));
    rc |= ff(cmd);
    snprintf(cmd, sizeof cmd,
             "-f lavfi -i testsrc2=size=160x120:rate=25:duration=2 -vf \"setpts='if(lt(N,10),N/25,0.4+(N-10)/10)/TB'\" "
             "-fps_mode vfr -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -g 30 '%s'",
             fx_path("vfr.webm"));
    rc |= ff(cmd);
    return rc ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_cleanup();
    return 0;
}

static void ingest(const char *name, const char *out, lp_video_ingest_result *res)
{
    lp_media_limits l = fx_limits(256, 2048);
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(fx_sh("mkdir -p '%s'", fx_path(out)), 0);
    int rc = lp_video_ingest(fx_path(name), fx_path(out), &l, NULL, res, &err);
    if (rc)
        fprintf(stderr, "ingest %s: %s (%s)\n", name, err.message, err.detail);
    assert_int_equal(rc, 0);
}

static lp_video_index *index_of(const char *path)
{
    lp_media_limits l = fx_limits(256, 2048);
    lp_video_index *ix = NULL;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_video_index_build(path, &l, &ix, &err), 0);
    return ix;
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_audio_video(void **state)
{
    (void)state;
    NEED_FFMPEG();
    static lp_video_ingest_result res;
    ingest("av.mp4", "av", &res);
    assert_int_equal(res.frames, 75);
    assert_int_equal(res.segment_frames, 50);
    assert_int_equal(res.segments, 2);
    assert_string_equal(res.mezzanine_audio, "copy");

    /* The mezzanine keeps the audio stream. */
    lp_media_limits l = fx_limits(256, 2048);
    lp_video_info info;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(res.mezzanine.path, &l, &info, &err), 0);
    assert_true(info.has_audio);

    /* 240 pixels on the shorter side: the 360p rendition only, at source size. */
    assert_int_equal(res.renditions, 1);
    assert_string_equal(res.rendition[0].name, "360p");
    assert_int_equal(res.rendition[0].width, 400);
    assert_int_equal(res.rendition[0].height, 240);
    assert_int_equal(strncmp(res.rendition[0].codecs, "avc1.64", 7), 0);
    assert_int_equal(res.rendition[0].segments, 2);
    assert_true(res.rendition[0].bandwidth >= res.rendition[0].average_bandwidth);

    /* Keyframes exactly at the segment starts; every frame kept. */
    lp_video_index *ix = index_of(res.rendition[0].media);
    assert_int_equal(ix->count, 75);
    assert_int_equal(ix->keyframes, 2);
    assert_true(ix->frame_flags[0] & LP_VIDEO_FRAME_KEY);
    assert_true(ix->frame_flags[50] & LP_VIDEO_FRAME_KEY);
    lp_video_index_free(ix);

    size_t len = 0;
    char *pl = fx_read(res.rendition[0].playlist, &len);
    assert_non_null(pl);
    pl = realloc(pl, len + 1);
    pl[len] = '\0';
    assert_non_null(strstr(pl, "#EXT-X-MAP:URI=\"hls-360p.mp4\",BYTERANGE="));
    assert_int_equal(count_of(pl, "#EXT-X-BYTERANGE:"), 2);
    assert_non_null(strstr(pl, "#EXTINF:2.000000,"));
    assert_non_null(strstr(pl, "#EXTINF:1.000000,"));
    assert_non_null(strstr(pl, "#EXT-X-ENDLIST"));
    free(pl);

    /* The AAC track, and the peaks of a half-scale tone: 10 ms buckets. */
    assert_true(res.has_audio_track);
    assert_string_equal(res.audio.codecs, "mp4a.40.2");
    assert_true(res.peak_buckets >= 295 && res.peak_buckets <= 305);
    uint8_t *pk = fx_read(res.peaks, &len);
    assert_non_null(pk);
    assert_int_equal(len, LP_AUDIO_PEAKS_HEADER_SIZE + 2 * (size_t)res.peak_buckets);
    assert_memory_equal(pk, "LPPEAKS\n", 8);
    int8_t lo = (int8_t)pk[LP_AUDIO_PEAKS_HEADER_SIZE + 200], hi = (int8_t)pk[LP_AUDIO_PEAKS_HEADER_SIZE + 201];
    assert_true(hi >= 55 && hi <= 72);
    assert_true(lo <= -55 && lo >= -72);
    free(pk);
}

static void test_rotated(void **state)
{
    (void)state;
    NEED_FFMPEG();
    static lp_video_ingest_result res;
    ingest("rot.mp4", "rot", &res);
    assert_int_equal(res.renditions, 1);
    /* Turned upright in the pixels: 240 wide, 400 high, no display matrix. */
    assert_int_equal(res.rendition[0].width, 240);
    assert_int_equal(res.rendition[0].height, 400);
    lp_media_limits l = fx_limits(256, 2048);
    lp_video_info info;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(res.rendition[0].media, &l, &info, &err), 0);
    assert_int_equal(info.rotation, 0);
    assert_int_equal(info.display_width, 240);
    assert_int_equal(info.display_height, 400);
    /* Top-left of the upright picture is the source's bottom-left corner. */
    assert_int_equal(fx_sh("ffmpeg -nostdin -v error -y -i '%s' -frames:v 1 -f rawvideo -pix_fmt gray '%s'",
                           res.rendition[0].media, fx_path("rot.gray")), 0);
    assert_int_equal(fx_sh("ffmpeg -nostdin -v error -y -i '%s' -frames:v 1 -f rawvideo -pix_fmt gray '%s'",
                           fx_path("rot.mp4"), fx_path("ref.gray")), 0);
    size_t a = 0, b = 0;
    uint8_t *mine = fx_read(fx_path("rot.gray"), &a), *ref = fx_read(fx_path("ref.gray"), &b);
    assert_int_equal(a, 240 * 400);
    assert_int_equal(b, 240 * 400);
    assert_true(fx_mean_abs_diff(mine, ref, a) < 6.0);
    free(mine);
    free(ref);
}

static void test_vfr_vp9_without_audio(void **state)
{
    (void)state;
    NEED_FFMPEG();
    static lp_video_ingest_result res;
    ingest("vfr.webm", "vfr", &res);
    lp_video_index *src = index_of(fx_path("vfr.webm"));
    assert_int_equal(res.frames, src->count);
    assert_string_equal(res.mezzanine_audio, "");
    assert_false(res.has_audio_track);
    assert_string_equal(res.peaks, "");
    lp_video_index *ix = index_of(res.rendition[0].media);
    assert_int_equal(ix->count, src->count);
    /* Timestamps kept: the same times as the source, frame by frame. */
    for (int64_t i = 0; i < ix->count; i++)
        assert_int_equal(lp_video_index_time_ms(ix, i), lp_video_index_time_ms(src, i));
    lp_video_index_free(ix);

    lp_video_manifest_layout layout = {.mezzanine_gop = 12, .segment_frames = res.segment_frames,
                                       .segments = res.segments};
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_video_manifest_write(src, &layout, fx_path("vfr/manifest.json"), &err), 0);
    size_t len = 0;
    char *m = fx_read(fx_path("vfr/manifest.json"), &len);
    assert_non_null(m);
    m = realloc(m, len + 1);
    m[len] = '\0';
    assert_non_null(strstr(m, "\"variable_frame_rate\":true"));
    assert_non_null(strstr(m, "\"frame_count\":"));
    free(m);
    lp_video_index_free(src);
}

typedef struct runs_seen {
    int64_t v[16][3];
    int n;
} runs_seen;

static void seen(void *ud, int64_t first, int64_t step, int64_t count)
{
    runs_seen *s = ud;
    s->v[s->n][0] = first;
    s->v[s->n][1] = step;
    s->v[s->n][2] = count;
    s->n++;
}

static void test_runs(void **state)
{
    (void)state;
    const int64_t v[] = {0, 40, 80, 120, 160, 400, 500, 600, 601, 7};
    runs_seen s = {0};
    lp_video_runs r = {.emit = seen, .ud = &s};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        lp_video_runs_push(&r, v[i]);
    lp_video_runs_finish(&r);
    const int64_t want[][3] = {{0, 40, 5}, {400, 100, 3}, {601, -594, 2}};
    assert_int_equal(s.n, 3);
    for (int i = 0; i < 3; i++)
        assert_memory_equal(s.v[i], want[i], sizeof want[i]);
    /* One value: step 0. */
    s.n = 0;
    lp_video_runs_push(&r, 9);
    lp_video_runs_finish(&r);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.v[0][1], 0);
    assert_int_equal(s.v[0][2], 1);
}

static void test_limits(void **state)
{
    (void)state;
    NEED_FFMPEG();
    lp_media_limits l = fx_limits(256, 2048);
    lp_video_info info;
    lp_error err;
    lp_error_clear(&err);
    snprintf(l.video_codecs, sizeof l.video_codecs, "vp9, av1");
    assert_int_equal(lp_video_probe(fx_path("av.mp4"), &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_MEDIA_TYPE);
    assert_non_null(strstr(err.message, "h264"));
    assert_non_null(strstr(err.message, "video_codecs"));
    lp_error_clear(&err);
    assert_int_equal(lp_video_probe(fx_path("vfr.webm"), &l, &info, &err), 0);

    l = fx_limits(256, 2048);
    l.video_max_side = 320;
    assert_int_equal(lp_video_probe(fx_path("av.mp4"), &l, &info, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    assert_non_null(strstr(err.message, "video_max_side"));

    /* The frames' own times count, whatever the container states. */
    l = fx_limits(256, 2048);
    l.video_max_duration_ms = 2000;
    lp_video_index *ix = NULL;
    lp_error_clear(&err);
    assert_int_equal(lp_video_index_build(fx_path("av.mp4"), &l, &ix, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    assert_non_null(strstr(err.message, "video_max_duration"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_audio_video),
        cmocka_unit_test(test_rotated),
        cmocka_unit_test(test_vfr_vp9_without_audio),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
