/* DICOM Part 10 files: checked, de-identified through a retain list, and
 * ordered into a series (loupe/volume/dicom.h). */
#include "loupe/volume/dicom.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/crypto/sha256.h"

#define TS_IMPLICIT "1.2.840.10008.1.2"
#define TS_EXPLICIT "1.2.840.10008.1.2.1"
#define UNDEFINED 0xFFFFFFFFu
#define TAG(g, e) (((uint32_t)(g) << 16) | (uint32_t)(e))
#define MAX_STRING 1024 /* bytes of a retained string value */

/* ---- Reading elements ------------------------------------------------------------------ */

typedef struct reader {
    const uint8_t *p;
    size_t len, pos;
    bool implicit;
} reader;

typedef struct element {
    uint32_t tag;
    char vr[3];
    uint32_t len; /* UNDEFINED for sequences and items of undefined length */
    size_t value; /* offset of the value */
} element;

static uint16_t u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int truncated(lp_error *err)
{
    return lp_error_set(err, LP_E_INVALID, "the DICOM file is truncated or damaged: it ends inside an element");
}

static bool long_vr(const char *vr)
{
    static const char *const long_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    for (size_t i = 0; i < sizeof long_vrs / sizeof *long_vrs; i++)
        if (!strcmp(vr, long_vrs[i]))
            return true;
    return false;
}

/* The header of the element at r->pos; r->pos moves to its value. */
static int read_header(reader *r, element *e, lp_error *err)
{
    if (r->len - r->pos < 8)
        return truncated(err);
    const uint8_t *p = r->p + r->pos;
    e->tag = TAG(u16(p), u16(p + 2));
    if ((e->tag >> 16) == 0xFFFE || (r->implicit && (e->tag >> 16) != 0x0002)) {
        /* items and delimiters carry no VR, nor does anything in implicit VR */
        memcpy(e->vr, "UN", 3);
        e->len = u32(p + 4);
        r->pos += 8;
    } else {
        e->vr[0] = (char)p[4];
        e->vr[1] = (char)p[5];
        e->vr[2] = '\0';
        if (!isupper((unsigned char)e->vr[0]) || !isupper((unsigned char)e->vr[1]))
            return lp_error_set(err, LP_E_INVALID, "the DICOM file is damaged: an element has no valid VR");
        if (long_vr(e->vr)) {
            if (r->len - r->pos < 12)
                return truncated(err);
            e->len = u32(p + 8);
            r->pos += 12;
        } else {
            e->len = u16(p + 6);
            r->pos += 8;
        }
    }
    e->value = r->pos;
    if (e->len != UNDEFINED && e->len > r->len - r->pos)
        return truncated(err);
    return 0;
}

static int skip_value(reader *r, const element *e, int depth, lp_error *err);

/* Skips the items of a sequence of undefined length, up to its delimiter. */
static int skip_sequence(reader *r, int depth, lp_error *err)
{
    if (depth > LP_DICOM_MAX_DEPTH)
        return lp_error_set(err, LP_E_INVALID, "the DICOM file nests sequences more than %d deep", LP_DICOM_MAX_DEPTH);
    for (;;) {
        element item = {0};
        if (read_header(r, &item, err))
            return -1;
        if (item.tag == TAG(0xFFFE, 0xE0DD))
            return 0;
        if (item.tag != TAG(0xFFFE, 0xE000))
            return lp_error_set(err, LP_E_INVALID, "the DICOM file is damaged: a sequence holds something not an item");
        if (item.len != UNDEFINED) {
            r->pos += item.len;
            continue;
        }
        for (;;) { /* an item of undefined length: elements up to its delimiter */
            element e = {0};
            if (read_header(r, &e, err))
                return -1;
            if (e.tag == TAG(0xFFFE, 0xE00D))
                break;
            if (skip_value(r, &e, depth + 1, err))
                return -1;
        }
    }
}

static int skip_value(reader *r, const element *e, int depth, lp_error *err)
{
    if (e->len != UNDEFINED) {
        r->pos += e->len;
        return 0;
    }
    if (e->tag == TAG(0x7FE0, 0x0010))
        return lp_error_set(err, LP_E_INVALID, "the DICOM file's pixel data are encapsulated (compressed), which is "
                                               "not supported; send it uncompressed");
    if (strcmp(e->vr, "SQ") && strcmp(e->vr, "UN"))
        return lp_error_set(err, LP_E_INVALID, "the DICOM file is damaged: an element of undefined length is not a sequence");
    /* an undefined-length UN is a sequence in implicit VR (PS3.5 6.2.2) */
    bool was = r->implicit;
    if (!strcmp(e->vr, "UN"))
        r->implicit = true;
    int rc = skip_sequence(r, depth + 1, err);
    r->implicit = was;
    return rc;
}

