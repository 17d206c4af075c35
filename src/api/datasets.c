/* Datasets:
 *   POST   /api/v1/datasets        {name, slug?} → 201 (MANAGE)
 *   GET    /api/v1/datasets        cursor pages in creation order (READ)
 *   GET    /api/v1/datasets/{id}   (READ)
 *   PATCH  /api/v1/datasets/{id}   {name?, slug?} (MANAGE)
 *   DELETE /api/v1/datasets/{id}   soft delete → 202 + the job deleting its items (MANAGE)
 *
 * A slug is unique among the team's live datasets; without one it is derived
 * from the name ("Street Scenes 2" → "street-scenes-2"). Every change writes
 * an audit row in its transaction. */
#include <string.h>

#include "identity_int.h"
#include "items_int.h"
#include "respond_int.h"
#include "handlers_int.h"
#include "loupe/api/input.h"

#define SLUG_MAX 100

json_t *lp_api_dataset_json(const lp_dataset_row *d)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", d->id, "name", d->name, "slug", d->slug, "created_at",
                     d->created_at, "updated_at", d->updated_at);
}

int lp_api_slug_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SLUG_MAX || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && s[k + 1] != '-')))
            return 0;
    }
    return 1;
}

/* Lower-case ASCII letters and digits of name, other runs as one "-". */
static const char *slug_from_name(lp_arena *a, const char *name)
{
    size_t n = strlen(name), len = 0;
    char *out = lp_arena_alloc(a, SLUG_MAX + 1);
    if (!out)
        return NULL;
    for (size_t k = 0; k < n && len < SLUG_MAX; k++) {
        char c = name[k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[len++] = c;
        else if (len > 0 && out[len - 1] != '-')
            out[len++] = '-';
    }
    while (len > 0 && out[len - 1] == '-')
        len--;
    out[len] = '\0';
    return out;
}

/* Reads name and slug of a create (required: name) or update body. */
static void read_fields(lp_req *req, json_t *body, int creating, const char **name, const char **slug)
{
    static const char *const fields[] = {"name", "slug", NULL};
    lp_in_only(req, body, NULL, fields);
    if (lp_in_string(req, body, NULL, "name", creating ? LP_IN_REQUIRED : LP_IN_OPTIONAL, 0, name) == 0 && *name)
        lp_identity_name(*name, "name", (size_t)req->svc->cfg->string_max_length, &req->err);
    if (lp_in_string(req, body, NULL, "slug", LP_IN_OPTIONAL, SLUG_MAX, slug) == 0 && *slug &&
        !lp_api_slug_valid(*slug))
        lp_error_field(&req->err, LP_E_INVALID, "slug",
                       "must be lower-case letters and digits in words joined by single hyphens (e.g. \"street-scenes\")");
}

static int slug_taken(lp_req *req, const char *slug)
{
    lp_error_field(&req->err, LP_E_CONFLICT, "slug", "is already used by another dataset of this team");
    return lp_error_hint(&req->err, "choose another slug (\"%s\" is taken)", slug);
}

int lp_api_datasets_create(lp_req *req)
{
    const char *name = NULL, *slug = NULL;
    json_t *body;
    lp_dataset_row ds;
    lp_db *db;
    int rc = -1, made;

    if (!(body = lp_req_json(req, 1)))
        return -1;
    read_fields(req, body, 1, &name, &slug);
    if (req->err.code == LP_OK && !slug) {
        slug = slug_from_name(req->arena, name);
        if (slug && !*slug)
            lp_error_field(&req->err, LP_E_INVALID, "slug", "is required when the name has no letters or digits");
    }
    if (req->err.code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        (made = lp_db_dataset_create(db, req->arena, req->who.team_id, name, slug, &ds, &req->err)) >= 0) {
        if (made == 1)
            slug_taken(req, slug);
        else if (lp_audit_record(db, req->who.team_id, req->who.user_id, "dataset.create", "dataset", ds.id,
                                   json_pack("{s:s, s:s}", "name", name, "slug", slug), &req->err) == 0 &&
                 lp_db_commit(db, &req->err) == 0)
            rc = 0;
    }
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_api_respond_created(req, "/api/v1/datasets", ds.id, lp_api_dataset_json(&ds));
}

static json_t *dataset_at(const void *rows, size_t i)
{
    return lp_api_dataset_json((const lp_dataset_row *)rows + i);
}

static void dataset_cursor(lp_req *req, const void *rows, size_t i, const void *ctx, const char **key, const char **id)
{
    (void)req;
    const lp_dataset_row *r = (const lp_dataset_row *)rows + i;
    (void)ctx;
    *key = r->created_at;
    *id = r->id;
}

int lp_api_datasets_list(lp_req *req)
{
    lp_page page;
    lp_dataset_row *rows;
    size_t n;
    lp_db *db;
    int rc;

    if (lp_page_read_checked(req, &page, lp_item_time_valid) != 0)
        return -1;
    if (!(db = lp_req_db_read(req)))
        return -1;
    rc = lp_db_dataset_list(db, req->arena, req->who.team_id, page.after_key, page.after_id, page.size + 1, &rows, &n,
                            &req->err);
    lp_req_db_release(req);
    if (rc != 0)
        return -1;
    return lp_api_respond_keyset(req, "datasets", &page, rows, n, dataset_at, dataset_cursor, NULL);
}

int lp_api_datasets_get(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "dataset");
    lp_dataset_row ds;
    lp_db *db;
    int rc;

    if (!id || !(db = lp_req_db(req)))
        return -1;
    rc = lp_db_dataset_get(db, req->arena, req->who.team_id, id, &ds, &req->err);
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, lp_api_dataset_json(&ds));
}

