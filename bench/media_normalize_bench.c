/* Loupe's side of bench/media_normalize: normalizes each image with the
 * code loupe-worker runs for media.normalize.
 *
 *   media_normalize_bench [--sandbox] OUT_DIR FILE...
 * Without --sandbox: lp_image_process in this one long-lived process (the
 * transform itself). With --sandbox: each file sent to a sandboxed decoder
 * process (lp_media_decoder_new + lp_media_transform_call), exactly as a
 * worker's jobs run it: the decoder starts with the first file and serves
 * the rest. Settings (thumbnail_size, preview_size, image_pyramid_pixels, …) come
 * from LOUPE_* variables or their defaults. Prints "files=N seconds=S". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../src/jobs/media_transform.h"
#include "../src/jobs/sandbox.h"
#include "loupe/core/config.h"
#include "loupe/core/util.h"
#include "loupe/media/image.h"

extern char **environ;

int main(int argc, char **argv)
{
    int sandbox = argc > 1 && strcmp(argv[1], "--sandbox") == 0;
    int first = sandbox ? 3 : 2;
    lp_config cfg;
    lp_error err;
    lp_media_limits limits;
    lp_sandbox *decoder = NULL;
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
    if (sandbox ? !(decoder = lp_media_decoder_new(&cfg, &err)) : lp_media_init(argv[0], &err) != 0) {
        fprintf(stderr, "media_normalize_bench: %s\n", err.message);
        return 1;
    }
    int64_t t0 = lp_now_mono_us();
    for (int i = first; i < argc; i++) {
        snprintf(dir, sizeof dir, "%s/%d", argv[first - 1], i - first);
        mkdir(dir, 0700);
        if (sandbox) {
            lp_media_transform_args a = {.src = argv[i], .out_dir = dir, .type = "image", .limits = limits};
            lp_sandbox_result res;
            if (lp_media_transform_call(decoder, &a, lp_now_mono_ms() + cfg.job_timeout, &res, &err) != 0) {
                fprintf(stderr, "media_normalize_bench: %s: %s\n", argv[i], err.message);
                return 1;
            }
            if (res.end != LP_SANDBOX_REPLIED || !strstr(res.output, "\"ok\":true")) {
                fprintf(stderr, "media_normalize_bench: %s: the decoder %s (status %d): %s\n", argv[i],
                        res.end == LP_SANDBOX_REPLIED ? "refused it" : "did not answer", res.status, res.output);
                return 1;
            }
            lp_sandbox_result_free(&res);
        } else {
            lp_image_result r;
            if (lp_image_process(argv[i], dir, &limits, LP_MEDIA_JPEG, &r, &err) != 0) {
                fprintf(stderr, "media_normalize_bench: %s: %s\n", argv[i], err.message);
                return 1;
            }
        }
    }
    printf("files=%d seconds=%.3f\n", argc - first, (double)(lp_now_mono_us() - t0) / 1e6);
    lp_sandbox_free(decoder);
    lp_config_free(&cfg);
    return 0;
}
