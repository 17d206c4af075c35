/* Shared by the dataset and item handlers (datasets.c, items.c,
 * items_bulk.c): the JSON form of datasets and items, and answering with a
 * queued items.bulk job. */
#ifndef LOUPE_API_ITEMS_INT_H
#define LOUPE_API_ITEMS_INT_H

#include <jansson.h>

#include "loupe/db/datasets_sql.h"
#include "loupe/db/items_sql.h"
#include "loupe/http/request.h"
#include "loupe/db/item_filter.h"

/* 1 if s is a slug: 1 to 100 of a-z, 0-9 and single inner "-". */
int lp_api_slug_valid(const char *s);

/* {id, name, slug, created_at, updated_at}. New reference or NULL. */
json_t *lp_api_dataset_json(const lp_dataset_row *d);

/* {id, dataset_id, name, path, status, error, priority, metadata,
 * annotation_count, class_ids, created_at, updated_at, slots: […]} (slots
 * as loaded). New reference or NULL. */
json_t *lp_api_item_json(const lp_item_row *it);

/* Enqueues a job of kind for the caller's team, by the caller, with payload
 * (stolen; NULL: out of memory) inside the caller's transaction on db;
 * max_attempts 0 = the configured default. 0 (id filled) or -1. */
int lp_api_enqueue_job(lp_req *req, lp_db *db, const char *kind, json_t *payload, int max_attempts,
                       char job_id[37]);

/* Enqueues an items.bulk job for op with payload made from body (see
 * lp_items_bulk_payload) inside the caller's transaction on db; copies get a
 * single attempt (a copy is not idempotent). 0 (id filled) or -1. */
int lp_api_items_bulk_enqueue(lp_req *req, lp_db *db, const json_t *body, lp_items_op op, char job_id[37]);

/* Answers 202 {"job": {id, kind, status, url}} with a Location header:
 * an items.bulk job, or a job of another kind. */
int lp_api_respond_job(lp_req *req, const char *job_id);
int lp_api_respond_job_of(lp_req *req, const char *kind, const char *job_id);

/* An item to register, as POST /api/v1/datasets/{id}/items reads it. */
typedef struct lp_item_input {
    const char *name, *path;  /* path normalised; "/" when absent */
    int64_t priority;
    const char *metadata;     /* JSON object text; NULL = {} */
    lp_slot_input *slots;     /* arena */
    size_t nslots;
} lp_item_input;

/* Reads {name, path?, priority?, metadata?, slots} from body into in
 * (field errors named from the body's top: "name", "slots[1].type"). 0, or
 * -1 with req->err. */
int lp_api_item_input_read(lp_req *req, json_t *body, lp_item_input *in);

/* In the caller's transaction: registers the item in dataset_id of
 * req->who.team_id, with its audit row. A taken path and name is a 409 on
 * "name" (the transaction is then aborted). 0, or -1 with req->err. */
int lp_api_item_register(lp_req *req, lp_db *db, const char *dataset_id, const lp_item_input *in, lp_item_row *out);

#endif