int lp_api_datasets_update(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "dataset"), *name = NULL, *slug = NULL;
    json_t *body;
    lp_dataset_row ds;
    lp_db *db;
    int rc = -1, done;

    if (!id || !(body = lp_req_json(req, 1)))
        return -1;
    read_fields(req, body, 0, &name, &slug);
    if (req->err.code != LP_OK || !(db = lp_req_db(req)))
        return -1;
    if (lp_db_begin(db, &req->err) == 0 &&
        (done = lp_db_dataset_update(db, req->arena, req->who.team_id, id, name, slug, &ds, &req->err)) >= 0) {
        if (done == 1)
            slug_taken(req, slug);
        else if (lp_audit_record(db, req->who.team_id, req->who.user_id, "dataset.update", "dataset", id,
                                   json_pack("{s:o, s:o}", "name", name ? json_string(name) : json_null(), "slug",
                                             slug ? json_string(slug) : json_null()),
                                   &req->err) == 0 &&
                 lp_db_commit(db, &req->err) == 0)
            rc = 0;
    }
    lp_req_db_release(req);
    return rc != 0 ? -1 : lp_res_json(req, 200, lp_api_dataset_json(&ds));
}

int lp_api_datasets_delete(lp_req *req)
{
    const char *id = lp_identity_uuid_param(req, "id", "dataset");
    json_t *body;
    char job_id[37];
    lp_db *db;
    int rc = -1;

    if (!id)
        return -1;
    /* The contents go the way of any bulk delete by filter. */
    body = json_pack("{s:{s:s}}", "filters", "dataset_id", id);
    if (!body)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory deleting dataset %s", id);
    if ((db = lp_req_db(req)) && lp_db_begin(db, &req->err) == 0 &&
        lp_db_dataset_soft_delete(db, req->who.team_id, id, &req->err) == 0 &&
        lp_api_items_bulk_enqueue(req, db, body, LP_ITEMS_DELETE, job_id) == 0 &&
        lp_audit_record(db, req->who.team_id, req->who.user_id, "dataset.delete", "dataset", id,
                          json_pack("{s:s}", "job_id", job_id), &req->err) == 0 &&
        lp_db_commit(db, &req->err) == 0)
        rc = 0;
    lp_req_db_release(req);
    json_decref(body);
    return rc != 0 ? -1 : lp_api_respond_job(req, job_id);
}
