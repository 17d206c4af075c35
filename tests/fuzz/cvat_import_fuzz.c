/* Fuzzes the CVAT XML reader (src/formats/cvat_import.c): one input as a
 * CVAT for images file and as a CVAT for video file. */
#include "import_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"annotations.xml", "videos/a/b.xml", NULL};
    fuzz_reader("cvat", names, data, size);
    return 0;
}
