/* A zip reader for archives users upload (imports), that refuses hostile
 * ones before anything is extracted.
 *
 * lp_unzip_open reads the central directory (zip64 included) and checks
 * every member first, so an import either sees a clean archive or nothing:
 *   - names: valid UTF-8, relative ("/x", "\x", "C:x" refused), no "." or
 *     ".." segment (zip-slip), no backslash, no control character, no
 *     duplicate;
 *   - no symbolic links, devices or other non-regular members (Unix mode in
 *     the external attributes); folders are allowed and skipped by callers;
 *   - no nested archive (.zip, .tar, .tgz, .gz, .bz2, .xz, .7z, .rar
 *     members; a .nii.gz, one compressed NIfTI file, is not one), no
 *     encryption, only stored and deflated members;
 *   - size caps: members, bytes of one member, bytes in all, and the
 *     expansion ratio of each member (zip bombs); members whose data
 *     overlap another's (the overlapping-file bomb) or pass the central
 *     directory are refused.
 * lp_unzip_read then inflates one member, refusing it when its data inflate
 * to more than its declared size or fail the CRC — so a lying header cannot
 * get past the caps.
 *
 * Pure: zlib and libc only. The archive is read from a file descriptor
 * (pread), never mapped; memory is small and fixed plus the member names. */
#ifndef LOUPE_FORMATS_UNZIP_H
#define LOUPE_FORMATS_UNZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"

typedef struct lp_unzip lp_unzip;

typedef struct lp_unzip_limits {
    uint64_t max_members;
    uint64_t max_member_bytes;   /* uncompressed bytes of one member */
    uint64_t max_total_bytes;    /* uncompressed bytes of all members */
    uint64_t max_ratio;          /* uncompressed / compressed bytes of one member */
} lp_unzip_limits;

typedef struct lp_unzip_member {
    const char *name;            /* as in the archive; checked */
    bool folder;                 /* name ends with '/' */
    int method;                  /* 0 stored, 8 deflated */
    uint64_t size, csize;
    uint32_t crc;
    uint64_t header_offset;      /* of its local header */
} lp_unzip_member;

/* Opens the archive at fd (borrowed; it stays the caller's) of size bytes,
 * checking every member against lim (borrowed). NULL with err: LP_E_INVALID
 * with a message naming the member and what is wrong ("member
 * \"../../x\": a path that leaves the archive's folder"), LP_E_TOO_LARGE
 * for a cap, LP_E_IO, LP_E_NOMEM. */
lp_unzip *lp_unzip_open(int fd, uint64_t size, const lp_unzip_limits *lim, lp_error *err);

size_t lp_unzip_count(const lp_unzip *z);
const lp_unzip_member *lp_unzip_at(const lp_unzip *z, size_t i);

/* Receives a member's bytes in order. 0 to go on, -1 to stop (with err). */
typedef int (*lp_unzip_sink)(void *ud, const void *p, size_t n, lp_error *err);

/* Inflates member i into sink. 0, or -1 with err (LP_E_INVALID for data
 * that do not match the header: more bytes than declared, a bad CRC, a
 * damaged deflate stream). */
int lp_unzip_read(lp_unzip *z, size_t i, lp_unzip_sink sink, void *ud, lp_error *err);

/* Member i whole into out, which has room for its size (lp_unzip_at(z,
 * i)->size bytes, already checked against the limits): one read of its
 * compressed data and one pass of a whole-buffer inflater (libdeflate, about
 * three times zlib's streaming inflate with its CRC), for a caller that
 * wants the whole member in memory anyway. Nothing is written past out's
 * size, whatever the data say. 0, or -1 with err as lp_unzip_read. */
int lp_unzip_read_all(lp_unzip *z, size_t i, void *out, lp_error *err);

/* NULL is a no-op. */
void lp_unzip_free(lp_unzip *z);

/* 0 when name is acceptable as a member name (the rules above), else -1
 * with err saying why. Exposed for single uploaded files named by users. */
int lp_unzip_name_check(const char *name, size_t len, lp_error *err);

#endif
