/* items.fetch: the file of a slot registered by an inbound integration with
 * a URL, fetched through the SSRF guard (src/net) into storage, then handed
 * to media.normalize like any upload.
 *
 * payload {"item_id": uuid, "slot_id": uuid, "upload_id": uuid, "url": text}
 * result  {"item_id", "slot_id", "upload_id", "status": "fetched"|"error", "size"?, "job_id"?, "error"?}
 *
 * A refused address, a URL that is not allowed, a 4xx answer, a file over
 * upload_max_bytes or an empty one end the slot in error with the reason
 * (the job succeeds: it did its work). A timeout, a refused connection or a
 * 5xx answer fail the attempt so it is retried; the last attempt also marks
 * the slot. A redelivery after the upload was stored does nothing. */
#include <stdio.h>
#include <string.h>

#include "../jobs_int.h"
#include "loupe/core/util.h"
#include "loupe/db/media_sql.h"
#include "loupe/jobs/normalize.h"
#include "loupe/net/client.h"
#include "loupe/storage/storage.h"

static const char *const MEMBERS[] = {"item_id", "slot_id", "upload_id", "url", NULL};

int lp_job_items_fetch_validate(const json_t *payload, const lp_config *cfg, lp_error *err)
{
    const char *key;
    const json_t *value;
    int rc = 0;
    (void)cfg;
    for (int i = 0; i < 3; i++) {
        const json_t *v = json_object_get(payload, MEMBERS[i]);
        if (!json_is_string(v) || !lp_is_uuid(json_string_value(v)))
            rc = lp_error_field(err, LP_E_INVALID, MEMBERS[i], "is required and must be a UUID");
    }
    if (!json_is_string(json_object_get(payload, "url")))
        rc = lp_error_field(err, LP_E_INVALID, "url", "is required");
    json_object_foreach((json_t *)payload, key, value) {
        size_t i;
        for (i = 0; MEMBERS[i] && strcmp(MEMBERS[i], key) != 0; i++) {
        }
        if (!MEMBERS[i])
            rc = lp_error_field(err, LP_E_INVALID, key,
                                "is not a member of an items.fetch payload (item_id, slot_id, upload_id, url)");
    }
    return rc ? -1 : 0;
}

typedef struct fetch {
    lp_storage_writer *w;
    lp_error err;
} fetch;

static int to_storage(void *ctx, const void *p, size_t n)
{
    fetch *f = ctx;
    return lp_storage_writer_write(f->w, p, n, &f->err);
}

/* The slot ends in error with why; the job succeeds with that result. */
static int give_up(lp_job_ctx *ctx, const char *item_id, const char *slot_id, const char *upload_id, const char *why)
{
    lp_error err;
    lp_error_clear(&err);
    if (lp_db_begin(ctx->db, &err) != 0 || lp_db_media_upload_failed(ctx->db, upload_id, why, &err) != 0 ||
        lp_db_media_slot_set_status(ctx->db, slot_id, "error", why, &err) != 0 ||
        lp_db_media_item_refresh(ctx->db, item_id, &err) != 0 || lp_db_commit(ctx->db, &err) != 0) {
        lp_db_rollback(ctx->db);
        ctx->err = err;
        return -1;
    }
    lp_job_set_result(ctx, json_pack("{s:s, s:s, s:s, s:s, s:s}", "item_id", item_id, "slot_id", slot_id, "upload_id",
                                     upload_id, "status", "error", "error", why));
    return 0;
}

