/* Statements about the model registry (src/db/models_sql.c, migrations/0025_models.sql).
 *
 * Every statement is scoped by team: another team's model, or a deleted one,
 * is not found. */
#ifndef LOUPE_DB_MODELS_SQL_H
#define LOUPE_DB_MODELS_SQL_H

#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

typedef struct lp_model_row {
    char id[LP_DB_UUID_LEN];
    const char *name, *task, *runtime, *queue;
    const char *spec;      /* the stored spec, JSON text */
    int64_t version;       /* counts changes: the ETag */
    const char *file_key;  /* NULL until an onnx file is uploaded */
    int64_t file_size;     /* -1 without a file */
    const char *file_sha256, *uploaded_at, *created_by; /* NULL when unset */
    char created_at[32], updated_at[32];
} lp_model_row;

/* The values of a new or changed model (spec is JSON text, checked by lp_model_spec_read). */
typedef struct lp_model_values {
    const char *name, *task, *runtime, *queue, *spec;
} lp_model_values;

/* Inserts a model of the team. 0 (out filled), or -1. */
int lp_db_model_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id, const lp_model_values *v,
                       lp_model_row *out, lp_error *err);

/* Reads a live model of the team. 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_model_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_model_row *out, lp_error *err);

/* The team's live models in id (creation) order after after_id (NULL: from
 * the start), at most limit. */
int lp_db_model_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                     lp_model_row **out, size_t *n, lp_error *err);

/* Replaces the model's values and counts a version, when its version is
 * still version. 0 (out filled), 1 when the version has moved on (nothing
 * changed), or -1 (LP_E_NOT_FOUND when there is no such live model). A
 * runtime other than onnx forgets the uploaded file. */
int lp_db_model_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, int64_t version,
                       const lp_model_values *v, lp_model_row *out, lp_error *err);

/* Marks the model deleted. 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_model_soft_delete(lp_db *db, const char *team_id, const char *id, lp_error *err);

/* Records an uploaded file of an onnx model and counts a version. 0, 1 when
 * the model's runtime is not onnx, or -1 (LP_E_NOT_FOUND). */
int lp_db_model_set_file(lp_db *db, const char *team_id, const char *id, const char *key, int64_t size,
                         const char *sha256, lp_error *err);

#endif
