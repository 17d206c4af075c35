/* Loupe's side of bench/video_bench.sh (a): the video ingest of media.normalize, timed by part.
 *
 *   video_ingest_bench FILE OUT_DIR
 *
 * In this one process, as the worker's decoder runs them (settings from LOUPE_* variables or their
 * defaults): the packet index alone; then everything media.normalize makes but the 1080p rendition
 * (the one pass with the mezzanine, the 360p rendition, the AAC track and the peaks; the
 * mezzanine's index; poster images and the scrubber sprite); then the one pass again with both
 * renditions, whose extra time is the 1080p rendition's. Prints key=value lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "loupe/core/config.h"
#include "loupe/core/util.h"
#include "loupe/media/video_index.h"
#include "loupe/media/video_ingest.h"
#include "loupe/media/video_reader.h"
#include "loupe/media/video_thumbs.h"

extern char **environ;

static double since(int64_t t0)
{
    return (double)(lp_now_mono_us() - t0) / 1e6;
}

/* CPU seconds of this process so far, all threads (the machine may be shared: wall time then
 * says more about the neighbours than about the work). */
static double cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec +
           ((double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_usec) / 1e6;
}

static int fail(const char *what, const lp_error *err)
{
    fprintf(stderr, "video_ingest_bench: %s: %s (%s)\n", what, err->message, err->detail);
    return 1;
}

/* Poster images and the sprite, from the mezzanine with its index, as the transform makes them. */
static int thumbs(const char *mezz, const lp_video_index *mix, const lp_media_limits *l, const char *dir,
                  lp_error *err)
{
    char a[4200], b[4200], c[4200];
    lp_video_sprite sprite;
    lp_video_reader *r = lp_video_reader_open(mezz, mix, l, err);
    int rc = -1;
    memset(&sprite, 0, sizeof sprite);
    if (!r)
        return -1;
    snprintf(a, sizeof a, "%s/thumbnail.jpg", dir);
    snprintf(b, sizeof b, "%s/preview.jpg", dir);
    snprintf(c, sizeof c, "%s/sprite.jpg", dir);
    int64_t interval = lp_video_index_time_ms(mix, mix->count - 1) / 60;
    if (lp_video_poster(r, l->thumbnail_size, LP_MEDIA_JPEG, a, NULL, err) == 0 &&
        lp_video_poster(r, l->preview_size, LP_MEDIA_JPEG, b, NULL, err) == 0 &&
        lp_video_sprite_make(r, interval < 1000 ? 1000 : interval, 160, 10, 60, LP_MEDIA_JPEG, c, &sprite, err) == 0)
        rc = 0;
    lp_video_sprite_free(&sprite);
    lp_video_reader_close(r);
    return rc;
}

int main(int argc, char **argv)
{
    lp_config cfg;
    lp_error err;
    lp_media_limits l;
    lp_video_index *ix = NULL, *mix = NULL;
    static lp_video_ingest_result res;
    char dir[4000];

    if (argc != 3) {
        fprintf(stderr, "usage: video_ingest_bench FILE OUT_DIR\n");
        return 2;
    }
    lp_error_clear(&err);
    if (lp_config_load(&cfg, NULL, environ, &err) != 0 || lp_media_init(argv[0], &err) != 0)
        return fail("set-up", &err);
    lp_media_limits_from_config(&l, &cfg);

    int64_t t0 = lp_now_mono_us();
    double c0 = cpu();
    if (lp_video_index_build(argv[1], &l, &ix, &err) != 0)
        return fail("index", &err);
    double index_s = since(t0), index_cpu = cpu() - c0;

    snprintf(dir, sizeof dir, "%s/without-1080p", argv[2]);
    mkdir(dir, 0700);
    const lp_video_ingest_opts no1080 = {.renditions = 1, .peaks = 1};
    t0 = lp_now_mono_us();
    c0 = cpu();
    if (lp_video_ingest(argv[1], dir, &l, &no1080, &res, &err) != 0)
        return fail("ingest", &err);
    double pass_s = since(t0), pass_cpu = cpu() - c0;
    if (lp_video_index_build(res.mezzanine.path, &l, &mix, &err) != 0 || thumbs(res.mezzanine.path, mix, &l, dir, &err))
        return fail("mezzanine index and thumbnails", &err);
    double rest_s = since(t0) - pass_s, rest_cpu = cpu() - c0 - pass_cpu;

    snprintf(dir, sizeof dir, "%s/full", argv[2]);
    mkdir(dir, 0700);
    t0 = lp_now_mono_us();
    c0 = cpu();
    if (lp_video_ingest(argv[1], dir, &l, NULL, &res, &err) != 0)
        return fail("ingest with 1080p", &err);
    double full_s = since(t0), full_cpu = cpu() - c0;

    double duration = (double)lp_video_index_time_ms(ix, ix->count - 1) / 1000.0 +
                      (ix->count > 1 ? (double)lp_video_index_time_ms(ix, ix->count - 1) / 1000.0 / (double)(ix->count - 1) : 0);
    printf("frames=%lld\nduration_seconds=%.3f\nindex_seconds=%.3f\n", (long long)ix->count, duration, index_s);
    printf("ingest_without_1080p_seconds=%.3f\n", index_s + pass_s + rest_s);
    printf("one_pass_without_1080p_seconds=%.3f\nmezzanine_index_and_thumbnails_seconds=%.3f\n", pass_s, rest_s);
    printf("one_pass_with_1080p_seconds=%.3f\nrendition_1080p_seconds=%.3f\n", full_s, full_s - pass_s);
    printf("index_cpu=%.3f\ningest_without_1080p_cpu=%.3f\none_pass_without_1080p_cpu=%.3f\n"
           "mezzanine_index_and_thumbnails_cpu=%.3f\none_pass_with_1080p_cpu=%.3f\nrendition_1080p_cpu=%.3f\n",
           index_cpu, index_cpu + pass_cpu + rest_cpu, pass_cpu, rest_cpu, full_cpu, full_cpu - pass_cpu);
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    printf("max_rss_mib=%.1f\n", (double)u.ru_maxrss / 1024.0);
    printf("renditions=%d segments=%lld segment_frames=%d peak_buckets=%lld\n", res.renditions,
           (long long)res.segments, res.segment_frames, (long long)res.peak_buckets);
    lp_video_index_free(mix);
    lp_video_index_free(ix);
    lp_config_free(&cfg);
    return 0;
}
