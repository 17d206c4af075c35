/* A streaming zip writer. See include/loupe/formats/zip.h. */
#include "loupe/formats/zip.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define OUT_CAP (64u * 1024u)
#define U32_MAX_FIELD 0xffffffffu
#define U16_MAX_FIELD 0xffffu

struct lp_zip {
    lp_zip_sink sink;
    void *ud;
    uint16_t dos_time, dos_date;
    FILE *central;           /* central directory records, spooled */
    uint64_t central_len;
    uint64_t offset;         /* bytes produced (sent + buffered) */
    uint64_t members;
    bool finished, failed;
    /* the open member */
    bool open;
    lp_zip_method method;
    uint64_t header_offset;
    uint64_t usize, csize;
    uint32_t crc;
    char *name;
    size_t name_len;
    z_stream zs;
    bool zs_ready;
    int zs_level;
    /* output buffer */
    unsigned char out[OUT_CAP];
    size_t out_len;
};

static int flush_out(lp_zip *z, lp_error *err)
{
    if (z->out_len == 0)
        return 0;
    if (z->sink(z->ud, z->out, z->out_len, err) != 0) {
        z->failed = true;
        if (err && err->code == LP_OK)
            lp_error_set(err, LP_E_IO, "the zip archive's receiver stopped");
        return -1;
    }
    z->out_len = 0;
    return 0;
}

static int emit(lp_zip *z, const void *p, size_t n, lp_error *err)
{
    const unsigned char *c = p;
    while (n > 0) {
        size_t room = OUT_CAP - z->out_len, k = n < room ? n : room;
        memcpy(z->out + z->out_len, c, k);
        z->out_len += k;
        z->offset += k;
        c += k;
        n -= k;
        if (z->out_len == OUT_CAP && flush_out(z, err) != 0)
            return -1;
    }
    return 0;
}

/* Little-endian field writers into a small record buffer. */
typedef struct rec {
    unsigned char b[128];
    size_t n;
} rec;

static void put16(rec *r, uint32_t v)
{
    r->b[r->n++] = (unsigned char)(v & 0xff);
    r->b[r->n++] = (unsigned char)((v >> 8) & 0xff);
}
static void put32(rec *r, uint32_t v)
{
    put16(r, v & 0xffff);
    put16(r, v >> 16);
}
static void put64(rec *r, uint64_t v)
{
    put32(r, (uint32_t)(v & 0xffffffffu));
    put32(r, (uint32_t)(v >> 32));
}

