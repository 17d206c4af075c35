/* External storage locations (docs/SECURITY.md, docs/API.md):
 *
 *   POST   /api/v1/storage-locations        {slug, prefix, bucket?} → 201 (MANAGE)
 *   GET    /api/v1/storage-locations        the team's locations (MANAGE)
 *   DELETE /api/v1/storage-locations/{id}   → 204 (MANAGE)
 *
 * A location is a bucket and a key prefix the team's external objects come
 * from: register-external accepts a key only under one of the team's
 * locations, and no two teams hold overlapping prefixes of a bucket, so one
 * team can never register (and then read) another team's objects. Loupe's
 * own key spaces (originals/, derived/) can never be a location. */
#include "storage_locations_int.h"

#include <stdio.h>
#include <string.h>

#include "identity_int.h"
#include "items_int.h"
#include "respond_int.h"
#include "handlers_int.h"
#include "loupe/api/input.h"
#include "loupe/storage/storage.h"

static json_t *location_json(const void *rows, size_t i)
{
    const lp_storage_location_row *l = (const lp_storage_location_row *)rows + i;
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", l->id, "slug", l->slug, "bucket", l->bucket, "prefix",
                     l->prefix, "created_at", l->created_at);
}

const char *lp_api_storage_bucket(const lp_config *cfg)
{
    return strcmp(cfg->storage_backend, "s3") == 0 ? cfg->s3_bucket : "local";
}

int lp_api_storage_locations_load(lp_req *req, lp_db *db, lp_storage_location_row **rows, size_t *n)
{
    lp_storage_location_row *all;
    size_t total, kept = 0;
    const char *bucket = lp_api_storage_bucket(req->svc->cfg);
    if (lp_db_storage_location_list(db, req->arena, req->who.team_id, req->svc->cfg->storage_locations_max, &all,
                                    &total, &req->err) != 0)
        return -1;
    for (size_t i = 0; i < total; i++)
        if (strcmp(all[i].bucket, bucket) == 0)
            all[kept++] = all[i];
    *rows = all;
    *n = kept;
    return 0;
}

int lp_api_storage_location_covers(const lp_storage_location_row *rows, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(key, rows[i].prefix, strlen(rows[i].prefix)) == 0)
            return 1;
    return 0;
}

int lp_api_storage_locations_create(lp_req *req)
{
    static const char *const fields[] = {"slug", "bucket", "prefix", NULL};
    const char *slug = NULL, *bucket = NULL, *prefix = NULL, *ours = lp_api_storage_bucket(req->svc->cfg);
    lp_storage_location_row row;
    json_t *body = lp_req_json(req, 1);
    lp_db *db;
    int rc = -1;

    if (!body)
        return -1;
    lp_in_only(req, body, NULL, fields);
    lp_in_string(req, body, NULL, "slug", LP_IN_REQUIRED, 100, &slug);
    lp_in_string(req, body, NULL, "bucket", LP_IN_OPTIONAL, 255, &bucket);
    lp_in_string(req, body, NULL, "prefix", LP_IN_REQUIRED, LP_STORAGE_KEY_MAX, &prefix);
    if (slug && !lp_api_slug_valid(slug))
        lp_error_field(&req->err, LP_E_INVALID, "slug", "must be lower-case letters, digits and single \"-\"");
    if (bucket && strcmp(bucket, ours) != 0)
        lp_error_field(&req->err, LP_E_INVALID, "bucket", "Loupe reads from the bucket \"%s\" only", ours);
    if (prefix) {
        size_t n = strlen(prefix);
        if (n < 2 || prefix[n - 1] != '/')
            lp_error_field(&req->err, LP_E_INVALID, "prefix", "must be a folder such as \"acme/cameras/\" (ending "
                                                              "with \"/\")");
        else if (lp_storage_prefix_overlaps_managed(prefix))
            lp_error_field(&req->err, LP_E_INVALID, "prefix", "must not overlap the files Loupe manages itself "
                                                              "(originals/, derived/)");
        else {
            char probe[LP_STORAGE_KEY_MAX + 2];
            snprintf(probe, sizeof probe, "%sx", prefix); /* the prefix must make valid keys */
            lp_storage_key_check(probe, "prefix", &req->err);
        }
    }
    if (req->err.code != LP_OK)
        return -1;
    if (!(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        lp_db_storage_location_create(db, req->arena, req->who.team_id, req->who.user_id[0] ? req->who.user_id : NULL,
                                      slug, ours, prefix, req->svc->cfg->storage_locations_max, &row,
                                      &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "storage_location.create", "storage_location",
                        row.id, json_pack("{s:s, s:s}", "bucket", row.bucket, "prefix", row.prefix),
                        &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1
                   : lp_api_respond_created(req, "/api/v1/storage-locations", row.id, location_json(&row, 0));
}

int lp_api_storage_locations_list(lp_req *req)
{
    lp_storage_location_row *rows;
    size_t n;
    lp_db *db;
    int rc;

    if (!(db = lp_req_db(req)))
        return -1;
    rc = lp_db_storage_location_list(db, req->arena, req->who.team_id, req->svc->cfg->storage_locations_max, &rows,
                                     &n, &req->err);
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_api_respond_page(req, "items", rows, n, location_json, NULL);
}

int lp_api_storage_locations_delete(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "storage location");
    lp_db *db;
    int rc = -1;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 && lp_db_storage_location_delete(db, req->who.team_id, id, &req->err) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "storage_location.delete", "storage_location", id,
                        NULL, &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_empty(req, 204);
}
