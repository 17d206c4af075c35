/* What the annotation handlers (annotations.c) share with consensus work
 * (tasks.c, POST /api/v1/tasks/{id}/submit) and the inbound integrations
 * (integrations.c, annotations.import): Darwin JSON 2.0 annotations
 * read, checked and stored exactly as the batch route does it
 * (POST /api/v1/items/{id}/annotations/batch), so one reader and one set of
 * checks judge every annotation whichever way it arrives.
 *
 * Failures are recorded on req->err with field errors anchored under the
 * list's name ("annotations[2].bounding_box.w"); functions return 0 or -1.
 * Memory: the request's arena. */
#ifndef LOUPE_API_ANNOTATIONS_INT_H
#define LOUPE_API_ANNOTATIONS_INT_H

#include <stddef.h>

#include "loupe/annotation/annotation.h"
#include "loupe/core/buf.h"
#include "loupe/core/json_scan.h"
#include "loupe/db/db.h"
#include "loupe/http/request.h"

/* Reads the value at s, which must be an array of annotation objects (as
 * the batch's "create" list), into *out (*n of them); name is the list's
 * name in field errors. A syntax error fails at once; invalid annotations
 * are all reported (422). */
int lp_api_ann_read_list(lp_req *req, lp_jscan *s, const char *name, lp_ann **out, size_t *n);

/* Checks new annotations against the item's slots and the team's classes,
 * as the batch route checks its creates (ids given where missing, class
 * names resolved, slots filled in). */
int lp_api_ann_check(lp_req *req, lp_db *db, const char *item_id, lp_ann *anns, size_t n, const char *name);

/* Replaces every annotation of the item with anns (as new rows) through the
 * annotation store: locks the item's version, deletes what it holds,
 * checks and writes the new ones and moves the version on. Call inside a
 * transaction. */
int lp_api_ann_replace(lp_req *req, lp_db *db, const char *item_id, const lp_ann *anns, size_t n);

/* Adds anns (ids NULL: new ones are given) to the item's annotations, as
 * lp_api_ann_replace without deleting anything; *ids (arena, n) gets the
 * new annotations' ids. Call inside a transaction. */
int lp_api_ann_append(lp_req *req, lp_db *db, const char *item_id, const lp_ann *anns, size_t n, const char ***ids);

/* Inside the caller's transaction on db: reads req->body as an annotation
 * batch ({"create", "update", "delete"}, checked exactly like POST
 * …/annotations/batch, field errors named from the batch down: "create[1]…"),
 * locks and writes it for item_id of req->who.team_id, and renders the
 * batch answer into resp. 0, or -1 with req->err; the caller rolls back. */
int lp_api_annotations_import(lp_req *req, lp_db *db, const char *item_id, lp_buf *resp);

#endif
