/* Reading request input: typed members of a JSON body and query parameters,
 * each failure recorded as a field error on req->err (422 for a wrong value,
 * 400 for an unparseable query parameter) naming the member by its path
 * (prefix + name, e.g. "slots[1].width"). Functions return 0 when the value
 * was read or is absent-and-optional (out untouched, *present = 0 when the
 * pointer is given), -1 after recording an error. Validation continues after
 * an error so one response lists every bad field; check
 * `req->err.code != LP_OK` at the end. Strings returned are borrowed from the
 * JSON document (valid while it is) or from the request arena. */
#ifndef LOUPE_API_INPUT_H
#define LOUPE_API_INPUT_H

#include <jansson.h>
#include <stdint.h>

#include "loupe/http/request.h"

typedef enum lp_in_flags { LP_IN_OPTIONAL = 0, LP_IN_REQUIRED = 1, LP_IN_NULLABLE = 2 } lp_in_flags;

/* Non-empty valid UTF-8 string of at most max bytes (0 = cfg->string_max_length). */
int lp_in_string(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, size_t max,
                 const char **out);
/* The same with the limit a setting gives: an over-long value is refused
 * naming it ("is N bytes long, over the limit of M (setting)"). lp_in_string
 * with max 0 names string_max_length. */
int lp_in_string_limit(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, size_t max,
                       const char *setting, const char **out);
/* A UUID in canonical text form. */
int lp_in_uuid(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, const char **out);
/* An integer in [min, max]. */
int lp_in_int(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, int64_t min, int64_t max,
              int64_t *out);
/* A finite number (integer or real) in [min, max]. */
int lp_in_number(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, double min, double max,
                 double *out);
int lp_in_bool(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, int *out);
/* One of choices (NULL-terminated); *out is the index. */
int lp_in_enum(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, const char *const *choices,
               int *out);
/* A JSON object / array member (borrowed). */
int lp_in_object(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, json_t **out);
int lp_in_array(lp_req *req, json_t *obj, const char *prefix, const char *name, int flags, size_t max_len,
                json_t **out);
/* Fails with 422 naming every member of obj not in allowed (NULL-terminated). */
int lp_in_only(lp_req *req, json_t *obj, const char *prefix, const char *const *allowed);

/* Query parameters. */
int lp_query_int(lp_req *req, const char *name, int64_t min, int64_t max, int64_t def, int64_t *out);
int lp_query_uuid(lp_req *req, const char *name, const char **out); /* absent → *out NULL, 0 */

/* Cursor pagination: page[size] (1..page_size_max, default 50) and
 * page[after] (an opaque cursor made by lp_page_cursor). */
typedef struct lp_page {
    int64_t size;
    const char *after_key;  /* decoded sort key of the last row seen, or NULL */
    const char *after_id;   /* id of the last row seen, or NULL */
} lp_page;
int lp_page_read(lp_req *req, lp_page *page);
/* lp_page_read, then the decoded page[after] key checked by key_ok (NULL: any): a key that
 * cannot be one of this list's is a 400 naming page[after]. */
int lp_page_read_checked(lp_req *req, lp_page *page, int (*key_ok)(const char *key));
/* Opaque cursor for (sort key, id): base64url of "key\x1fid". Arena string. */
const char *lp_page_cursor(lp_req *req, const char *key, const char *id);
/* Sets "next" in the list document: the request URL with page[after]=cursor
 * (other parameters kept). cursor NULL → "next": null. */
int lp_page_set_next(lp_req *req, json_t *doc, const char *cursor);

#endif
