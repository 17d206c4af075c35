/* Fuzzes the image and video header checks a worker runs on every upload
 * before decoding a pixel (src/media: lp_image_probe through libvips with
 * its loader allow-list, lp_video_probe through FFmpeg), and the PPM header
 * reader of the decoder's replies (lp_image_ppm_parse). The input is the
 * file, written to a memfd and opened by path. Invariant: whatever passes a
 * probe lies within the limits. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "loupe/media/image.h"
#include "loupe/media/video.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    static const lp_media_limits lim = {.image_max_pixels = 1 << 24, .image_pyramid_pixels = 1 << 26,
                                        .thumbnail_size = 256, .preview_size = 1024,
                                        .video_max_duration_ms = 3600000, .video_max_frames = 100000,
                                        .video_max_pixels = 1 << 22, .video_max_side = 4096};
    lp_error err;
    lp_image_info img;
    lp_video_info vid;
    int w, h;
    size_t off;
    if (fd < 0) {
        lp_error_clear(&err);
        if (lp_media_init("media_probe_fuzz", &err) != 0 || (fd = memfd_create("media_probe_fuzz", MFD_CLOEXEC)) < 0)
            return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    lp_error_clear(&err);
    if (lp_image_ppm_parse(data, size, &w, &h, &off, &err) == 0 && off > size)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    lp_error_clear(&err);
    if (lp_image_probe(path, &lim, &img, &err) == 0 &&
        (img.stored_width <= 0 || img.stored_height <= 0 || img.stored_width * img.stored_height > lim.image_max_pixels))
        abort();
    lp_error_clear(&err);
    if (lp_video_probe(path, &lim, &vid, &err) == 0 && vid.width * vid.height > lim.video_max_pixels)
        abort();
    return 0;
}
