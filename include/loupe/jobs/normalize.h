/* Handing a stored original to media.normalize: what an upload (src/api)
 * and a fetched file (items.fetch) both do once the bytes are in storage. */
#ifndef LOUPE_JOBS_NORMALIZE_H
#define LOUPE_JOBS_NORMALIZE_H

#include <stdint.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

typedef struct lp_normalize_start {
    const char *team_id;
    const char *created_by;    /* user id; may be NULL */
    const char *item_id, *slot_id, *upload_id;
    const char *key;           /* the stored original */
    int64_t size;
    const char *sha256;        /* hex; may be NULL */
    const char *content_type;  /* may be NULL */
    int external;              /* 1: an object of an external storage location */
} lp_normalize_start;

/* In the caller's transaction: the slot names the stored original, a
 * media.normalize job is enqueued (its id into job_id) and the upload is
 * marked stored. 0, or -1 with err. */
int lp_jobs_start_normalize(lp_db *db, const lp_config *cfg, const lp_normalize_start *s, char job_id[37],
                            lp_error *err);

#endif
