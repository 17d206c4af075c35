/* libFuzzer target: the DICOM reader — lp_dicom_parse with small limits, then
 * for whatever passes, de-identification and a check of the series made of
 * that file twice. Any input must give a result or a clean error: never a
 * crash, a leak or an over-read. */
#include <stddef.h>
#include <stdint.h>

#include "loupe/volume/dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lp_volume_limits limits = {.max_voxels = 1 << 20, .max_side = 256};
    static const uint8_t key[LP_DICOM_KEY_LEN] = {1, 2, 3};
    lp_dicom_info info[2];
    lp_error err;
    lp_error_clear(&err);
    if (lp_dicom_parse(data, size, &limits, &info[0], &err) != 0) {
        if (err.code == LP_OK)
            __builtin_trap();
        return 0;
    }
    lp_buf out;
    lp_buf_init(&out, 1 << 24);
    if (lp_dicom_deidentify(data, size, key, 1, &out, NULL, &err) == 0) {
        /* what we write must read back */
        lp_dicom_info again;
        if (lp_dicom_parse(out.data, out.len, &limits, &again, &err) != 0)
            __builtin_trap();
    }
    lp_buf_free(&out);
    info[1] = info[0];
    info[1].position[2] += 1;
    size_t order[2];
    lp_error_clear(&err);
    (void)lp_dicom_series_order(info, 2, order, &err);
    return 0;
}