/* The value of e as a string (trailing spaces and NULs dropped) into out. */
static void string_value(const reader *r, const element *e, char *out, size_t cap)
{
    size_t n = e->len < cap - 1 ? e->len : cap - 1;
    memcpy(out, r->p + e->value, n);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
        n--;
    out[n] = '\0';
}

/* Up to max backslash-separated numbers of a DS or IS value; how many. */
static int numbers_value(const reader *r, const element *e, double *out, int max)
{
    char text[MAX_STRING + 1], *s, *end;
    int n = 0;
    string_value(r, e, text, sizeof text);
    for (s = text; n < max && *s;) {
        double d = strtod(s, &end);
        if (end == s || !isfinite(d))
            return -1;
        out[n++] = d;
        while (*end == ' ')
            end++;
        if (*end == '\0')
            break;
        if (*end != '\\')
            return -1;
        s = end + 1;
    }
    return n;
}

static int us_value(const reader *r, const element *e, int64_t *out)
{
    if (e->len != 2)
        return -1;
    *out = u16(r->p + e->value);
    return 0;
}

static int malformed(lp_error *err, const char *name)
{
    return lp_error_set(err, LP_E_INVALID, "the DICOM file's %s is malformed", name);
}

static bool supported_syntax(const char *ts)
{
    return !strcmp(ts, TS_IMPLICIT) || !strcmp(ts, TS_EXPLICIT);
}

int lp_dicom_sniff(const void *p, size_t n)
{
    return n >= 132 && memcmp((const uint8_t *)p + 128, "DICM", 4) == 0;
}

/* Reads the preamble and file meta group; r is left at the data set. */
static int read_meta(reader *r, char *ts, size_t cap, lp_error *err)
{
    if (!lp_dicom_sniff(r->p, r->len))
        return lp_error_set(err, LP_E_INVALID, "the file is not a DICOM Part 10 file (no \"DICM\" after its 128-byte "
                                               "preamble)");
    r->pos = 132;
    r->implicit = false;
    ts[0] = '\0';
    while (r->len - r->pos >= 2 && u16(r->p + r->pos) == 0x0002) {
        element e = {0};
        if (read_header(r, &e, err))
            return -1;
        if (e.len == UNDEFINED)
            return lp_error_set(err, LP_E_INVALID, "the DICOM file's meta information is damaged");
        if (e.tag == TAG(0x0002, 0x0010))
            string_value(r, &e, ts, cap);
        r->pos += e.len;
    }
    if (!ts[0])
        return lp_error_set(err, LP_E_INVALID, "the DICOM file names no transfer syntax");
    if (!supported_syntax(ts)) {
        const char *what = !strncmp(ts, "1.2.840.10008.1.2.4.", 20) ? "JPEG-family compression"
                           : !strcmp(ts, "1.2.840.10008.1.2.5")      ? "RLE compression"
                           : !strcmp(ts, "1.2.840.10008.1.2.2")      ? "big endian"
                           : !strcmp(ts, "1.2.840.10008.1.2.1.99")   ? "deflate compression"
                                                                     : "an unknown encoding";
        char shown[65];
        size_t i;
        for (i = 0; ts[i] && i < 64; i++)
            shown[i] = isdigit((unsigned char)ts[i]) || ts[i] == '.' ? ts[i] : '?';
        shown[i] = '\0';
        return lp_error_set(err, LP_E_INVALID,
                            "the DICOM file's transfer syntax %s (%s) is not supported; send it uncompressed "
                            "(implicit or explicit VR little endian)",
                            shown, what);
    }
    r->implicit = !strcmp(ts, TS_IMPLICIT);
    return 0;
}

int lp_dicom_is_directory(const void *file, size_t len)
{
    reader r = {.p = file, .len = len, .pos = 132};
    char sop_class[65] = "";
    lp_error err;
    if (!lp_dicom_sniff(file, len))
        return 0;
    while (r.len - r.pos >= 2 && u16(r.p + r.pos) == 0x0002) {
        element e = {0};
        if (read_header(&r, &e, &err) || e.len == UNDEFINED)
            return 0;
        if (e.tag == TAG(0x0002, 0x0002))
            string_value(&r, &e, sop_class, sizeof sop_class);
        r.pos += e.len;
    }
    return !strcmp(sop_class, "1.2.840.10008.1.3.10"); /* Media Storage Directory Storage */
}

/* ---- Parsing ------------------------------------------------------------------------------ */

