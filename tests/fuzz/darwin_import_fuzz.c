/* Fuzzes the Darwin JSON 2.0 file reader (src/formats/darwin_import.c): one
 * input as an item file and as .v7/metadata.json. */
#include "import_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"a/item.json", ".v7/metadata.json", NULL};
    fuzz_reader("darwin", names, data, size);
    return 0;
}
