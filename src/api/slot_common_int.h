/* What the slot and file handlers (uploads.c, slot_media.c, files.c)
 * share (and inbound integrations that give a file inline): the node's
 * storage handle, media types, the slot named by a route, reading an
 * object into memory, and the JSON of an upload. */
#ifndef LOUPE_API_SLOT_COMMON_INT_H
#define LOUPE_API_SLOT_COMMON_INT_H

#include <jansson.h>

#include "loupe/db/media_sql.h"
#include "loupe/http/request.h"
#include "loupe/storage/storage.h"

/* Longest Content-Type a client may give a file. */
#define LP_SLOT_CONTENT_TYPE_MAX 200

/* 1 if s is a media type as HTTP writes it: type "/" subtype, optional
 * parameters, printable ASCII only (no CR, LF or other control characters
 * that could split a header when the value is echoed back). */
int lp_slot_media_type_ok(const char *s);

/* The node's storage (opened by the application at start-up), or NULL with
 * req->err set to 503 during the moment before it is open. Borrowed. */
lp_storage *lp_slot_storage(lp_req *req);

/* The slot named by the route's {id} (item UUID) and {slot} (slot name) in
 * the caller's team. 0, or -1 with req->err set (404 naming what is
 * missing). for_update: lock the slot row (inside a transaction on db). */
int lp_slot_from_route(lp_req *req, lp_db *db, int for_update, lp_slot_row *out);

/* {id, kind, state, key, size, sha256, content_type, job_id, expires_at,
 * created_at}. New reference or NULL. */
json_t *lp_slot_upload_json(const lp_media_upload *u);

/* Reads len bytes (LP_STORAGE_TO_END: to the end) of object key from off
 * into buf, which holds cap; *got is the number read. An object that yields
 * more than cap fails with LP_E_IO (it grew while it was being read). 0 or -1. */
int lp_slot_read_object(lp_storage *s, const char *key, uint64_t off, uint64_t len, char *buf, size_t cap, size_t *got,
                      lp_error *err);

/* The slot of the route with its storage document (new reference in
 * *storage). 0, or -1 with req->err set. */
int lp_slot_load(lp_req *req, lp_slot_row *slot, json_t **storage);

/* Fails unless the slot is ready: 409 saying what it is doing instead. */
int lp_slot_require_ready(lp_req *req, const lp_slot_row *slot);

/* s percent-encoded as one path segment, in the request's arena. */
char *lp_slot_path_segment(lp_arena *a, const char *s);

/* {"url", "expires_at"} of a signed GET of key (new reference), JSON null
 * when key is NULL; NULL with req->err set when it cannot be signed. */
json_t *lp_slot_signed_url(lp_req *req, lp_storage *s, const char *key);

/* The "playback" member of GET …/media (slot_playback.c): the playlists'
 * and manifest's routes under base (the slot's path), each track's signed
 * URL and layout; JSON null when the slot has no renditions. New reference,
 * or NULL with req->err set. */
json_t *lp_slot_playback_json(lp_req *req, lp_storage *s, const char *base, const json_t *storage);

#endif
