/* Opening a video for frame access, for bench/video_bench.sh (e):
 *
 *   video_open_bench FILE [ROUNDS]
 *
 * Builds FILE's frame index (untimed), then opens an lp_video_reader on it as louped's frame
 * routes do: the resident memory the first open reader holds (what the demuxer keeps of the
 * file's sample tables), and the median time of ROUNDS (default 7) opens. Run once per file, in a
 * fresh process, so that the first open's memory is not memory an earlier reader gave back.
 * Prints one JSON object. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "loupe/core/config.h"
#include "loupe/core/util.h"
#include "loupe/media/video_index.h"
#include "loupe/media/video_reader.h"

extern char **environ;

/* Resident memory of this process in KiB (/proc/self/statm), or -1. */
static long rss_kib(void)
{
    long pages = -1, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    lp_config cfg;
    lp_media_limits l;
    lp_error err;
    lp_video_index *ix = NULL;
    double t[64];
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: video_open_bench FILE [ROUNDS]\n");
        return 2;
    }
    int rounds = argc == 3 ? atoi(argv[2]) : 7;
    if (rounds < 1 || rounds > 64)
        rounds = 7;
    lp_error_clear(&err);
    if (lp_config_load(&cfg, NULL, environ, &err) != 0 || lp_media_init(argv[0], &err) != 0 ||
        (lp_media_limits_from_config(&l, &cfg), lp_video_index_build(argv[1], &l, &ix, &err)) != 0) {
        fprintf(stderr, "video_open_bench: %s: %s (%s)\n", argv[1], err.message, err.detail);
        return 1;
    }
    long before = rss_kib();
    int64_t t0 = lp_now_mono_us();
    lp_video_reader *r = lp_video_reader_open(argv[1], ix, &l, &err);
    double first_ms = (double)(lp_now_mono_us() - t0) / 1000.0;
    long held = rss_kib() - before;
    if (!r) {
        fprintf(stderr, "video_open_bench: %s: %s\n", argv[1], err.message);
        return 1;
    }
    lp_video_reader_close(r);
    for (int i = 0; i < rounds; i++) {
        t0 = lp_now_mono_us();
        if (!(r = lp_video_reader_open(argv[1], ix, &l, &err))) {
            fprintf(stderr, "video_open_bench: %s: %s\n", argv[1], err.message);
            return 1;
        }
        t[i] = (double)(lp_now_mono_us() - t0) / 1000.0;
        lp_video_reader_close(r);
    }
    qsort(t, (size_t)rounds, sizeof *t, cmp);
    printf("{\"frames\": %lld, \"first_open_ms\": %.2f, \"open_ms\": %.2f, \"held_kib\": %ld}\n", (long long)ix->count,
           first_ms, t[rounds / 2], held);
    lp_video_index_free(ix);
    lp_config_free(&cfg);
    return 0;
}
