/* A zip reader that refuses hostile archives. See include/loupe/formats/unzip.h. */
#include "loupe/formats/unzip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>

#include "loupe/core/util.h"

#define EOCD_MIN 22
#define EOCD_SEARCH (65535 + EOCD_MIN)
#define CENTRAL_MIN 46
#define LOCAL_MIN 30
#define NAME_MAX_BYTES 4096
#define CHUNK (64u * 1024u)
/* Members this small are never refused for their ratio (text compresses well). */
#define RATIO_FLOOR (1u << 20)

struct lp_unzip {
    int fd;
    uint64_t size;
    lp_unzip_member *m;
    uint64_t *data_offset;       /* of each member's data */
    size_t n;
    char *names;                 /* every name, NUL-terminated, back to back */
};

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static int read_at(int fd, uint64_t off, void *buf, size_t n, lp_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return lp_error_set(err, r < 0 ? LP_E_IO : LP_E_INVALID, "the archive could not be read at byte %llu%s",
                                (unsigned long long)(off + got), r < 0 ? "" : ": it ends early");
        got += (size_t)r;
    }
    return 0;
}

static int bad(lp_error *err, const char *name, size_t len, const char *why)
{
    return lp_error_set(err, LP_E_INVALID, "member \"%.*s\" of the archive is refused: %s", (int)(len > 200 ? 200 : len),
                        name, why);
}

int lp_unzip_name_check(const char *name, size_t len, lp_error *err)
{
    if (len == 0 || len > NAME_MAX_BYTES)
        return bad(err, name, len, "its name is empty or longer than 4096 bytes");
    if (!lp_utf8_valid(name, len))
        return bad(err, "?", 1, "its name is not valid UTF-8");
    if (name[0] == '/' || name[0] == '\\' || (len >= 2 && name[1] == ':'))
        return bad(err, name, len, "an absolute path (or a drive letter) that leaves the archive's folder");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return bad(err, name, len, "a control character in its name");
        if (c == '\\')
            return bad(err, name, len, "a backslash in its name");
    }
    for (size_t s = 0; s < len;) {
        size_t e = s;
        while (e < len && name[e] != '/')
            e++;
        if ((e - s == 1 && name[s] == '.') || (e - s == 2 && name[s] == '.' && name[s + 1] == '.'))
            return bad(err, name, len, "a \".\" or \"..\" in its path that leaves the archive's folder (zip slip)");
        if (e == s)
            return bad(err, name, len, "an empty segment in its path");
        s = e + 1;
    }
    static const char *const nested[] = {".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar", ".zst"};
    /* a gzip-compressed NIfTI volume is one file, not an archive of files: its
     * reader inflates it only as far as the volume it belongs to allows */
    if (len > 7 && strncasecmp(name + len - 7, ".nii.gz", 7) == 0)
        return 0;
    for (size_t i = 0; i < sizeof nested / sizeof *nested; i++) {
        size_t k = strlen(nested[i]);
        if (len > k && strncasecmp(name + len - k, nested[i], k) == 0)
            return bad(err, name, len, "an archive inside the archive (nested archives are not imported)");
    }
    return 0;
}

/* The end of central directory: entries, the directory's offset and size. */
static int find_directory(lp_unzip *z, uint64_t *entries, uint64_t *cd_off, uint64_t *cd_size, uint64_t *cd_end,
                          lp_error *err)
{
    size_t span = z->size < EOCD_SEARCH ? (size_t)z->size : EOCD_SEARCH;
    unsigned char *buf = malloc(span ? span : 1);
    if (!buf)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading an archive");
    uint64_t base = z->size - span;
    int rc = -1;
    if (span < EOCD_MIN || read_at(z->fd, base, buf, span, err) != 0) {
        if (err->code == LP_OK)
            lp_error_set(err, LP_E_INVALID, "the file is not a zip archive (too short)");
        goto done;
    }
    for (size_t i = span - EOCD_MIN + 1; i-- > 0;) {
        const unsigned char *p = buf + i;
        if (le32(p) != 0x06054b50 || i + EOCD_MIN + le16(p + 20) != span)
            continue;
        if (le16(p + 4) != 0 || le16(p + 6) != 0) {
            lp_error_set(err, LP_E_INVALID, "the archive spans several disks, which is not supported");
            goto done;
        }
        *entries = le16(p + 10);
        *cd_size = le32(p + 12);
        *cd_off = le32(p + 16);
        *cd_end = base + i;
        if (*entries == 0xffff || *cd_size == 0xffffffffu || *cd_off == 0xffffffffu) {
            unsigned char loc[20], rec[56];
            if (base + i < 20 || read_at(z->fd, base + i - 20, loc, 20, err) != 0 || le32(loc) != 0x07064b50 ||
                read_at(z->fd, le64(loc + 8), rec, 56, err) != 0 || le32(rec) != 0x06064b50) {
                if (err->code == LP_OK)
                    lp_error_set(err, LP_E_INVALID, "the archive's zip64 end record is missing or damaged");
                goto done;
            }
            *entries = le64(rec + 32);
            *cd_size = le64(rec + 40);
            *cd_off = le64(rec + 48);
            *cd_end = le64(loc + 8);
        }
        rc = 0;
        goto done;
    }
    lp_error_set(err, LP_E_INVALID, "the file is not a zip archive (no end of central directory)");
done:
    free(buf);
    return rc;
}

