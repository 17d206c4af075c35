/* Statements about the files of slots: uploads, the slot's media state and
 * the item status derived from it (src/db/media_sql.c, migration 0005).
 *
 * A slot moves empty → uploading → processing → ready | error; the item's
 * status follows its slots (lp_db_media_item_refresh): error if any slot is
 * in error (its reason becomes the item's), else processing, else uploading,
 * ready when every slot is ready, registered when none has a file yet.
 *
 * Statements that change a slot also refresh its item; call them inside a
 * transaction so both changes land together. Strings in rows are copied into
 * the caller's arena. team_id NULL means "any team" and is for workers only:
 * request handlers always pass the caller's team. */
#ifndef LOUPE_DB_MEDIA_SQL_H
#define LOUPE_DB_MEDIA_SQL_H

#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/items_sql.h"
#include "loupe/db/teams_sql.h"


/* The slot called slot_name of item item_id (an item of a live dataset of
 * the team). 0, or -1 with LP_E_NOT_FOUND naming what is missing. With
 * for_update (inside a transaction) the slot row is locked until commit. */
int lp_db_media_slot_get(lp_db *db, lp_arena *a, const char *team_id, const char *item_id, const char *slot_name,
                         int for_update, lp_slot_row *out, lp_error *err);

/* The same by slot id (workers). */
int lp_db_media_slot_get_by_id(lp_db *db, lp_arena *a, const char *team_id, const char *slot_id, int for_update,
                               lp_slot_row *out, lp_error *err);

/* Sets the slot's status (and error, NULL clears it), then refreshes its
 * item. 0 or -1. */
int lp_db_media_slot_set_status(lp_db *db, const char *slot_id, const char *status, const char *error,
                                lp_error *err);

/* Puts a slot that is still "uploading" back to status (an upload that did
 * not complete), then refreshes the item. 0 or -1. */
int lp_db_media_slot_restore(lp_db *db, const char *slot_id, const char *status, lp_error *err);

/* Gives the slot a new original, storage_json (a JSON object naming
 * upload_id and original). A ready slot keeps serving its media: the new
 * original waits in storage.next, and status stays ready until the job
 * finishes (lp_db_media_slot_finish promotes it) or fails (it is dropped).
 * Any other slot's storage becomes storage_json (earlier derived files are
 * forgotten), the measured fields are cleared and status becomes processing.
 * Then refreshes the item. 0 or -1. */
int lp_db_media_slot_set_original(lp_db *db, const char *slot_id, const char *storage_json, lp_error *err);

/* What normalisation found. NULL / negative members are left unknown. */
typedef struct lp_media_slot_result {
    int64_t width, height, frame_count;
    double fps;
    int rotation;
    const char *format;
    const char *storage_merge;  /* JSON object merged into slots.storage (derived keys) */
    const char *media_json;     /* JSON object stored as metadata.media */
} lp_media_slot_result;

/* Marks the slot ready with res — only while its storage (or storage.next,
 * which then becomes the storage) still names upload_id (a newer upload
 * wins) — and refreshes the item. Returns 1 when the slot was updated, 0 when
 * it had moved on to another upload, -1. */
int lp_db_media_slot_finish(lp_db *db, const char *slot_id, const char *upload_id, const lp_media_slot_result *res,
                            lp_error *err);

/* Marks the slot error with reason under the same rule; a failed
 * storage.next is dropped instead and the slot keeps its media. 1, 0 or -1. */
int lp_db_media_slot_fail(lp_db *db, const char *slot_id, const char *upload_id, const char *reason, lp_error *err);

/* Recomputes items.status and items.error of item_id from its slots
 * (nothing changes when they already agree). 0 or -1. */
int lp_db_media_item_refresh(lp_db *db, const char *item_id, lp_error *err);

/* ---- DICOM series beyond the first ------------------------------------- */

/* Where series `rank` (2, 3 …) of a DICOM upload into slot source goes. */
typedef struct lp_media_series_put {
    const lp_slot_row *source;        /* the slot the upload went to (borrowed) */
    int own_item;                     /* 0: a slot of source's item; 1: an item of its own */
    int rank;
    const char *upload_id;
    const lp_media_slot_result *res;  /* the converted series, or NULL: error with reason */
    const char *reason;
    size_t item_name_max;             /* the settings item_name_max and slot_name_max */
    size_t slot_name_max;
} lp_media_series_put;

/* base followed by suffix (arena), base cut short at a character boundary
 * when the whole would be over max bytes, so that the name made for a
 * series is one the API takes (max: item_name_max or slot_name_max, at
 * least 16, more than any suffix). NULL out of memory. */