int lp_dicom_parse(const void *file, size_t len, const lp_volume_limits *lim, lp_dicom_info *out, lp_error *err)
{
    reader r = {.p = file, .len = len};
    int64_t samples = 1, frames = 1, v;
    char text[MAX_STRING + 1], photometric[32] = "";
    bool pixels = false, burned = false;
    uint64_t pixel_len = 0;
    double centers[LP_DICOM_MAX_WINDOWS], widths[LP_DICOM_MAX_WINDOWS];
    int ncenters = 0, nwidths = 0;

    memset(out, 0, sizeof *out);
    out->series_number = -1;
    if (read_meta(&r, out->transfer_syntax, sizeof out->transfer_syntax, err))
        return -1;
    while (r.pos < r.len) {
        element e = {0};
        if (read_header(&r, &e, err))
            return -1;
        if (e.len == UNDEFINED) {
            if (skip_value(&r, &e, 0, err))
                return -1;
            continue;
        }
        switch (e.tag) {
        case TAG(0x0008, 0x0060):
            string_value(&r, &e, text, sizeof text);
            for (size_t i = 0, o = 0; text[i] && o < sizeof out->modality - 1; i++)
                if (isupper((unsigned char)text[i]) || isdigit((unsigned char)text[i]))
                    out->modality[o++] = text[i];
            break;
        case TAG(0x0018, 0x1120):
            if (numbers_value(&r, &e, &out->gantry_tilt, 1) < 0)
                return malformed(err, "Gantry/Detector Tilt");
            break;
        case TAG(0x0020, 0x000E):
            string_value(&r, &e, out->series_uid, sizeof out->series_uid);
            break;
        case TAG(0x0020, 0x0011): {
            double number; /* a series without a usable number sorts after the numbered ones */
            if (numbers_value(&r, &e, &number, 1) == 1 && number >= 0 && number <= 2147483647)
                out->series_number = (int64_t)number;
            break;
        }
        case TAG(0x0020, 0x0032):
            if (numbers_value(&r, &e, out->position, 3) != 3)
                return malformed(err, "Image Position (Patient)");
            out->has_position = true;
            break;
        case TAG(0x0020, 0x0037):
            if (numbers_value(&r, &e, out->orientation, 6) != 6)
                return malformed(err, "Image Orientation (Patient)");
            out->has_orientation = true;
            break;
        case TAG(0x0028, 0x0002):
            if (us_value(&r, &e, &samples))
                return malformed(err, "Samples per Pixel");
            break;
        case TAG(0x0028, 0x0004):
            string_value(&r, &e, photometric, sizeof photometric);
            break;
        case TAG(0x0028, 0x0008): {
            double f;
            if (numbers_value(&r, &e, &f, 1) != 1 || f < 0 || f > 1e9)
                return malformed(err, "Number of Frames");
            frames = (int64_t)f;
            break;
        }
        case TAG(0x0028, 0x0010):
            if (us_value(&r, &e, &out->rows))
                return malformed(err, "Rows");
            break;
        case TAG(0x0028, 0x0011):
            if (us_value(&r, &e, &out->cols))
                return malformed(err, "Columns");
            break;
        case TAG(0x0028, 0x0030):
            if (numbers_value(&r, &e, out->spacing, 2) != 2 || !(out->spacing[0] > 0) || !(out->spacing[1] > 0))
                return malformed(err, "Pixel Spacing");
            out->has_spacing = true;
            break;
        case TAG(0x0028, 0x0100):
            if (us_value(&r, &e, &v))
                return malformed(err, "Bits Allocated");
            out->bits_allocated = (int)v;
            break;
        case TAG(0x0028, 0x0103):
            if (us_value(&r, &e, &v) || v > 1)
                return malformed(err, "Pixel Representation");
            out->pixel_rep = (int)v;
            break;
        case TAG(0x0028, 0x0301):
            string_value(&r, &e, text, sizeof text);
            burned = !strcmp(text, "YES");
            break;
        case TAG(0x0028, 0x1050):
            if ((ncenters = numbers_value(&r, &e, centers, LP_DICOM_MAX_WINDOWS)) < 0)
                return malformed(err, "Window Center");
            break;
        case TAG(0x0028, 0x1051):
            if ((nwidths = numbers_value(&r, &e, widths, LP_DICOM_MAX_WINDOWS)) < 0)
                return malformed(err, "Window Width");
            break;
        case TAG(0x7FE0, 0x0010):
            pixels = true;
            pixel_len = e.len;
            break;
        default:
            break;
        }
        r.pos += e.len;
    }

    if (burned)
        return lp_error_set(err, LP_E_INVALID, "the DICOM file says its pixels carry burned-in annotations (Burned In "
                                               "Annotation YES), which de-identification cannot remove");
    if (!pixels)
        return lp_error_set(err, LP_E_INVALID, "the DICOM file holds no image (no Pixel Data)");
    if (!out->series_uid[0])
        return lp_error_set(err, LP_E_INVALID, "the DICOM file has no Series Instance UID");
    if (samples != 1 || (strcmp(photometric, "MONOCHROME1") && strcmp(photometric, "MONOCHROME2")))
        return lp_error_set(err, LP_E_INVALID, "the DICOM file is a colour image; only greyscale (MONOCHROME1/2) "
                                               "volumes are supported");
    if (frames > 1)
        return lp_error_set(err, LP_E_INVALID, "the DICOM file is a multi-frame (enhanced) image, which is not "
                                               "supported; send a series of single-frame files");
    if (out->bits_allocated != 8 && out->bits_allocated != 16 && out->bits_allocated != 32)
        return lp_error_set(err, LP_E_INVALID, "the DICOM file has %d bits a sample; 8, 16 or 32 are supported",
                            out->bits_allocated);
    if (out->rows < 1 || out->cols < 1)
        return lp_error_set(err, LP_E_INVALID, "the DICOM file's image has no rows or columns");
    if (lim && (out->rows > lim->max_side || out->cols > lim->max_side))
        return lp_error_set(err, LP_E_TOO_LARGE, "the DICOM image is %lld × %lld pixels, more than volume_max_side (%lld)",
                            (long long)out->cols, (long long)out->rows, (long long)lim->max_side);
    if (pixel_len < (uint64_t)(out->rows * out->cols * (out->bits_allocated / 8)))
        return lp_error_set(err, LP_E_INVALID, "the DICOM file's pixel data are shorter than its %lld × %lld image "
                                               "needs (truncated?)",
                            (long long)out->cols, (long long)out->rows);
    out->nwindows = ncenters < nwidths ? ncenters : nwidths;
    for (int i = 0; i < out->nwindows; i++) {
        out->window_center[i] = centers[i];
        out->window_width[i] = widths[i];
    }
    return 0;
}

