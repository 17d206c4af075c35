/* Fuzzes the annotation reader (src/formats/darwin.c over the JSON
 * scanner of src/core/json_scan.c), then the stored-geometry round trip of
 * whatever it accepted. */
#include <stdint.h>
#include <string.h>

#include "loupe/annotation/stored.h"
#include "loupe/formats/darwin.h"
#include "loupe/core/json_scan.h"
#include "loupe/core/arena.h"
#include "loupe/core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lp_arena *a = lp_arena_new(0, 256u << 20);
    if (!a)
        return 0;
    lp_ann_limits lim;
    memset(&lim, 0, sizeof lim);
    lim.geom.max_points = 10000;
    lim.geom.max_paths = 100;
    lim.geom.max_pixels = 1u << 24;
    lim.max_frame = 100000;
    lim.max_string = 4096;
    for (int mode = LP_ANN_CREATE; mode <= LP_ANN_UPDATE; mode++) {
        lp_jscan s;
        lp_ann ann;
        lp_error err;
        lp_error_clear(&err);
        lp_jscan_init(&s, (const char *)data, size);
        if (lp_darwin_read(&s, a, &lim, (lp_ann_mode)mode, &ann, &err) == 0 && !ann.video) {
            lp_buf blob;
            lp_buf_init(&blob, 64u << 20);
            lp_ann_geom decoded;
            if (lp_ann_geom_encode(&ann.body.geom, &blob) == 0)
                lp_ann_geom_decode(blob.data, blob.len, a, &decoded, &err);
            lp_buf_free(&blob);
        }
        lp_arena_reset(a);
    }
    lp_arena_free(a);
    return 0;
}
