/* Answers the resource handlers share (respond.c): one page of a cursor-
 * paginated list, a resource just created, and a resource deleted. They take
 * over body/rows rendering so that every list, every 201 and every 204
 * reads the same. */
#ifndef LOUPE_API_RESPOND_INT_H
#define LOUPE_API_RESPOND_INT_H

#include <jansson.h>
#include <stddef.h>

#include "loupe/api/input.h"
#include "loupe/db/db.h"
#include "loupe/http/request.h"

/* Renders element i of a row array: a new reference, or NULL when out of
 * memory. */
typedef json_t *(*lp_api_row_json)(const void *rows, size_t i);

/* Answers 200 with the list document {"<key>": [render(rows, 0), …,
 * render(rows, shown - 1)], "next": …}: next links to the page after cursor
 * (made by lp_page_cursor), or is null when cursor is NULL (the last page).
 * rows are borrowed. 0, or -1 with req->err set (out of memory). */
int lp_api_respond_page(lp_req *req, const char *key, const void *rows, size_t shown, lp_api_row_json render,
                        const char *cursor);

/* The (sort key, id) of row i, from which the next page's cursor is made (ctx: the handler's,
 * e.g. its sort order). */
typedef void (*lp_api_row_cursor)(lp_req *req, const void *rows, size_t i, const void *ctx, const char **key,
                                  const char **id);

/* Answers one page of a keyset-paginated list, the shape every list handler shares: rows holds
 * the n rows read for page (asked for page->size + 1, in list order); the first page->size are
 * shown, and when there were more, "next" carries the cursor of the last one shown. */
int lp_api_respond_keyset(lp_req *req, const char *key, const lp_page *page, const void *rows, size_t n,
                          lp_api_row_json render, lp_api_row_cursor cursor, const void *ctx);

/* Renders one row for the request it answers (a new reference, or NULL
 * when out of memory): for rows whose document needs the request, such as
 * a URL signed for it. */
typedef json_t *(*lp_api_row_render)(lp_req *req, const void *row);

/* lp_api_respond_keyset for a list ordered by id alone whose rows render
 * with the request: rows is an array of n rows of row_size bytes, each
 * holding its id as a string at id_offset (a char array member). */
int lp_api_respond_id_keyset(lp_req *req, const char *key, const lp_page *page, const void *rows, size_t n,
                             size_t row_size, size_t id_offset, lp_api_row_render render);

/* 1 if a decoded page[after] key is a UUID: the key of lists ordered by
 * their (time-ordered) ids. */
int lp_api_uuid_cursor_ok(const char *key);

/* Answers 201 with body (stolen) and "Location: <collection>/<id>"
 * (collection like "/api/v1/datasets"). 0 or -1. */
int lp_api_respond_created(lp_req *req, const char *collection, const char *id, json_t *body);

/* The one answer that shows a secret: doc (stolen) with its "secret" member
 * added, as 201 like lp_api_respond_created when collection is set, else as
 * 200. 0 or -1. */
int lp_api_respond_secret(lp_req *req, const char *collection, const char *id, json_t *doc, const char *secret);

/* Removes the team's row id of a resource: 0, or -1 with LP_E_NOT_FOUND
 * when the team has none (lp_db_webhook_delete and the like). */
typedef int (*lp_api_delete_fn)(lp_db *db, const char *team_id, const char *id, lp_error *err);

/* DELETE …/{id} of a team's resource: del and the audit row
 * "<resource>.delete" in one transaction, then 204; or -1 with req->err
 * (404 naming label, "webhook", when {id} is not one of the team's). */
int lp_api_respond_deleted(lp_req *req, const char *label, const char *resource, lp_api_delete_fn del);

#endif
