/* Class checks other resources share (src/api/classes.c). */
#ifndef LOUPE_API_CLASSES_INT_H
#define LOUPE_API_CLASSES_INT_H

#include <jansson.h>

#include "loupe/db/db.h"
#include "loupe/http/request.h"

/* Every value of map (label → class id, borrowed; NULL or empty passes) is
 * a class of the caller's team: a 422 field error "<prefix><label>" for each
 * that is not. 0, or -1 with req->err set. */
int lp_api_class_map_check(lp_req *req, lp_db *db, const json_t *map, const char *prefix);

#endif
