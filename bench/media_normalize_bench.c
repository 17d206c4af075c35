/* Loupe's side of bench/media_normalize: normalizes each image with the
 * code loupe-worker runs for media.normalize.
 *
 *   media_normalize_bench [--sandbox] OUT_DIR FILE...
 * Without --sandbox: lp_image_process in this one long-lived process (the
 * transform itself). With --sandbox: each file sent to a loupe-decoder
 * process (lp_decoder_new_from_config + lp_decoder_transform), exactly as a
 * worker's jobs run it: the decoder starts with the first file and serves
 * the rest; its work directory is OUT_DIR, into which the files are linked
 * first (untimed), as a worker fetches each original into its job's
 * directory. The decoder is found as loupe-worker finds it (decoder_path). Settings (thumbnail_size, preview_size, image_pyramid_pixels, …) come
 * from LOUPE_* variables or their defaults. Prints "files=N seconds=S". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <unistd.h>

#include "loupe/core/config.h"
#include "loupe/core/util.h"
#include "loupe/jobs/decoder.h"
#include "loupe/media/image.h"

extern char **environ;

int main(int argc, char **argv)
{
    int sandbox = argc > 1 && strcmp(argv[1], "--sandbox") == 0;
    int first = sandbox ? 3 : 2;
    lp_config cfg;
    lp_error err;
    lp_media_limits limits;
    lp_decoder *decoder = NULL;
    char src[4096];
    char dir[4096];

    if (argc <= first) {
        fprintf(stderr, "usage: media_normalize_bench [--sandbox] OUT_DIR FILE...\n");
        return 2;
    }
    lp_error_clear(&err);
    if (lp_config_load(&cfg, NULL, environ, &err) != 0) {
        fprintf(stderr, "media_normalize_bench: %s\n", err.message);
        return 2;
    }
    lp_media_limits_from_config(&limits, &cfg);
    for (int i = first; sandbox && i < argc; i++) {
        snprintf(src, sizeof src, "%s/in-%d", argv[first - 1], i - first);
        unlink(src);
        if (link(argv[i], src) != 0) {
            fprintf(stderr, "media_normalize_bench: cannot link %s into %s\n", argv[i], argv[first - 1]);
            return 1;
        }
    }
    if (sandbox ? !(decoder = lp_decoder_new_from_config(&cfg, argv[first - 1], NULL, 1, &err))
                : lp_media_init(argv[0], &err) != 0) {
        fprintf(stderr, "media_normalize_bench: %s\n", err.message);
        return 1;
    }
    int64_t t0 = lp_now_mono_us();
    for (int i = first; i < argc; i++) {
        snprintf(dir, sizeof dir, "%s/%d", argv[first - 1], i - first);
        mkdir(dir, 0700);
        if (sandbox) {
            snprintf(src, sizeof src, "%s/in-%d", lp_decoder_work_dir(decoder), i - first);
            snprintf(dir, sizeof dir, "%s/%d", lp_decoder_work_dir(decoder), i - first);
            lp_decoder_transform_args a = {.src = src, .out_dir = dir, .type = "image", .limits = limits};
            lp_decoder_result res;
            if (lp_decoder_transform(decoder, &a, lp_now_mono_ms() + cfg.job_timeout, &res, &err) != 0) {
                fprintf(stderr, "media_normalize_bench: %s: %s\n", argv[i], err.message);
                return 1;
            }
            if (res.end != LP_DECODER_REPLIED || !strstr(res.output, "\"ok\":true")) {
                fprintf(stderr, "media_normalize_bench: %s: the decoder %s (status %d): %s\n", argv[i],
                        res.end == LP_DECODER_REPLIED ? "refused it" : "did not answer", res.status, res.output);
                return 1;
            }
            lp_decoder_result_free(&res);
        } else {
            lp_image_result r;
            if (lp_image_process(argv[i], dir, &limits, LP_MEDIA_JPEG, &r, &err) != 0) {
                fprintf(stderr, "media_normalize_bench: %s: %s\n", argv[i], err.message);
                return 1;
            }
        }
    }
    printf("files=%d seconds=%.3f\n", argc - first, (double)(lp_now_mono_us() - t0) / 1e6);
    lp_decoder_free(decoder);
    lp_config_free(&cfg);
    return 0;
}
