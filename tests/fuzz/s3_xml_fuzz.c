/* Fuzzes the reader of S3's XML responses (src/storage/s3_xml.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/storage/s3_xml_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tags[] = {"UploadId", "ETag", "Code", "Message", "Error"};
    char out[256];
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        lp_s3_xml_text((const char *)data, size, tags[i], out, sizeof(out));
        lp_s3_xml_root_is((const char *)data, size, tags[i]);
    }
    return 0;
}