/* ---- De-identification --------------------------------------------------------------------- */

typedef enum keep_how { KEEP_AS_IS = 0, KEEP_UID_REPLACED, KEEP_INSTANCE } keep_how;

/* The retain list: every other attribute is left out (docs/VOLUMES.md). */
static const struct retained {
    uint32_t tag;
    const char *vr;
    keep_how how;
} retained[] = {
    {TAG(0x0008, 0x0008), "CS", KEEP_AS_IS},        /* Image Type */
    {TAG(0x0008, 0x0016), "UI", KEEP_AS_IS},        /* SOP Class UID */
    {TAG(0x0008, 0x0018), "UI", KEEP_UID_REPLACED}, /* SOP Instance UID */
    {TAG(0x0008, 0x0060), "CS", KEEP_AS_IS},        /* Modality */
    {TAG(0x0018, 0x0050), "DS", KEEP_AS_IS},        /* Slice Thickness */
    {TAG(0x0018, 0x0088), "DS", KEEP_AS_IS},        /* Spacing Between Slices */
    {TAG(0x0018, 0x1120), "DS", KEEP_AS_IS},        /* Gantry/Detector Tilt */
    {TAG(0x0020, 0x000D), "UI", KEEP_UID_REPLACED}, /* Study Instance UID */
    {TAG(0x0020, 0x000E), "UI", KEEP_UID_REPLACED}, /* Series Instance UID */
    {TAG(0x0020, 0x0011), "IS", KEEP_AS_IS},        /* Series Number */
    {TAG(0x0020, 0x0013), "IS", KEEP_INSTANCE},     /* Instance Number: the slice's rank */
    {TAG(0x0020, 0x0032), "DS", KEEP_AS_IS},        /* Image Position (Patient) */
    {TAG(0x0020, 0x0037), "DS", KEEP_AS_IS},        /* Image Orientation (Patient) */
    {TAG(0x0020, 0x0052), "UI", KEEP_UID_REPLACED}, /* Frame of Reference UID */
    {TAG(0x0028, 0x0002), "US", KEEP_AS_IS},        /* Samples per Pixel */
    {TAG(0x0028, 0x0004), "CS", KEEP_AS_IS},        /* Photometric Interpretation */
    {TAG(0x0028, 0x0010), "US", KEEP_AS_IS},        /* Rows */
    {TAG(0x0028, 0x0011), "US", KEEP_AS_IS},        /* Columns */
    {TAG(0x0028, 0x0030), "DS", KEEP_AS_IS},        /* Pixel Spacing */
    {TAG(0x0028, 0x0100), "US", KEEP_AS_IS},        /* Bits Allocated */
    {TAG(0x0028, 0x0101), "US", KEEP_AS_IS},        /* Bits Stored */
    {TAG(0x0028, 0x0102), "US", KEEP_AS_IS},        /* High Bit */
    {TAG(0x0028, 0x0103), "US", KEEP_AS_IS},        /* Pixel Representation */
    {TAG(0x0028, 0x1050), "DS", KEEP_AS_IS},        /* Window Center */
    {TAG(0x0028, 0x1051), "DS", KEEP_AS_IS},        /* Window Width */
    {TAG(0x0028, 0x1052), "DS", KEEP_AS_IS},        /* Rescale Intercept */
    {TAG(0x0028, 0x1053), "DS", KEEP_AS_IS},        /* Rescale Slope */
    {TAG(0x7FE0, 0x0010), "OW", KEEP_AS_IS},        /* Pixel Data (OB for 8-bit samples) */
};
#define NRETAINED (sizeof retained / sizeof *retained)

