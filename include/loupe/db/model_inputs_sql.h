/* Statements about the images of live inference held in storage
 * (src/db/model_inputs_sql.c, migrations/0043_model_inputs.sql): a row per
 * image from before its object is written until after it is deleted, so
 * that what a stopped louped left behind can be found and swept. */
#ifndef LOUPE_DB_MODEL_INPUTS_SQL_H
#define LOUPE_DB_MODEL_INPUTS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

/* Notes input id of team_id (before its object is written). 0 or -1. */
int lp_db_model_input_add(lp_db *db, const char *team_id, const char *id, lp_error *err);

/* Forgets input id (after its object was deleted). 0 or -1. */
int lp_db_model_input_remove(lp_db *db, const char *id, lp_error *err);

/* One input left behind. */
typedef struct lp_model_input_row {
    char id[LP_DB_UUID_LEN];
    char team_id[LP_DB_UUID_LEN];
} lp_model_input_row;

/* In an open transaction: locks up to limit inputs noted more than
 * older_than_ms ago, oldest first, skipping those another node has locked
 * (*rows in a). 0 or -1. */
int lp_db_model_inputs_stale(lp_db *db, lp_arena *a, int64_t older_than_ms, int64_t limit, lp_model_input_row **rows,
                             size_t *n, lp_error *err);

/* Forgets the inputs of ids[0..n). 0 or -1. */
int lp_db_model_inputs_remove(lp_db *db, lp_arena *a, const char *const *ids, size_t n, lp_error *err);

#endif
