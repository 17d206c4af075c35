/* Fuzzes the readers of the messages that arrive over RabbitMQ besides job
 * messages (job_message_fuzz): the webhooks queue's wake-ups
 * (lp_webhook_message_read), live-inference requests
 * (lp_model_infer_is_request) and the model spec such a request is served
 * with (lp_model_spec_read, also what POST /api/v1/models reads). */
#include <jansson.h>
#include <stdint.h>

#include "loupe/jobs/model_infer.h"
#include "loupe/models/spec.h"
#include "loupe/webhooks/sender.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t due = -1;
    lp_error err;
    lp_model_spec spec;
    lp_webhook_message_read((const char *)data, size, &due);
    lp_model_infer_is_request((const char *)data, size);
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    lp_error_clear(&err);
    if (doc && lp_model_spec_read(doc, 1000, &spec, &err) == 0)
        json_decref(lp_model_spec_json(&spec));
    json_decref(doc);
    return 0;
}
