/* Statements about annotation classes (src/db/classes_sql.c).
 *
 * Every statement is scoped by team: another team's class is "not found".
 * List-valued columns travel as JSON text both ways (annotation_types and
 * sub_types as arrays of strings, properties as an array, skeleton as an
 * object or NULL), already validated by the caller. Strings in rows are
 * copied into the caller's arena. */
#ifndef LOUPE_DB_CLASSES_SQL_H
#define LOUPE_DB_CLASSES_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"

typedef struct lp_class_row {
    char id[37];
    char *name;
    char *annotation_types; /* JSON array text */
    char *color;
    char *description;
    char *properties;       /* JSON array text */
    char *skeleton;         /* JSON object text, or NULL */
    char *sub_types;        /* JSON array text */
    char created_at[32];
    char updated_at[32];
} lp_class_row;

/* The values a create or update writes (all required; skeleton may be NULL). */
typedef struct lp_class_values {
    const char *name;
    const char *annotation_types;
    const char *color;
    const char *description;
    const char *properties;
    const char *skeleton;
    const char *sub_types;
} lp_class_values;

/* Inserts a class. 0 (out filled), 1 when the team has a class of that name
 * (nothing inserted), -1. */
int lp_db_class_create(lp_db *db, lp_arena *a, const char *team_id, const lp_class_values *v, lp_class_row *out,
                       lp_error *err);

/* One class of the team. 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_class_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_class_row *out, lp_error *err);

/* The team's classes in (name, id) order after (after_name, after_id) when
 * given; at most limit rows (*out new in a). */
int lp_db_class_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_name, const char *after_id,
                     int64_t limit, lp_class_row **out, size_t *n, lp_error *err);

/* Replaces every value of a class. 0, 1 when the new name is taken, or -1
 * (LP_E_NOT_FOUND). */
int lp_db_class_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const lp_class_values *v,
                       lp_class_row *out, lp_error *err);

/* Number of annotations of the class (any item of the team). -1 on error. */
int64_t lp_db_class_usage(lp_db *db, const char *team_id, const char *id, lp_error *err);

/* Deletes the class's annotations (refreshing each touched item's
 * annotation_count, class_ids and annotation version), then the class, in
 * the caller's transaction. *deleted gets the number of annotations removed,
 * *items the number of items touched. 0, or -1 (LP_E_NOT_FOUND). */
int lp_db_class_delete(lp_db *db, const char *team_id, const char *id, int64_t *deleted, int64_t *items,
                       lp_error *err);

/* The team's classes among ids (a JSON array of UUID strings), in any order,
 * as needed to check annotations. */
int lp_db_classes_by_ids(lp_db *db, lp_arena *a, const char *team_id, const char *ids_json, lp_class_row **out,
                         size_t *n, lp_error *err);

/* The team's classes among ids (a JSON array of UUIDs) or named in names (a
 * JSON array of strings), plus, when item_properties, every class with a
 * property of granularity "item" (*out new in a). 0 or -1. */
int lp_db_classes_for_annotations(lp_db *db, lp_arena *a, const char *team_id, const char *ids_json,
                                  const char *names_json, bool item_properties, lp_class_row **out, size_t *n,
                                  lp_error *err);

#endif
