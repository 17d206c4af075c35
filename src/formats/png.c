/* PNG out, row by row. See loupe/formats/png.h. Every row is written with filter 0 (none);
 * the compressed stream is cut into IDAT chunks of at most IDAT_CAP bytes. */
#include "loupe/formats/png.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDAT_CAP (64u * 1024u)

struct lp_png {
    lp_buf *out;      /* borrowed */
    size_t row_bytes; /* width * bytes per pixel */
    uint32_t rows_left;
    z_stream zs;
    bool zs_ready;
    unsigned char idat[IDAT_CAP];
};

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Appends one chunk: length, type, data, CRC of type and data. */
static int chunk(lp_buf *out, const char *type, const unsigned char *data, size_t n, lp_error *err)
{
    unsigned char head[8], tail[4];
    be32(head, (uint32_t)n);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(0L, head + 4, 4);
    if (n)
        crc = crc32(crc, data, (uInt)n);
    be32(tail, (uint32_t)crc);
    if (lp_buf_append(out, head, 8) || (n && lp_buf_append(out, data, n)) || lp_buf_append(out, tail, 4))
        return lp_error_set(err, lp_buf_failure(out), "a PNG does not fit its buffer, or memory ran out");
    return 0;
}

lp_png *lp_png_begin(lp_buf *out, uint32_t width, uint32_t height, lp_png_color color, const uint8_t *pal, int npal,
                     int level, lp_error *err)
{
    static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    unsigned char ihdr[13] = {0, 0, 0, 0, 0, 0, 0, 0, 8, (unsigned char)color, 0, 0, 0};
    lp_png *p;

    if (width == 0 || height == 0 || width > INT32_MAX / 3 || height > INT32_MAX ||
        (color == LP_PNG_PALETTE && (npal < 1 || npal > 256 || !pal))) {
        lp_error_set(err, LP_E_INTERNAL, "a PNG of %ux%u pixels and %d palette entries cannot be written",
                     (unsigned)width, (unsigned)height, npal);
        return NULL;
    }
    if (!(p = calloc(1, sizeof *p))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a PNG");
        return NULL;
    }
    p->out = out;
    p->row_bytes = (size_t)width * (color == LP_PNG_RGB ? 3 : 1);
    p->rows_left = height;
    if (deflateInit(&p->zs, level) != Z_OK) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a PNG");
        free(p);
        return NULL;
    }
    p->zs_ready = true;
    p->zs.next_out = p->idat;
    p->zs.avail_out = IDAT_CAP;
    be32(ihdr, width);
    be32(ihdr + 4, height);
    if (lp_buf_append(out, sig, 8)) {
        lp_error_set(err, lp_buf_failure(out), "a PNG does not fit its buffer, or memory ran out");
        goto fail;
    }
    if (chunk(out, "IHDR", ihdr, 13, err) ||
        (color == LP_PNG_PALETTE && chunk(out, "PLTE", pal, (size_t)npal * 3, err)))
        goto fail;
    return p;

fail:
    lp_png_free(p);
    return NULL;
}

/* Feeds n bytes (flush: Z_NO_FLUSH or Z_FINISH) and appends an IDAT each time the chunk buffer
 * fills, and with Z_FINISH the rest. */
static int deflate_into(lp_png *p, const unsigned char *in, size_t n, int flush, lp_error *err)
{
    p->zs.next_in = (Bytef *)(uintptr_t)in;
    p->zs.avail_in = (uInt)n;
    for (;;) {
        if (p->zs.avail_out == 0) {
            if (chunk(p->out, "IDAT", p->idat, IDAT_CAP, err) != 0)
                return -1;
            p->zs.next_out = p->idat;
            p->zs.avail_out = IDAT_CAP;
        }
        int zr = deflate(&p->zs, flush);
        if (zr == Z_STREAM_ERROR)
            return lp_error_set(err, LP_E_INTERNAL, "zlib failed compressing a PNG");
        if (flush == Z_FINISH ? zr == Z_STREAM_END : p->zs.avail_in == 0 && p->zs.avail_out != 0)
            break;
    }
    if (flush == Z_FINISH) {
        size_t made = (size_t)(p->zs.next_out - p->idat);
        if (made && chunk(p->out, "IDAT", p->idat, made, err) != 0)
            return -1;
    }
    return 0;
}

int lp_png_row(lp_png *p, const uint8_t *row, lp_error *err)
{
    static const unsigned char filter_none = 0;
    if (p->rows_left == 0)
        return lp_error_set(err, LP_E_INTERNAL, "a PNG was given more rows than its height");
    p->rows_left--;
    return deflate_into(p, &filter_none, 1, Z_NO_FLUSH, err) || deflate_into(p, row, p->row_bytes, Z_NO_FLUSH, err)
               ? -1
               : 0;
}

int lp_png_end(lp_png *p, lp_error *err)
{
    if (p->rows_left != 0)
        return lp_error_set(err, LP_E_INTERNAL, "a PNG was ended %u rows short of its height", (unsigned)p->rows_left);
    if (deflate_into(p, NULL, 0, Z_FINISH, err) != 0)
        return -1;
    return chunk(p->out, "IEND", NULL, 0, err);
}

void lp_png_free(lp_png *p)
{
    if (!p)
        return;
    if (p->zs_ready)
        deflateEnd(&p->zs);
    free(p);
}
