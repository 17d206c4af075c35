/* Fuzzes the Pascal VOC reader (src/formats/voc_import.c): one input as an
 * annotation XML file and as labelmap.txt. */
#include "import_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"Annotations/a/b.xml", "labelmap.txt", NULL};
    fuzz_reader("voc", names, data, size);
    return 0;
}
