/* Fuzzes the semantic mask reader (src/formats/mask_import.c): one input as
 * class_mapping.csv and as a mask PNG (zlib, chunks, row filters). */
#include "import_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"class_mapping.csv", "instances.csv", "masks/a/b.png", "instances/a/b.png",
                                        NULL};
    fuzz_reader("mask", names, data, size);
    return 0;
}