#define IMPLEMENTATION_UID "2.25.183762201736164011380298318315648371571"

/* "2.25." and the decimal of the first 128 bits of HMAC-SHA256(key, uid). */
static int replace_uid(const uint8_t key[LP_DICOM_KEY_LEN], const char *uid, char *out, size_t cap)
{
    uint8_t mac[LP_SHA256_LEN];
    char digits[48];
    int n = 0;
    if (lp_hmac_sha256(key, LP_DICOM_KEY_LEN, uid, strlen(uid), mac) != 0)
        return -1;
    unsigned __int128 x = 0;
    for (int i = 0; i < 16; i++)
        x = x << 8 | mac[i];
    x &= ~((unsigned __int128)1 << 127); /* at most 39 digits: "2.25." + 39 fits 64 */
    do {
        digits[n++] = (char)('0' + (int)(x % 10));
        x /= 10;
    } while (x);
    if ((size_t)n + 6 > cap)
        return -1;
    memcpy(out, "2.25.", 5);
    for (int i = 0; i < n; i++)
        out[5 + i] = digits[n - 1 - i];
    out[5 + n] = '\0';
    return 0;
}

/* The header of one explicit VR little endian element whose value (padded) is plen bytes. */
static int put_header(lp_buf *out, uint32_t tag, const char *vr, size_t plen)
{
    uint8_t h[12];
    size_t hl;
    h[0] = (uint8_t)(tag >> 16);
    h[1] = (uint8_t)(tag >> 24);
    h[2] = (uint8_t)tag;
    h[3] = (uint8_t)(tag >> 8);
    h[4] = (uint8_t)vr[0];
    h[5] = (uint8_t)vr[1];
    if (long_vr(vr)) {
        if (plen > 0xFFFFFFFEu)
            return -1;
        h[6] = h[7] = 0;
        for (int i = 0; i < 4; i++)
            h[8 + i] = (uint8_t)(plen >> (8 * i));
        hl = 12;
    } else {
        if (plen > 0xFFFF)
            return -1;
        h[6] = (uint8_t)plen;
        h[7] = (uint8_t)(plen >> 8);
        hl = 8;
    }
    return lp_buf_append(out, h, hl) ? -1 : 0;
}

/* One explicit VR little endian element. */
static int put_element(lp_buf *out, uint32_t tag, const char *vr, const void *value, size_t len)
{
    bool pad = len % 2 != 0;
    size_t plen = len + (pad ? 1 : 0);
    char padc = !strcmp(vr, "UI") ? '\0' : !strcmp(vr, "OB") || !strcmp(vr, "OW") ? '\0' : ' ';
    if (put_header(out, tag, vr, plen) || lp_buf_append(out, value, len) || (pad && lp_buf_append(out, &padc, 1)))
        return -1;
    return 0;
}

static int put_string(lp_buf *out, uint32_t tag, const char *vr, const char *s)
{
    return put_element(out, tag, vr, s, strlen(s));
}

/* A retained text value must be plain: printable ASCII, no escape codes. */
static bool plain_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 || p[i] > 0x7E) && p[i] != 0)
            return false;
    return true;
}

typedef struct kept {
    const struct retained *what;
    element e;
} kept;

static int by_tag(const void *a, const void *b)
{
    uint32_t x = ((const kept *)a)->what->tag, y = ((const kept *)b)->what->tag;
    return x < y ? -1 : x > y;
}