/* Zip64 values of a central header's extra field for the fields set to all ones. */
static int zip64_extra(const unsigned char *x, size_t n, uint64_t *usize, uint64_t *csize, uint64_t *off)
{
    while (n >= 4) {
        uint16_t id = le16(x), len = le16(x + 2);
        if ((size_t)len + 4 > n)
            return -1;
        if (id == 0x0001) {
            const unsigned char *v = x + 4, *end = x + 4 + len;
            uint64_t *fields[3] = {usize, csize, off};
            for (int k = 0; k < 3; k++) {
                if (*fields[k] != 0xffffffffu)
                    continue;
                if (v + 8 > end)
                    return -1;
                *fields[k] = le64(v);
                v += 8;
            }
            return 0;
        }
        x += 4 + len;
        n -= 4 + (size_t)len;
    }
    return 0;
}

typedef struct span {
    uint64_t header, data, end;
    const char *name;
} span;

static int by_header(const void *a, const void *b)
{
    uint64_t x = ((const span *)a)->header, y = ((const span *)b)->header;
    return x < y ? -1 : x > y;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const span *)a)->name, ((const span *)b)->name);
}

/* Data offsets from the local headers, then: no member's data overlap the
 * next header or the central directory, and no name repeats. */
static int check_layout(lp_unzip *z, uint64_t cd_off, lp_error *err)
{
    span *v = malloc((z->n ? z->n : 1) * sizeof *v);
    int rc = 0;
    if (!v)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading an archive");
    for (size_t i = 0; i < z->n && rc == 0; i++) {
        unsigned char h[LOCAL_MIN];
        if (read_at(z->fd, z->m[i].header_offset, h, LOCAL_MIN, err) != 0 || le32(h) != 0x04034b50) {
            rc = err->code != LP_OK ? -1 : bad(err, z->m[i].name, strlen(z->m[i].name), "its local header is missing");
            break;
        }
        z->data_offset[i] = z->m[i].header_offset + LOCAL_MIN + le16(h + 26) + le16(h + 28);
        v[i] = (span){z->m[i].header_offset, z->data_offset[i], z->data_offset[i] + z->m[i].csize, z->m[i].name};
    }
    if (rc == 0) {
        qsort(v, z->n, sizeof *v, by_header);
        for (size_t k = 0; k < z->n && rc == 0; k++) {
            uint64_t limit = k + 1 < z->n ? v[k + 1].header : cd_off;
            if (v[k].end < v[k].data || v[k].end > limit)
                rc = bad(err, v[k].name, strlen(v[k].name),
                         "its data overlap another member or the directory (an overlapping-file zip bomb)");
        }
    }
    if (rc == 0) {
        qsort(v, z->n, sizeof *v, by_name);
        for (size_t k = 1; k < z->n && rc == 0; k++)
            if (strcmp(v[k].name, v[k - 1].name) == 0)
                rc = bad(err, v[k].name, strlen(v[k].name), "its name appears twice");
    }
    free(v);
    return rc;
}

