/* What the upload handlers share (uploads.c, upload_files.c): every way of
 * giving a slot its file ends in the same three steps. */
#ifndef LOUPE_API_UPLOADS_INT_H
#define LOUPE_API_UPLOADS_INT_H

#include <stdint.h>

#include "loupe/db/media_sql.h"
#include "loupe/http/request.h"

/* A slot with media to serve (ready, or an earlier file being processed)
 * keeps its status while a new file uploads, so its media stay online; only
 * an empty or failed slot shows "uploading". 0 or -1. */
int lp_upload_mark_uploading(lp_req *req, lp_db *db, const lp_slot_row *slot);

/* In the caller's transaction: the slot names the stored original key, the
 * media.normalize job is enqueued and the upload marked stored. job_id
 * receives the job. 0 or -1 with req->err. */
int lp_upload_start_normalize(lp_req *req, lp_db *db, const char *item_id, const char *slot_id, const char *upload_id,
                              const char *key, int64_t size, const char *sha256, const char *content_type, int external,
                              char job_id[37]);

/* 202 {"item_id", "slot", "status": "processing", "upload": {…}, "job": {id,
 * kind, status, url}} with a Location of the job. */
int lp_upload_respond_started(lp_req *req, lp_db *db, const char *item_id, const char *slot_name, const char *slot_id,
                              const char *upload_id);

#endif