static void dos_stamp(time_t t, uint16_t *time_out, uint16_t *date_out)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year < 80) {
        *time_out = 0;
        *date_out = (uint16_t)((0 << 9) | (1 << 5) | 1); /* 1980-01-01 */
        return;
    }
    *time_out = (uint16_t)((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
    *date_out = (uint16_t)(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
}

lp_zip *lp_zip_new(lp_zip_sink sink, void *ud, time_t mtime, lp_error *err)
{
    lp_zip *z = calloc(1, sizeof *z);
    if (!z) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a zip archive");
        return NULL;
    }
    z->sink = sink;
    z->ud = ud;
    dos_stamp(mtime, &z->dos_time, &z->dos_date);
    if (!(z->central = tmpfile())) {
        lp_error_set(err, LP_E_IO, "could not create the spool file of a zip archive: %s", strerror(errno));
        free(z);
        return NULL;
    }
    return z;
}

void lp_zip_free(lp_zip *z)
{
    if (!z)
        return;
    if (z->zs_ready)
        deflateEnd(&z->zs);
    if (z->central)
        fclose(z->central);
    free(z->name);
    free(z);
}

uint64_t lp_zip_bytes(const lp_zip *z) { return z->offset; }
uint64_t lp_zip_members(const lp_zip *z) { return z->members; }

static int usable(lp_zip *z, lp_error *err)
{
    if (z->failed)
        return lp_error_set(err, LP_E_INTERNAL, "the zip archive failed earlier and accepts nothing more");
    if (z->finished)
        return lp_error_set(err, LP_E_INTERNAL, "the zip archive is finished and accepts nothing more");
    return 0;
}

int lp_zip_begin(lp_zip *z, const char *name, lp_zip_method method, int level, lp_error *err)
{
    size_t len = strlen(name);
    if (usable(z, err) != 0 || lp_zip_end(z, err) != 0)
        return -1;
    if (len == 0 || len > LP_ZIP_NAME_MAX || name[0] == '/')
        return lp_error_set(err, LP_E_INVALID, "zip member name \"%.64s\" is empty, too long or absolute", name);
    if (method != LP_ZIP_STORE && method != LP_ZIP_DEFLATE)
        return lp_error_set(err, LP_E_INVALID, "unknown zip method %d", (int)method);
    free(z->name);
    if (!(z->name = malloc(len + 1)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory naming a zip member");
    memcpy(z->name, name, len + 1);
    z->name_len = len;
    if (method == LP_ZIP_DEFLATE) {
        if (level < 0 || level > 9)
            level = Z_DEFAULT_COMPRESSION;
        if (z->zs_ready && z->zs_level != level) {
            deflateEnd(&z->zs);
            z->zs_ready = false;
        }
        if (z->zs_ready) {
            deflateReset(&z->zs);
        } else {
            memset(&z->zs, 0, sizeof z->zs);
            if (deflateInit2(&z->zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return lp_error_set(err, LP_E_NOMEM, "out of memory starting a deflate stream");
            z->zs_ready = true;
            z->zs_level = level;
        }
    }
    z->method = method;
    z->header_offset = z->offset;
    z->usize = z->csize = 0;
    z->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    z->open = true;
    z->members++;

    rec r = {.n = 0};
    put32(&r, 0x04034b50);
    put16(&r, 20);                     /* version needed: 2.0 */
    put16(&r, (1u << 3) | (1u << 11)); /* data descriptor; UTF-8 name */
    put16(&r, (uint32_t)method);
    put16(&r, z->dos_time);
    put16(&r, z->dos_date);
    put32(&r, 0);
    put32(&r, 0);
    put32(&r, 0);
    put16(&r, (uint32_t)len);
    put16(&r, 0);
    if (emit(z, r.b, r.n, err) != 0 || emit(z, name, len, err) != 0)
        return -1;
    return 0;
}

/* Runs deflate over the input with flush, sending what it makes. */
static int deflate_run(lp_zip *z, const void *p, size_t n, int flush, lp_error *err)
{
    z->zs.next_in = (Bytef *)(uintptr_t)p;
    z->zs.avail_in = (uInt)n;
    for (;;) {
        if (z->out_len == OUT_CAP && flush_out(z, err) != 0)
            return -1;
        size_t room = OUT_CAP - z->out_len;
        z->zs.next_out = z->out + z->out_len;
        z->zs.avail_out = (uInt)room;
        int zr = deflate(&z->zs, flush);
        if (zr == Z_STREAM_ERROR) {
            z->failed = true;
            return lp_error_set(err, LP_E_INTERNAL, "deflate failed on zip member %s", z->name);
        }
        size_t made = room - z->zs.avail_out;
        z->out_len += made;
        z->offset += made;
        z->csize += made;
        if (flush == Z_FINISH ? zr == Z_STREAM_END : (z->zs.avail_in == 0 && z->zs.avail_out != 0))
            return 0;
    }
}

int lp_zip_write(lp_zip *z, const void *p, size_t n, lp_error *err)
{
    if (usable(z, err) != 0)
        return -1;
    if (!z->open)
        return lp_error_set(err, LP_E_INTERNAL, "no zip member is open to write to");
    const unsigned char *c = p;
    while (n > 0) {
        /* zlib counts in uInt: feed at most 1 GiB at a time */
        size_t k = n < (1u << 30) ? n : (1u << 30);
        z->crc = (uint32_t)crc32(z->crc, c, (uInt)k);
        z->usize += k;
        if (z->method == LP_ZIP_DEFLATE) {
            if (deflate_run(z, c, k, Z_NO_FLUSH, err) != 0)
                return -1;
        } else {
            if (emit(z, c, k, err) != 0)
                return -1;
            z->csize += k;
        }
        c += k;
        n -= k;
    }
    return 0;
}

/* The member's central directory record, appended to the spool. */
static int spool_central(lp_zip *z, lp_error *err)
{
    bool big_u = z->usize >= U32_MAX_FIELD, big_c = z->csize >= U32_MAX_FIELD, big_o = z->header_offset >= U32_MAX_FIELD;
    bool zip64 = big_u || big_c || big_o;
    rec x = {.n = 0};
    if (zip64) {
        put16(&x, 0x0001);
        put16(&x, (uint32_t)(8 * (big_u + big_c + big_o)));
        if (big_u)
            put64(&x, z->usize);
        if (big_c)
            put64(&x, z->csize);
        if (big_o)
            put64(&x, z->header_offset);
    }
    rec r = {.n = 0};
    put32(&r, 0x02014b50);
    put16(&r, (3u << 8) | 45);          /* made by: Unix, 4.5 */
    put16(&r, zip64 ? 45 : 20);
    put16(&r, (1u << 3) | (1u << 11));
    put16(&r, (uint32_t)z->method);
    put16(&r, z->dos_time);
    put16(&r, z->dos_date);
    put32(&r, z->crc);
    put32(&r, big_c ? U32_MAX_FIELD : (uint32_t)z->csize);
    put32(&r, big_u ? U32_MAX_FIELD : (uint32_t)z->usize);
    put16(&r, (uint32_t)z->name_len);
    put16(&r, (uint32_t)x.n);
    put16(&r, 0);                       /* comment */
    put16(&r, 0);                       /* disk */
    put16(&r, 0);                       /* internal attributes */
    put32(&r, 0100644u << 16);          /* external: a regular file, rw-r--r-- */
    put32(&r, big_o ? U32_MAX_FIELD : (uint32_t)z->header_offset);
    if (fwrite(r.b, 1, r.n, z->central) != r.n || fwrite(z->name, 1, z->name_len, z->central) != z->name_len ||
        (x.n && fwrite(x.b, 1, x.n, z->central) != x.n)) {
        z->failed = true;
        return lp_error_set(err, LP_E_IO, "could not spool the zip central directory: %s", strerror(errno));
    }
    z->central_len += r.n + z->name_len + x.n;
    return 0;
}

int lp_zip_end(lp_zip *z, lp_error *err)
{
    if (!z->open)
        return 0;
    if (usable(z, err) != 0)
        return -1;
    if (z->method == LP_ZIP_DEFLATE && deflate_run(z, NULL, 0, Z_FINISH, err) != 0)
        return -1;
    z->open = false;
    rec r = {.n = 0};
    put32(&r, 0x08074b50);
    put32(&r, z->crc);
    if (z->usize >= U32_MAX_FIELD || z->csize >= U32_MAX_FIELD) {
        put64(&r, z->csize);
        put64(&r, z->usize);
    } else {
        put32(&r, (uint32_t)z->csize);
        put32(&r, (uint32_t)z->usize);
    }
    if (emit(z, r.b, r.n, err) != 0)
        return -1;
    return spool_central(z, err);
}

int lp_zip_finish(lp_zip *z, lp_error *err)
{
    if (usable(z, err) != 0 || lp_zip_end(z, err) != 0)
        return -1;
    uint64_t cd_offset = z->offset;
    if (fflush(z->central) != 0 || fseek(z->central, 0, SEEK_SET) != 0) {
        z->failed = true;
        return lp_error_set(err, LP_E_IO, "could not read back the zip central directory: %s", strerror(errno));
    }
    unsigned char chunk[16384];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, z->central)) > 0)
        if (emit(z, chunk, got, err) != 0)
            return -1;
    if (ferror(z->central)) {
        z->failed = true;
        return lp_error_set(err, LP_E_IO, "could not read back the zip central directory");
    }
    uint64_t cd_size = z->central_len;
    bool zip64 = z->members >= U16_MAX_FIELD || cd_size >= U32_MAX_FIELD || cd_offset >= U32_MAX_FIELD;
    rec r = {.n = 0};
    if (zip64) {
        uint64_t eocd64 = z->offset;
        put32(&r, 0x06064b50);
        put64(&r, 44);
        put16(&r, (3u << 8) | 45);
        put16(&r, 45);
        put32(&r, 0);
        put32(&r, 0);
        put64(&r, z->members);
        put64(&r, z->members);
        put64(&r, cd_size);
        put64(&r, cd_offset);
        put32(&r, 0x07064b50);
        put32(&r, 0);
        put64(&r, eocd64);
        put32(&r, 1);
    }
    put32(&r, 0x06054b50);
    put16(&r, 0);
    put16(&r, 0);
    put16(&r, z->members >= U16_MAX_FIELD ? U16_MAX_FIELD : (uint32_t)z->members);
    put16(&r, z->members >= U16_MAX_FIELD ? U16_MAX_FIELD : (uint32_t)z->members);
    put32(&r, cd_size >= U32_MAX_FIELD ? U32_MAX_FIELD : (uint32_t)cd_size);
    put32(&r, cd_offset >= U32_MAX_FIELD ? U32_MAX_FIELD : (uint32_t)cd_offset);
    put16(&r, 0);
    if (emit(z, r.b, r.n, err) != 0 || flush_out(z, err) != 0)
        return -1;
    z->finished = true;
    return 0;
}
