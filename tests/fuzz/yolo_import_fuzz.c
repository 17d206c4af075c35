/* Fuzzes the YOLO reader (src/formats/yolo_import.c): one input as data.yaml
 * and as a label file. */
#include "import_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"data.yaml", "labels/a/b.txt", NULL};
    fuzz_reader("yolo", names, data, size);
    return 0;
}
