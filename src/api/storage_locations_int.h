/* External storage locations (storage_locations.c): what register-external
 * checks a key against. */
#ifndef LOUPE_API_STORAGE_LOCATIONS_INT_H
#define LOUPE_API_STORAGE_LOCATIONS_INT_H

#include "loupe/db/storage_locations_sql.h"
#include "loupe/http/request.h"

/* The bucket the configured storage reads: s3_bucket, or "local". */
const char *lp_api_storage_bucket(const lp_config *cfg);

/* The caller's team's locations in the configured bucket, for
 * lp_api_storage_location_covers. 0 or -1 (req->err). */
int lp_api_storage_locations_load(lp_req *req, lp_db *db, lp_storage_location_row **rows, size_t *n);

/* 1 if key lies under one of rows[0..n), else 0. */
int lp_api_storage_location_covers(const lp_storage_location_row *rows, size_t n, const char *key);

#endif
