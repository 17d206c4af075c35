/* Statements about exports (src/db/exports_sql.c, migrations/0012_exports_imports.sql).
 *
 * An export row keeps what was asked (format, variant, filters) and, once its
 * job is done, the archive's storage key, size, SHA-256 and the writer's
 * counts. Its state, progress and ETA are read from its job in the same
 * statement. Every read is scoped by team: another team's export is "not
 * found". Strings in rows are copied into the caller's arena. */
#ifndef LOUPE_DB_EXPORTS_SQL_H
#define LOUPE_DB_EXPORTS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

typedef struct lp_export_row {
    char id[LP_DB_UUID_LEN];
    char job_id[LP_DB_UUID_LEN];   /* "" when the job is gone */
    char *format;
    char *variant;                 /* NULL: the format's default */
    char *filters;                 /* JSON object text */
    char *storage_key;             /* NULL until the archive is written */
    int64_t size_bytes;            /* -1 until then */
    char *sha256;                  /* NULL until then */
    char *stats;                   /* JSON object text, or NULL */
    char *created_by;              /* NULL when unknown */
    char created_at[LP_DB_TIME_LEN];
    char finished_at[LP_DB_TIME_LEN]; /* "" until done */
    /* from the job */
    char status[16];               /* queued running succeeded failed cancelled */
    double progress;
    char eta[LP_DB_TIME_LEN];      /* "" unless running with progress */
    char *error;                   /* NULL when none */
} lp_export_row;

/* Inserts an export (no job yet) in the caller's transaction; *id_out gets
 * its id. 0 or -1. */
int lp_db_export_create(lp_db *db, const char *team_id, const char *user_id, const char *format,
                        const char *variant, const char *filters_json, char id_out[LP_DB_UUID_LEN], lp_error *err);

/* Links the export to the job that writes it. 0 or -1. */
int lp_db_export_set_job(lp_db *db, const char *id, const char *job_id, lp_error *err);

/* One export of the team. 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_export_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_export_row *out,
                     lp_error *err);

/* The team's exports, newest first, after after_id (NULL: from the newest);
 * at most limit rows (*out new in a). 0 or -1. */
int lp_db_export_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                      lp_export_row **out, size_t *n, lp_error *err);

/* Records the written archive: key, size, SHA-256 and the writer's counts
 * (JSON object text). 0, or -1 (LP_E_NOT_FOUND when the export is gone). */
int lp_db_export_finish(lp_db *db, const char *id, const char *storage_key, int64_t size_bytes, const char *sha256,
                        const char *stats_json, lp_error *err);

#endif
