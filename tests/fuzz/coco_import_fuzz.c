/* Fuzzes the COCO reader (src/formats/coco_import.c): one input as a COCO
 * document (categories, images, annotations; polygons, RLE masks, keypoints). */
#include "import_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"annotations/instances.json", NULL};
    fuzz_reader("coco", names, data, size);
    return 0;
}
