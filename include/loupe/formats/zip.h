/* A streaming zip writer: members are written one after the other, each in
 * pieces of any size, and the archive goes out through a sink as it is made
 * — nothing is sized in advance and memory does not grow with the archive.
 *
 * Layout (PKWARE APPNOTE 6.3): each member is a local header with bit 3 set
 * (sizes and CRC follow the data in a data descriptor), its data stored or
 * raw-deflated (zlib), then the descriptor. The central directory records are
 * spooled to an unnamed temporary file while members are written and copied
 * out by lp_zip_finish. Zip64 records are used where a size, an offset or
 * the member count passes what the classic fields hold (4 GiB, 65,535).
 * Names are UTF-8 (general-purpose bit 11); every member carries the same
 * modification time, given at creation.
 *
 * Pure: zlib and libc only. One writer belongs to one thread. */
#ifndef LOUPE_FORMATS_ZIP_H
#define LOUPE_FORMATS_ZIP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "loupe/core/error.h"

typedef struct lp_zip lp_zip;

/* Receives the archive's bytes in order. 0 to go on, -1 to stop (with err). */
typedef int (*lp_zip_sink)(void *ud, const void *p, size_t n, lp_error *err);

typedef enum lp_zip_method { LP_ZIP_STORE = 0, LP_ZIP_DEFLATE = 8 } lp_zip_method;

/* Longest member name, in bytes (the format's own limit). */
#define LP_ZIP_NAME_MAX 65535

/* A new writer sending to sink (ud passed along, both borrowed), every
 * member dated mtime (local time fields of a UTC time, as zip tools show).
 * NULL with err (LP_E_NOMEM, LP_E_IO for the spool file). */
lp_zip *lp_zip_new(lp_zip_sink sink, void *ud, time_t mtime, lp_error *err);

/* Starts member name (borrowed, copied; "a/b.json", no leading '/'), ending
 * the one before if still open. level: zlib's 0..9 (deflate only). 0 or -1. */
int lp_zip_begin(lp_zip *z, const char *name, lp_zip_method method, int level, lp_error *err);

/* Appends n bytes to the open member. 0 or -1. */
int lp_zip_write(lp_zip *z, const void *p, size_t n, lp_error *err);

/* Ends the open member (a no-op when none is open). 0 or -1. */
int lp_zip_end(lp_zip *z, lp_error *err);

/* Ends the open member and writes the central directory and its end
 * records. The writer accepts nothing more afterwards. 0 or -1. */
int lp_zip_finish(lp_zip *z, lp_error *err);

/* Bytes sent to the sink so far, and members begun. */
uint64_t lp_zip_bytes(const lp_zip *z);
uint64_t lp_zip_members(const lp_zip *z);

/* NULL is a no-op. */
void lp_zip_free(lp_zip *z);

#endif