/* lp_dicom_deidentify, or with tail (not NULL) lp_dicom_deidentify_head. */
static int deidentify(const void *file, size_t len, const uint8_t key[LP_DICOM_KEY_LEN], int64_t instance, lp_buf *out,
                      size_t *instance_at, lp_dicom_tail *tail, lp_error *err)
{
    size_t begin = out->len;
    reader r = {.p = file, .len = len};
    char ts[65], text[MAX_STRING + 1], uid[80], sop_class[80] = "", sop_instance[80] = "";
    kept keep[NRETAINED + 1];
    size_t nkeep = 0, meta_start;
    int bits = 16;
    static const struct retained instance_entry = {TAG(0x0020, 0x0013), "IS", KEEP_INSTANCE};
    bool have_instance = false;

    if (read_meta(&r, ts, sizeof ts, err))
        return -1;
    while (r.pos < r.len) {
        element e = {0};
        if (read_header(&r, &e, err))
            return -1;
        if (e.len == UNDEFINED) { /* sequences are never retained */
            if (skip_value(&r, &e, 0, err))
                return -1;
            continue;
        }
        for (size_t i = 0; i < NRETAINED; i++) {
            if (retained[i].tag != e.tag)
                continue;
            if (strcmp(retained[i].vr, "US") && strcmp(retained[i].vr, "OW") &&
                (e.len > MAX_STRING || !plain_text(r.p + e.value, e.len)))
                return lp_error_set(err, LP_E_INVALID, "the DICOM file holds a malformed value in an element Loupe keeps");
            if (nkeep < NRETAINED) {
                keep[nkeep].what = &retained[i];
                keep[nkeep++].e = e;
            }
            if (e.tag == TAG(0x0020, 0x0013))
                have_instance = true;
            if (e.tag == TAG(0x0028, 0x0100) && e.len == 2)
                bits = u16(r.p + e.value);
            if (e.tag == TAG(0x0008, 0x0016))
                string_value(&r, &e, sop_class, sizeof sop_class);
            if (e.tag == TAG(0x0008, 0x0018))
                string_value(&r, &e, sop_instance, sizeof sop_instance);
            break;
        }
        r.pos += e.len;
    }
    if (!have_instance) {
        keep[nkeep].what = &instance_entry;
        memset(&keep[nkeep++].e, 0, sizeof(element));
    }
    qsort(keep, nkeep, sizeof *keep, by_tag);

    /* preamble, then the file meta group (its length patched in after) */
    static const uint8_t zeros[128];
    static const uint8_t version[2] = {0, 1};
    uint8_t glen[4] = {0};
    if (lp_buf_append(out, zeros, sizeof zeros) || lp_buf_append(out, "DICM", 4) ||
        put_element(out, TAG(0x0002, 0x0000), "UL", glen, 4))
        goto nomem;
    meta_start = out->len;
    if (!sop_instance[0] || replace_uid(key, sop_instance, uid, sizeof uid))
        snprintf(uid, sizeof uid, "2.25.%lld", (long long)instance);
    if (put_element(out, TAG(0x0002, 0x0001), "OB", version, 2) ||
        put_string(out, TAG(0x0002, 0x0002), "UI", sop_class[0] ? sop_class : "1.2.840.10008.5.1.4.1.1.2") ||
        put_string(out, TAG(0x0002, 0x0003), "UI", uid) || put_string(out, TAG(0x0002, 0x0010), "UI", TS_EXPLICIT) ||
        put_string(out, TAG(0x0002, 0x0012), "UI", IMPLEMENTATION_UID) ||
        put_string(out, TAG(0x0002, 0x0013), "SH", "LOUPE"))
        goto nomem;
    uint32_t gl = (uint32_t)(out->len - meta_start);
    for (int i = 0; i < 4; i++)
        out->data[meta_start - 4 + i] = (char)(gl >> (8 * i));

    bool marked = false;
    for (size_t i = 0; i < nkeep; i++) {
        const struct retained *w = keep[i].what;
        const element *e = &keep[i].e;
        int rc;
        if (!marked && w->tag > TAG(0x0012, 0x0063)) {
            if (put_string(out, TAG(0x0012, 0x0062), "CS", "YES") ||
                put_string(out, TAG(0x0012, 0x0063), "LO", LP_DICOM_PROFILE))
                goto nomem;
            marked = true;
        }
        switch (w->how) {
        case KEEP_UID_REPLACED:
            string_value(&r, e, text, sizeof text);
            rc = text[0] ? replace_uid(key, text, uid, sizeof uid) || put_string(out, w->tag, "UI", uid) : 0;
            break;
        case KEEP_INSTANCE:
            snprintf(text, sizeof text, "%-*lld", LP_DICOM_INSTANCE_WIDTH, (long long)instance);
            rc = put_string(out, w->tag, "IS", text);
            if (instance_at)
                *instance_at = out->len - LP_DICOM_INSTANCE_WIDTH - begin;
            break;
        default:
            if (tail && w->tag == TAG(0x7FE0, 0x0010)) { /* the last element: its value stays where it is */
                rc = put_header(out, w->tag, bits == 8 ? "OB" : w->vr, e->len + e->len % 2);
                tail->offset = e->value;
                tail->len = e->len;
                tail->pad = e->len % 2 != 0;
                break;
            }
            rc = put_element(out, w->tag, w->tag == TAG(0x7FE0, 0x0010) && bits == 8 ? "OB" : w->vr, r.p + e->value,
                             e->len);
            break;
        }
        if (rc)
            goto nomem;
    }
    return 0;
nomem:
    return lp_error_set(err, LP_E_NOMEM, "out of memory writing the de-identified DICOM file");
}