char *lp_media_series_name(lp_arena *a, const char *base, const char *suffix, size_t max);

/* Records one series of a DICOM upload beyond the first (docs/VOLUMES.md):
 * a volume slot of the source slot's item named "<slot>-<rank>", or (own_item)
 * an item beside the source item (same dataset, folder and priority) named
 * "<item>-<rank>" whose slot has the source slot's name. When that name is
 * held by a slot or item that no upload into the source slot made for this
 * rank, "-2", "-3" … is appended (at most 100 tries); one that an earlier
 * upload made is reused, its media replaced (an item is first looked for by
 * its metadata.series_of in the source item's dataset, whatever its name). The slot's or item's name is cut
 * short (at a character boundary) when the suffix would take the name past
 * in->slot_name_max or in->item_name_max. The slot becomes ready with
 * res, or error with reason; its item is refreshed. item_id receives the
 * item's id, *name (arena) the slot's or the new item's name, *item_made 1
 * when this call made the item (own_item, not found from an earlier upload).
 * Call inside a transaction. 0 or -1. */
int lp_db_media_series_put(lp_db *db, lp_arena *a, const lp_media_series_put *in, char item_id[LP_DB_UUID_LEN],
                           char **name, int *item_made, lp_error *err);

/* ---- Uploads ----------------------------------------------------------- */

typedef struct lp_media_upload {
    char id[LP_DB_UUID_LEN];
    char item_id[LP_DB_UUID_LEN];
    char slot_id[LP_DB_UUID_LEN];
    char *kind;            /* arena: direct | presigned | external | fetch | files */
    char *key;             /* arena */
    char *state;           /* arena: pending | stored | failed */
    int64_t size;          /* -1 = unknown; while pending, the size declared (presigned) */
    char sha256[65];       /* "" = unknown */
    char *content_type;    /* arena; NULL = none */
    char job_id[LP_DB_UUID_LEN];      /* "" = none */
    char expires_at[LP_DB_TIME_LEN];  /* "" = none */
    char created_at[LP_DB_TIME_LEN];
    int64_t files;         /* kind "files": how many files it takes; else 0 */
} lp_media_upload;

/* Records a new pending upload with the given id (a UUID the caller made,
 * so the key can contain it). size: the size the client declared (-1 =
 * none). slot_status_before: the slot's status when the upload began (to put
 * it back should the upload be abandoned; NULL for none). expires_ms: Unix ms the upload URL expires
 * (0 = none). out (may be NULL) receives the row. 0 or -1. */
int lp_db_media_upload_create(lp_db *db, lp_arena *a, const char *id, const char *team_id, const char *item_id,
                              const char *slot_id, const char *kind, const char *key, const char *content_type,
                              int64_t size, int64_t expires_ms, const char *slot_status_before, lp_media_upload *out,
                              lp_error *err);

/* Records a new pending multi-file upload (kind "files") that takes files
 * files; key is the archive they become. As lp_db_media_upload_create. */
int lp_db_media_upload_create_files(lp_db *db, lp_arena *a, const char *id, const char *team_id, const char *item_id,
                                    const char *slot_id, const char *key, int64_t files, int64_t expires_ms,
                                    const char *slot_status_before, lp_media_upload *out, lp_error *err);

/* Expires at most limit pending uploads older than older_than_ms (abandoned:
 * never completed or confirmed): marks them failed and puts a slot still
 * "uploading" for that upload back to the status it had before
 * (slot_status_before). Safe on several nodes at once. Returns how many
 * uploads expired, or -1. */
int64_t lp_db_media_uploads_expire(lp_db *db, int64_t older_than_ms, int64_t limit, lp_error *err);

/* Upload upload_id of slot_id (NULL: the slot's latest). 0, or -1 with
 * LP_E_NOT_FOUND. */
int lp_db_media_upload_get(lp_db *db, lp_arena *a, const char *slot_id, const char *upload_id, lp_media_upload *out,
                           lp_error *err);

/* The presigned upload with storage key key while its URL may still be used:
 * pending (not confirmed, not failed) and the latest upload of its slot (not
 * superseded by a newer one). 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_media_upload_open_by_key(lp_db *db, lp_arena *a, const char *key, lp_media_upload *out, lp_error *err);

/* Marks an upload stored with its size, SHA-256 (NULL = unknown) and the
 * job it enqueued. 0 or -1. */
int lp_db_media_upload_stored(lp_db *db, const char *upload_id, int64_t size, const char *sha256,
                              const char *job_id, lp_error *err);

/* Marks a pending upload failed with why. 0 or -1. */
int lp_db_media_upload_failed(lp_db *db, const char *upload_id, const char *why, lp_error *err);

#endif