int lp_job_items_fetch_run(lp_job_ctx *ctx)
{
    const char *item_id, *slot_id, *upload_id, *url;
    char key[LP_STORAGE_KEY_MAX + 1], job_id[37], why[512];
    lp_net_allowlist allow;
    lp_net_policy policy;
    lp_net_client *http = NULL;
    lp_net_response resp;
    lp_storage *s = NULL;
    lp_storage_object obj;
    lp_media_upload up;
    fetch f;
    int rc = -1, last = ctx->attempt >= ctx->max_attempts;

    memset(&resp, 0, sizeof resp);
    memset(&f, 0, sizeof f);
    lp_error_clear(&f.err);
    if (lp_job_items_fetch_validate(ctx->payload, ctx->cfg, &ctx->err) != 0)
        return -1;
    item_id = json_string_value(json_object_get(ctx->payload, "item_id"));
    slot_id = json_string_value(json_object_get(ctx->payload, "slot_id"));
    upload_id = json_string_value(json_object_get(ctx->payload, "upload_id"));
    url = json_string_value(json_object_get(ctx->payload, "url"));

    if (lp_db_media_upload_get(ctx->db, ctx->arena, slot_id, upload_id, &up, &ctx->err) != 0 ||
        strcmp(up.state, "pending") != 0) {
        if (ctx->err.code != LP_OK && ctx->err.code != LP_E_NOT_FOUND)
            return -1;
        lp_error_clear(&ctx->err);
        lp_job_set_result(ctx, json_pack("{s:s, s:s, s:s}", "item_id", item_id, "slot_id", slot_id, "skipped",
                                         "the upload is no longer waiting for its file"));
        return 0;
    }
    if (lp_net_allowlist_parse(ctx->cfg->net_allow, &allow, &ctx->err) != 0)
        return -1;
    policy = (lp_net_policy){.allow = &allow,
                             .allow_http = ctx->cfg->webhook_allow_http,
                             .max_redirects = LP_NET_REDIRECTS_MAX,
                             .timeout_ms = ctx->deadline_ms - lp_now_mono_ms(),
                             .max_response_bytes = ctx->cfg->upload_max_bytes};
    lp_storage_key_original(ctx->team_id, item_id, upload_id, key, sizeof key);
    if (!(s = lp_storage_open(ctx->cfg, &ctx->err)) || !(http = lp_net_client_new(&ctx->err)) ||
        !(f.w = lp_storage_writer_open(s, key, NULL, &ctx->err)))
        goto cleanup;
    lp_net_request req = {.method = "GET", .url = url, .sink = to_storage, .sink_ctx = &f};
    lp_error err;
    lp_error_clear(&err);
    if (lp_net_fetch(http, &policy, &req, &resp, &err) != 0) {
        lp_storage_writer_abort(f.w);
        f.w = NULL;
        snprintf(why, sizeof why, "cannot fetch the file from %.200s: %s", url,
                 err.code == LP_E_IO && f.err.message[0] ? f.err.message : err.message);
        if (err.code == LP_E_TIMEOUT || err.code == LP_E_UNAVAILABLE || err.code == LP_E_IO) {
            if (!last) {
                lp_error_set(&ctx->err, err.code, "%s", why);
                goto cleanup;
            }
        }
        rc = give_up(ctx, item_id, slot_id, upload_id, why);
        goto cleanup;
    }
    if (resp.status < 200 || resp.status > 299) {
        lp_storage_writer_abort(f.w);
        f.w = NULL;
        snprintf(why, sizeof why, "cannot fetch the file from %.200s: the server answered %ld", url, resp.status);
        if (resp.status >= 500 && !last) {
            lp_error_set(&ctx->err, LP_E_UNAVAILABLE, "%s", why);
            goto cleanup;
        }
        rc = give_up(ctx, item_id, slot_id, upload_id, why);
        goto cleanup;
    }
    if (lp_storage_writer_commit(f.w, &obj, &ctx->err) != 0) {
        f.w = NULL;
        goto cleanup;
    }
    f.w = NULL;
    if (obj.size == 0) {
        rc = give_up(ctx, item_id, slot_id, upload_id, "the fetched file is empty (0 bytes)");
        goto cleanup;
    }
    lp_normalize_start ns = {.team_id = ctx->team_id, .item_id = item_id, .slot_id = slot_id, .upload_id = upload_id,
                             .key = key, .size = (int64_t)obj.size, .sha256 = obj.sha256};
    if (lp_db_begin(ctx->db, &ctx->err) != 0 || lp_jobs_start_normalize(ctx->db, ctx->cfg, &ns, job_id, &ctx->err) != 0 ||
        lp_db_commit(ctx->db, &ctx->err) != 0) {
        lp_db_rollback(ctx->db);
        goto cleanup;
    }
    lp_job_set_result(ctx, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "item_id", item_id, "slot_id", slot_id,
                                     "upload_id", upload_id, "status", "fetched", "size", (json_int_t)obj.size,
                                     "job_id", job_id));
    rc = 0;

cleanup:
    if (f.w)
        lp_storage_writer_abort(f.w);
    lp_net_response_free(&resp);
    lp_net_client_free(http);
    lp_storage_free(s);
    return rc;
}
