/* libFuzzer target: the video index loader (lp_video_index_parse). Any
 * input must give either a valid index or a clean error — never a crash,
 * a leak or an over-read. */
#include <stddef.h>
#include <stdint.h>

#include "loupe/media/video_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lp_video_index *ix = NULL;
    lp_error err;
    lp_error_clear(&err);
    if (lp_video_index_parse(data, size, 100000, &ix, &err) == 0) {
        /* Exercise the lookups on whatever passed validation. */
        (void)lp_video_index_keyframe_before(ix, ix->count - 1);
        (void)lp_video_index_frame_at_ms(ix, 1000);
        (void)lp_video_index_time_ms(ix, ix->count - 1);
        lp_video_index_free(ix);
    } else if (ix != NULL || err.code == LP_OK) {
        __builtin_trap();
    }
    return 0;
}
