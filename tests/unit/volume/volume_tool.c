/* volume_tool IN OUT: reads a NIfTI volume, turns it to RAS+, writes OUT and
 * prints {"meta": <slot metadata>, "brightest": {"voxel": [i,j,k], "<plane>":
 * [index, col, row]…}} where each plane's position is found by cutting that
 * plane's slices and looking for the brightest pixel — the slice code itself,
 * checked by nibabel_check.py against nibabel. */
#include <stdio.h>
#include <stdlib.h>

#include "loupe/volume/meta.h"
#include "loupe/volume/orient.h"
#include "loupe/volume/slice.h"
#include "loupe/volume/volume.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: volume_tool IN OUT\n");
        return 2;
    }
    lp_volume_limits limits = {.max_voxels = 1 << 26, .max_side = 8192};
    lp_error err;
    lp_error_clear(&err);
    lp_volume *v = lp_volume_read_nifti(argv[1], &limits, &err);
    if (!v || lp_volume_to_ras(v, &err) != 0 || lp_volume_write_nifti(v, argv[2], 1, &err) != 0) {
        fprintf(stderr, "volume_tool: %s %s\n", err.message, err.nfields ? err.fields[0].message : "");
        lp_volume_free(v);
        return 1;
    }
    lp_volume_histogram h;
    lp_volume_histogram_compute(v, &h);
    lp_volume_window presets[LP_VOLUME_MAX_WINDOWS];
    int n = lp_volume_presets(v, &h, NULL, 0, presets);
    lp_volume_window top = {"top", h.max - 0.5, 1}; /* only the brightest value reaches 255 */
    json_t *bright = json_object(), *voxel = json_array();
    for (int64_t k = 0; k < v->dim[2]; k++)
        for (int64_t j = 0; j < v->dim[1]; j++)
            for (int64_t i = 0; i < v->dim[0]; i++)
                if (lp_volume_at(v, i, j, k) == h.max && json_array_size(voxel) == 0)
                    json_array_extend(voxel, json_pack("[III]", (json_int_t)i, (json_int_t)j, (json_int_t)k));
    json_object_set_new(bright, "voxel", voxel);
    for (int p = 0; p < 3; p++) {
        int64_t w, ht, count;
        lp_volume_plane_size(v, (lp_volume_plane)p, &w, &ht, &count);
        uint8_t *img = malloc((size_t)(w * ht));
        for (int64_t s = 0; s < count; s++) {
            lp_volume_slice(v, (lp_volume_plane)p, s, &top, img, &err);
            for (int64_t at = 0; at < w * ht; at++)
                if (img[at] == 255 && !json_object_get(bright, lp_volume_plane_name((lp_volume_plane)p)))
                    json_object_set_new(bright, lp_volume_plane_name((lp_volume_plane)p),
                                        json_pack("[III]", (json_int_t)s, (json_int_t)(at % w), (json_int_t)(at / w)));
        }
        free(img);
    }
    json_t *out = json_pack("{s:o, s:o}", "meta", lp_volume_metadata(v, "volume", presets, n, &h), "brightest", bright);
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
    lp_volume_free(v);
    return 0;
}