/* Reads and checks one central header at p (n bytes left); *used its length. */
static int read_member(lp_unzip *z, size_t i, const unsigned char *p, size_t n, const lp_unzip_limits *lim,
                       uint64_t *total, char **names, size_t *used, lp_error *err)
{
    if (n < CENTRAL_MIN || le32(p) != 0x02014b50)
        return lp_error_set(err, LP_E_INVALID, "the archive's central directory is damaged (member %zu)", i);
    uint16_t made_by = le16(p + 4), flags = le16(p + 8), method = le16(p + 10);
    size_t nlen = le16(p + 28), xlen = le16(p + 30), clen = le16(p + 32);
    uint32_t ext = le32(p + 38);
    if (CENTRAL_MIN + nlen + xlen + clen > n)
        return lp_error_set(err, LP_E_INVALID, "the archive's central directory is damaged (member %zu)", i);
    const char *name = (const char *)p + CENTRAL_MIN;
    lp_unzip_member *m = &z->m[i];
    uint64_t usize = le32(p + 24), csize = le32(p + 20), off = le32(p + 42);
    if (lp_unzip_name_check(name, nlen, err) != 0)
        return -1;
    if (zip64_extra(p + CENTRAL_MIN + nlen, xlen, &usize, &csize, &off) != 0)
        return bad(err, name, nlen, "its zip64 sizes are damaged");
    if (flags & 1)
        return bad(err, name, nlen, "it is encrypted");
    if (method != 0 && method != 8)
        return bad(err, name, nlen, "it is compressed with a method other than deflate");
    unsigned mode = (ext >> 16) & 0170000;
    if ((made_by >> 8) == 3 && mode != 0 && mode != 0100000 && mode != 0040000)
        return bad(err, name, nlen, mode == 0120000 ? "it is a symbolic link" : "it is not a regular file");
    if (usize > lim->max_member_bytes)
        return lp_error_set(err, LP_E_TOO_LARGE, "member \"%.*s\" of the archive is refused: %llu bytes, over the "
                            "limit of %llu", (int)(nlen > 200 ? 200 : nlen), name, (unsigned long long)usize,
                            (unsigned long long)lim->max_member_bytes);
    if (usize > RATIO_FLOOR && (csize == 0 || usize / csize > lim->max_ratio))
        return lp_error_set(err, LP_E_TOO_LARGE, "member \"%.*s\" of the archive is refused: it expands %llu times "
                            "(over %llu; a zip bomb?)", (int)(nlen > 200 ? 200 : nlen), name,
                            (unsigned long long)(csize ? usize / csize : usize), (unsigned long long)lim->max_ratio);
    *total += usize;
    if (*total > lim->max_total_bytes)
        return lp_error_set(err, LP_E_TOO_LARGE, "the archive expands to more than %llu bytes",
                            (unsigned long long)lim->max_total_bytes);
    memcpy(*names, name, nlen);
    (*names)[nlen] = '\0';
    m->name = *names;
    *names += nlen + 1;
    m->folder = name[nlen - 1] == '/';
    if (m->folder && usize != 0)
        return bad(err, name, nlen, "a folder with content");
    m->method = method;
    m->size = usize;
    m->csize = csize;
    m->crc = le32(p + 16);
    m->header_offset = off;
    *used = CENTRAL_MIN + nlen + xlen + clen;
    return 0;
}

lp_unzip *lp_unzip_open(int fd, uint64_t size, const lp_unzip_limits *lim, lp_error *err)
{
    uint64_t entries = 0, cd_off = 0, cd_size = 0, cd_end = 0, total = 0;
    unsigned char *cd = NULL;
    lp_unzip *z = calloc(1, sizeof *z);
    if (!z) {
        lp_error_set(err, LP_E_NOMEM, "out of memory reading an archive");
        return NULL;
    }
    z->fd = fd;
    z->size = size;
    if (find_directory(z, &entries, &cd_off, &cd_size, &cd_end, err) != 0)
        goto fail;
    if (entries > lim->max_members) {
        lp_error_set(err, LP_E_TOO_LARGE, "the archive holds %llu members, over the limit of %llu",
                     (unsigned long long)entries, (unsigned long long)lim->max_members);
        goto fail;
    }
    if (cd_off > cd_end || cd_size > cd_end - cd_off || cd_size > entries * (CENTRAL_MIN + 3 * 65535ull)) {
        lp_error_set(err, LP_E_INVALID, "the archive's central directory is damaged");
        goto fail;
    }
    z->m = calloc(entries ? entries : 1, sizeof *z->m);
    z->data_offset = calloc(entries ? entries : 1, sizeof *z->data_offset);
    z->names = malloc(cd_size + 1);
    cd = malloc(cd_size + 1);
    if (!z->m || !z->data_offset || !z->names || !cd) {
        lp_error_set(err, LP_E_NOMEM, "out of memory reading an archive's directory");
        goto fail;
    }
    if (read_at(fd, cd_off, cd, cd_size, err) != 0)
        goto fail;
    char *names = z->names;
    size_t at = 0;
    for (uint64_t i = 0; i < entries; i++) {
        size_t used;
        if (read_member(z, i, cd + at, cd_size - at, lim, &total, &names, &used, err) != 0)
            goto fail;
        at += used;
        z->n++;
    }
    if (check_layout(z, cd_off, err) != 0)
        goto fail;
    free(cd);
    return z;
fail:
    free(cd);
    lp_unzip_free(z);
    return NULL;
}

size_t lp_unzip_count(const lp_unzip *z) { return z->n; }
const lp_unzip_member *lp_unzip_at(const lp_unzip *z, size_t i) { return i < z->n ? &z->m[i] : NULL; }

void lp_unzip_free(lp_unzip *z)
{
    if (!z)
        return;
    free(z->m);
    free(z->data_offset);
    free(z->names);
    free(z);
}

