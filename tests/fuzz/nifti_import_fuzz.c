/* Fuzzes the NIfTI label map reader (src/formats/nifti_import.c): one input
 * as class_mapping.csv and as a label map, plain and under a .nii.gz name
 * (gzip is recognised by its bytes, so both names read either form) — the
 * header check, inflation capped by the slot's size, nifticlib's header
 * conversion, reorientation and the slices' raster layers. */
#include "import_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"class_mapping.csv", "labels/a/b.nii", "labels/a/b.nii.gz", NULL};
    fuzz_reader("nifti", names, data, size);
    return 0;
}
