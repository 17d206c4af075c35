/* Fuzzes the parser of job messages read from RabbitMQ (src/jobs/message.c). */
#include <stdint.h>

#include "loupe/jobs/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lp_job_msg m;
    lp_error err;
    lp_error_clear(&err);
    if (lp_job_msg_parse((const char *)data, size, &m, &err) == 0) {
        char out[1024];
        lp_job_msg_format(&m, NULL, out, sizeof(out));
    }
    return 0;
}