int lp_unzip_read(lp_unzip *z, size_t i, lp_unzip_sink sink, void *ud, lp_error *err)
{
    const lp_unzip_member *m = lp_unzip_at(z, i);
    unsigned char *in = malloc(CHUNK), *out = malloc(CHUNK);
    z_stream zs;
    uint64_t left, made = 0, pos;
    uLong crc = crc32(0L, Z_NULL, 0);
    int rc = -1, zr = Z_OK;
    bool inflating = false;
    memset(&zs, 0, sizeof zs);
    if (!m || !in || !out) {
        lp_error_set(err, m ? LP_E_NOMEM : LP_E_INTERNAL, m ? "out of memory reading an archive" : "no member %zu", i);
        goto done;
    }
    if (m->method == 8) {
        if (inflateInit2(&zs, -15) != Z_OK) {
            lp_error_set(err, LP_E_NOMEM, "out of memory inflating member \"%s\"", m->name);
            goto done;
        }
        inflating = true;
    }
    left = m->csize;
    pos = z->data_offset[i];
    while (left > 0 || (inflating && zr != Z_STREAM_END)) {
        size_t k = left < CHUNK ? (size_t)left : CHUNK;
        if (k == 0 && inflating) { /* the stream must end within its compressed size */
            bad(err, m->name, strlen(m->name), "its deflate stream is truncated");
            goto done;
        }
        if (read_at(z->fd, pos, in, k, err) != 0)
            goto done;
        pos += k;
        left -= k;
        if (!inflating) {
            made += k;
            if (made > m->size)
                break;
            crc = crc32(crc, in, (uInt)k);
            if (sink(ud, in, k, err) != 0)
                goto done;
            continue;
        }
        zs.next_in = in;
        zs.avail_in = (uInt)k;
        while (zs.avail_in > 0 && zr != Z_STREAM_END) {
            zs.next_out = out;
            zs.avail_out = CHUNK;
            zr = inflate(&zs, Z_NO_FLUSH);
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
                bad(err, m->name, strlen(m->name), "its deflate stream is damaged");
                goto done;
            }
            size_t got = CHUNK - zs.avail_out;
            made += got;
            if (made > m->size) {
                bad(err, m->name, strlen(m->name), "it inflates to more bytes than its header says (a zip bomb?)");
                goto done;
            }
            crc = crc32(crc, out, (uInt)got);
            if (got && sink(ud, out, got, err) != 0)
                goto done;
            if (zr == Z_BUF_ERROR && got == 0)
                break;
        }
    }
    if (made != m->size) {
        bad(err, m->name, strlen(m->name), "its data do not have the size its header says");
        goto done;
    }
    if ((uint32_t)crc != m->crc) {
        bad(err, m->name, strlen(m->name), "its CRC does not match (the archive is damaged)");
        goto done;
    }
    rc = 0;
done:
    if (inflating)
        inflateEnd(&zs);
    free(in);
    free(out);
    return rc;
}

int lp_unzip_read_all(lp_unzip *z, size_t i, void *out, lp_error *err)
{
    const lp_unzip_member *m = lp_unzip_at(z, i);
    struct libdeflate_decompressor *d = NULL;
    unsigned char *in = NULL;
    size_t got = 0;
    int rc = -1;
    if (!m)
        return lp_error_set(err, LP_E_INTERNAL, "no member %zu", i);
    if (m->method != 8) { /* stored: its bytes are its data */
        if (m->csize != m->size) {
            bad(err, m->name, strlen(m->name), "its data do not have the size its header says");
            goto done;
        }
        if (read_at(z->fd, z->data_offset[i], out, (size_t)m->size, err) != 0)
            goto done;
    } else {
        if (!(in = malloc(m->csize ? (size_t)m->csize : 1)) || !(d = libdeflate_alloc_decompressor())) {
            lp_error_set(err, LP_E_NOMEM, "out of memory inflating member \"%s\"", m->name);
            goto done;
        }
        if (read_at(z->fd, z->data_offset[i], in, (size_t)m->csize, err) != 0)
            goto done;
        enum libdeflate_result r = libdeflate_deflate_decompress(d, in, (size_t)m->csize, out, (size_t)m->size, &got);
        if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
            bad(err, m->name, strlen(m->name), "it inflates to more bytes than its header says (a zip bomb?)");
            goto done;
        }
        if (r != LIBDEFLATE_SUCCESS) {
            bad(err, m->name, strlen(m->name), "its deflate stream is damaged or truncated");
            goto done;
        }
        if (got != m->size) {
            bad(err, m->name, strlen(m->name), "its data do not have the size its header says");
            goto done;
        }
    }
    if ((uint32_t)libdeflate_crc32(0, out, (size_t)m->size) != m->crc) {
        bad(err, m->name, strlen(m->name), "its CRC does not match (the archive is damaged)");
        goto done;
    }
    rc = 0;
done:
    libdeflate_free_decompressor(d);
    free(in);
    return rc;
}
