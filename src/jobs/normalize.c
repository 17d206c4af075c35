/* Handing a stored original to media.normalize. See loupe/jobs/normalize.h. */
#include "loupe/jobs/normalize.h"

#include <jansson.h>
#include <stdlib.h>

#include "loupe/db/media_sql.h"
#include "loupe/jobs/enqueue.h"

int lp_jobs_start_normalize(lp_db *db, const lp_config *cfg, const lp_normalize_start *s, char job_id[37],
                            lp_error *err)
{
    json_t *storage = json_pack("{s:s, s:s, s:b, s:I, s:s?, s:s?}", "upload_id", s->upload_id, "original", s->key,
                                "external", s->external, "size", (json_int_t)s->size, "sha256", s->sha256,
                                "content_type", s->content_type);
    json_t *payload = json_pack("{s:s, s:s, s:s}", "item_id", s->item_id, "slot_id", s->slot_id, "upload_id",
                                s->upload_id);
    char *text = storage ? json_dumps(storage, JSON_COMPACT) : NULL;
    int rc = -1;

    if (!text || !payload) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        goto cleanup;
    }
    lp_job_spec spec = {.kind = "media.normalize", .team_id = s->team_id, .created_by = s->created_by,
                        .payload = payload};
    if (lp_db_media_slot_set_original(db, s->slot_id, text, err) != 0 ||
        lp_jobs_enqueue(db, cfg, &spec, job_id, err) != 0 ||
        lp_db_media_upload_stored(db, s->upload_id, s->size, s->sha256, job_id, err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    free(text);
    json_decref(storage);
    json_decref(payload);
    return rc;
}