int lp_dicom_deidentify(const void *file, size_t len, const uint8_t key[LP_DICOM_KEY_LEN], int64_t instance,
                        lp_buf *out, size_t *instance_at, lp_error *err)
{
    return deidentify(file, len, key, instance, out, instance_at, NULL, err);
}

int lp_dicom_deidentify_head(const void *file, size_t len, const uint8_t key[LP_DICOM_KEY_LEN], int64_t instance,
                             lp_buf *out, size_t *instance_at, lp_dicom_tail *tail, lp_error *err)
{
    memset(tail, 0, sizeof *tail);
    return deidentify(file, len, key, instance, out, instance_at, tail, err);
}

/* ---- Series ------------------------------------------------------------------------------- */

typedef struct ranked {
    size_t index;
    double along; /* position along the slice normal */
} ranked;

static int by_position(const void *a, const void *b)
{
    double x = ((const ranked *)a)->along, y = ((const ranked *)b)->along;
    return x < y ? -1 : x > y;
}

static bool near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

/* 1 when series a (first seen at file fa) comes before series b (at fb). */
static bool series_before(int64_t a, size_t fa, int64_t b, size_t fb)
{
    if ((a < 0) != (b < 0))
        return a >= 0; /* numbered series first */
    return a != b ? a < b : fa < fb;
}

int lp_dicom_series_group(const lp_dicom_info *f, size_t n, size_t max_series, size_t *group, size_t *nseries,
                          lp_error *err)
{
    size_t *first = malloc((max_series + 1) * sizeof *first), *rank = NULL, count = 0;
    int rc = -1;
    if (!first)
        return lp_error_set(err, LP_E_NOMEM, "out of memory grouping the series");
    for (size_t i = 0; i < n; i++) {
        size_t g = 0;
        while (g < count && strcmp(f[first[g]].series_uid, f[i].series_uid) != 0)
            g++;
        if (g == count) {
            if (count == max_series) {
                lp_error_set(err, LP_E_TOO_LARGE, "the upload holds more than %zu DICOM series (dicom_max_series)",
                             max_series);
                goto cleanup;
            }
            first[count++] = i;
        }
        group[i] = g; /* by first appearance for now */
    }
    if (!(rank = malloc((count ? count : 1) * sizeof *rank))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory grouping the series");
        goto cleanup;
    }
    for (size_t g = 0; g < count; g++) {
        rank[g] = 0;
        for (size_t h = 0; h < count; h++)
            if (h != g && series_before(f[first[h]].series_number, first[h], f[first[g]].series_number, first[g]))
                rank[g]++;
    }
    for (size_t i = 0; i < n; i++)
        group[i] = rank[group[i]];
    *nseries = count;
    rc = 0;
cleanup:
    free(first);
    free(rank);
    return rc;
}

