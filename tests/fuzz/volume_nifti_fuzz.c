/* libFuzzer target: the NIfTI reader — our header check from memory, then,
 * for whatever passes with small limits, the whole read through nifticlib,
 * reorientation and a slice of each plane. Any input must give a volume or a
 * clean error: never a crash, a leak or an over-read. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "loupe/volume/orient.h"
#include "loupe/volume/slice.h"
#include "loupe/volume/volume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lp_volume_limits limits = {.max_voxels = 4096, .max_side = 64};
    lp_volume_nifti_header hdr;
    lp_error err;
    lp_error_clear(&err);
    if (lp_volume_nifti_header_parse(data, size, &limits, &hdr, &err) != 0) {
        if (err.code == LP_OK)
            __builtin_trap();
        return 0;
    }
    char path[] = "/tmp/volume_nifti_fuzz.XXXXXX.nii";
    int fd = mkstemps(path, 4);
    if (fd < 0)
        return 0;
    int ok = write(fd, data, size) == (ssize_t)size;
    close(fd);
    lp_volume *v = ok ? lp_volume_read_nifti(path, &limits, &err) : NULL;
    unlink(path);
    if (!v)
        return 0;
    if (lp_volume_to_ras(v, &err) == 0) {
        lp_volume_window w = {"fuzz", 0, 100};
        uint8_t img[64 * 64];
        for (int p = 0; p < 3; p++) {
            int64_t width, height, count;
            lp_volume_plane_size(v, (lp_volume_plane)p, &width, &height, &count);
            if (width * height <= (int64_t)sizeof img)
                (void)lp_volume_slice(v, (lp_volume_plane)p, count / 2, &w, img, &err);
        }
    }
    lp_volume_free(v);
    return 0;
}