int lp_dicom_series_order(const lp_dicom_info *f, size_t n, size_t *order, lp_error *err)
{
    ranked *rk = NULL;
    double normal[3];
    int rc = -1;

    if (n == 0)
        return lp_error_set(err, LP_E_INVALID, "the upload holds no DICOM image");
    size_t series = 1;
    for (size_t i = 1; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(f[i].series_uid, f[j].series_uid);
        if (!seen)
            series++;
    }
    if (series > 1)
        return lp_error_set(err, LP_E_INVALID, "the files mix %zu DICOM series; a volume is one series", series);
    for (size_t i = 0; i < n; i++) {
        if (!f[i].has_position || !f[i].has_orientation || !f[i].has_spacing)
            return lp_error_set(err, LP_E_INVALID,
                                "DICOM file %zu of %zu does not place its image in the patient (Image Position, Image "
                                "Orientation or Pixel Spacing missing)",
                                i + 1, n);
        if (!near(f[i].gantry_tilt, 0, 1e-3))
            return lp_error_set(err, LP_E_INVALID, "the series was acquired with a gantry tilt of %.2f degrees, which "
                                                   "is not supported (resample it to an untilted grid first)",
                                f[i].gantry_tilt);
        if (f[i].rows != f[0].rows || f[i].cols != f[0].cols || f[i].bits_allocated != f[0].bits_allocated ||
            f[i].pixel_rep != f[0].pixel_rep)
            return lp_error_set(err, LP_E_INVALID,
                                "DICOM file %zu of %zu has another image size or pixel type than file 1; a volume's "
                                "slices must all match",
                                i + 1, n);
        for (int k = 0; k < 6; k++)
            if (!near(f[i].orientation[k], f[0].orientation[k], 1e-4))
                return lp_error_set(err, LP_E_INVALID,
                                    "the series mixes orientations (file %zu of %zu is not parallel to file 1)", i + 1, n);
        if (!near(f[i].spacing[0], f[0].spacing[0], 1e-4) || !near(f[i].spacing[1], f[0].spacing[1], 1e-4))
            return lp_error_set(err, LP_E_INVALID, "the series mixes pixel spacings (file %zu of %zu)", i + 1, n);
    }
    const double *o = f[0].orientation;
    normal[0] = o[1] * o[5] - o[2] * o[4];
    normal[1] = o[2] * o[3] - o[0] * o[5];
    normal[2] = o[0] * o[4] - o[1] * o[3];
    double norm = sqrt(normal[0] * normal[0] + normal[1] * normal[1] + normal[2] * normal[2]);
    if (!(norm > 0.5))
        return lp_error_set(err, LP_E_INVALID, "the series' Image Orientation (Patient) is not two perpendicular unit vectors");
    if (!(rk = malloc(n * sizeof *rk)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory ordering the slices");
    for (size_t i = 0; i < n; i++) {
        rk[i].index = i;
        rk[i].along = (f[i].position[0] * normal[0] + f[i].position[1] * normal[1] + f[i].position[2] * normal[2]) / norm;
    }
    qsort(rk, n, sizeof *rk, by_position);
    if (n > 1) {
        double first = rk[1].along - rk[0].along;
        for (size_t i = 1; i < n; i++) {
            double gap = rk[i].along - rk[i - 1].along;
            if (gap < 1e-3) {
                lp_error_set(err, LP_E_INVALID, "two DICOM files (%zu and %zu) hold slices at the same position",
                             rk[i - 1].index + 1, rk[i].index + 1);
                goto cleanup;
            }
            if (!near(gap, first, 0.01 * first + 1e-3)) {
                lp_error_set(err, LP_E_INVALID,
                             "slices are missing or unevenly spaced: slices %zu and %zu (by position) are %.3f mm "
                             "apart, the first two %.3f mm",
                             i, i + 1, gap, first);
                goto cleanup;
            }
        }
        /* in-plane position: every slice lies on the normal through the first */
        for (size_t i = 1; i < n; i++) {
            const double *p = f[rk[i].index].position, *q = f[rk[0].index].position;
            double d[3] = {p[0] - q[0], p[1] - q[1], p[2] - q[2]};
            double t = rk[i].along - rk[0].along, off = 0;
            for (int k = 0; k < 3; k++)
                off += pow(d[k] - t * normal[k] / norm, 2);
            if (sqrt(off) > 0.01 * (f[0].spacing[0] + f[0].spacing[1]) + 1e-3) {
                lp_error_set(err, LP_E_INVALID,
                             "slices are shifted within their plane (file %zu of %zu), as a gantry tilt does; this is "
                             "not supported",
                             rk[i].index + 1, n);
                goto cleanup;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        order[i] = rk[i].index;
    rc = 0;
cleanup:
    free(rk);
    return rc;
}

int lp_dicom_windows(const lp_dicom_info *info, lp_volume_window *out)
{
    int n = 0;
    for (int i = 0; i < info->nwindows && i < LP_DICOM_MAX_WINDOWS; i++) {
        if (!(info->window_width[i] > 0))
            continue;
        if (n == 0)
            snprintf(out[n].name, sizeof out[n].name, "source");
        else
            snprintf(out[n].name, sizeof out[n].name, "source_%d", n + 1);
        out[n].center = info->window_center[i];
        out[n].width = info->window_width[i];
        n++;
    }
    return n;
}
