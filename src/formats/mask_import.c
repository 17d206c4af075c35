/* Semantic masks in: class_mapping.csv (index, class, colour), then one
 * item per masks/<path>/<stem>.png, an 8-bit greyscale or palette PNG whose
 * pixel values are class indices (0: background) — as the semantic mask
 * export writes them.
 *
 * Each class present in a PNG becomes one mask annotation, and the PNG one
 * raster layer (Darwin's dense_rle, row by row; class "__raster_layer__",
 * as Darwin names it) mapping each mask to its pixels: exact, pixel for
 * pixel. The PNG names neither the image's extension nor the item, so the
 * import is asked for the item at <path> named <stem>.* (as for YOLO); a
 * stored size that differs from the PNG's is a problem leaving the item out.
 * The annotations are read by darwin.c's reader from the Darwin JSON they
 * are written as, so they are checked as the annotation API checks them.
 * PNGs are decoded here with zlib: chunks CRC-checked, no interlace, the
 * five row filters.
 *
 * Instance masks (as the instance mask export writes them): instances.csv
 * (image, instance, class, annotation_id), then one item per
 * instances/<path>/<stem>.png whose pixel values are instance numbers of
 * that image: each number present becomes one mask annotation of the row's
 * class, with the row's annotation id (a new one when it is not a valid
 * id), and the PNG one raster layer (of the first mask's class, as COCO's).
 * docs/FORMATS.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "import_int.h"
#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/formats/darwin.h"
#include "loupe/formats/json_text.h"

/* One row of instances.csv. */
typedef struct inst {
    char *image;                 /* "<folder>/<name>" as the export names the image (malloc) */
    char *cls;                   /* class name (malloc) */
    char id[37];                 /* the annotation id, or "" (a new one is given) */
    unsigned number;             /* the pixel value, 1..255 */
} inst;

typedef struct mask_in {
    char *names[256];            /* by class index; NULL where the mapping gives none */
    inst *inst;                  /* instances.csv's rows, sorted by image and number once read */
    size_t ninst, cap_inst;
    bool sorted;
} mask_in;

static lp_imp_role mask_role(const lp_imp_reader *r, const char *name)
{
    (void)r;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (strcmp(base, "class_mapping.csv") == 0 || strcmp(base, "instances.csv") == 0)
        return LP_IMP_ROLE_META;
    return (strncmp(name, "masks/", 6) == 0 || strncmp(name, "instances/", 10) == 0) && imp_has_ext(name, ".png")
               ? LP_IMP_ROLE_ITEMS
               : LP_IMP_ROLE_SKIP;
}

static mask_in *state(lp_imp_reader *r, lp_error *err)
{
    if (!r->state && !(r->state = calloc(1, sizeof(mask_in))))
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a mask reader");
    return r->state;
}

static void mask_free(lp_imp_reader *r)
{
    mask_in *m = r->state;
    if (!m)
        return;
    for (int i = 0; i < 256; i++)
        free(m->names[i]);
    for (size_t i = 0; i < m->ninst; i++) {
        free(m->inst[i].image);
        free(m->inst[i].cls);
    }
    free(m->inst);
    free(m);
}

/* ---- class_mapping.csv: index,class,color ---------------------------------------- */

/* One CSV field at *p (quoted with "" escapes, or plain up to a comma):
 * new with malloc, *p after its comma; NULL at the end of the line. */
static char *csv_field(const char **p, const char *end)
{
    const char *s = *p;
    if (s > end)
        return NULL;
    lp_buf b;
    lp_buf_init(&b, 1u << 16);
    if (s < end && *s == '"') {
        for (s++; s < end; s++) {
            if (*s == '"' && s + 1 < end && s[1] == '"')
                s++;
            else if (*s == '"') {
                s++;
                break;
            }
            if (lp_buf_append(&b, s, 1) != 0)
                break;
        }
    } else {
        const char *c = memchr(s, ',', (size_t)(end - s));
        size_t n = c ? (size_t)(c - s) : (size_t)(end - s);
        lp_buf_append(&b, s, n);
        s += n;
    }
    *p = s < end && *s == ',' ? s + 1 : end + 1;
    char *out = strndup(b.data ? b.data : "", b.len);
    lp_buf_free(&b);
    return out;
}

/* The next line of a CSV file that is not empty: [*q, *e) without its line
 * end, *line its number (from 1); *p moves past it. false at the end. */
static bool csv_line(const char **p, const char *end, const char **q, const char **e, size_t *line)
{
    while (*p < end) {
        const char *nl = memchr(*p, '\n', (size_t)(end - *p));
        *q = *p;
        *e = nl ? nl : end;
        *p = nl ? nl + 1 : end;
        ++*line;
        if (*e > *q && (*e)[-1] == '\r')
            --*e;
        if (*e > *q)
            return true;
    }
    return false;
}

int imp_class_mapping(lp_imp_reader *r, char *names[256], const char *file, const char *data, size_t len,
                      lp_error *err)
{
    const char *p = data, *end = data + len, *q, *e;
    size_t line = 0;
    while (csv_line(&p, end, &q, &e, &line)) {
        char *idx = csv_field(&q, e), *name = csv_field(&q, e), *color = csv_field(&q, e), *x;
        long v = idx ? strtol(idx, &x, 10) : -1;
        bool header = line == 1 && idx && strcmp(idx, "index") == 0;
        if (!header && (!idx || *x || v < 1 || v > 255 || !name || !*name)) {
            if (!(idx && strcmp(idx, "0") == 0)) { /* 0 is the background */
                char where[32];
                snprintf(where, sizeof where, "line %zu", line);
                if (imp_problem(r, file, where, LP_IMP_NOTE, err,
                                "not a class line (index 1-255,class,color); the line was not read") != 0) {
                    free(idx);
                    free(name);
                    free(color);
                    return -1;
                }
            }
        } else if (!header) {
            lp_imp_class c = {.name = name,
                              .types = 1u << LP_GEOM_MASK,
                              .color = color && color[0] == '#' && strlen(color) == 7 ? color : NULL};
            free(names[v]);
            names[v] = name;
            name = NULL;
            if (r->sink.cls(r->sink.ud, &c, err) != 0) {
                free(idx);
                free(color);
                return -1;
            }
        }
        free(idx);
        free(name);
        free(color);
    }
    return 0;
}

/* ---- PNG (8-bit, one channel) ---------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* The pixels of a PNG (new with malloc, row-major, *w × *h) or NULL with
 * *why. max_pixels caps width × height. */
static uint8_t *png_read(const unsigned char *d, size_t n, uint64_t max_pixels, uint32_t *w, uint32_t *h,
                         const char **why)
{
    static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    z_stream zs;
    bool zinit = false, ended = false, header = false;
    memset(&zs, 0, sizeof zs);
    *why = NULL;
    if (n < 8 || memcmp(d, sig, 8) != 0) {
        *why = "is not a PNG";
        return NULL;
    }
    size_t p = 8;
    while (!*why) {
        if (n - p < 12) {
            *why = "ends before its IEND chunk";
            break;
        }
        uint32_t len = be32(d + p);
        const unsigned char *type = d + p + 4, *body = d + p + 8;
        if (len > n - p - 12) {
            *why = "has a chunk longer than the file";
            break;
        }
        if (crc32(crc32(0L, type, 4), body, len) != be32(body + len)) {
            *why = "has a chunk whose CRC does not match";
            break;
        }
        p += 12 + (size_t)len;
        if (memcmp(type, "IHDR", 4) == 0) {
            if (len != 13 || header) {
                *why = "has a bad IHDR chunk";
                break;
            }
            *w = be32(body);
            *h = be32(body + 4);
            header = true;
            if (body[8] != 8 || (body[9] != 0 && body[9] != 3) || body[10] || body[11] || body[12])
                *why = "is not an 8-bit greyscale or palette PNG without interlace";
            else if (*w == 0 || *h == 0 || (uint64_t)*w * *h > max_pixels)
                *why = "has no pixels, or more than image_max_pixels";
            else if (!(raw = malloc(rawlen = (size_t)*h * ((size_t)*w + 1))))
                *why = "does not fit in memory";
            else if (inflateInit(&zs) != Z_OK)
                *why = "could not be inflated";
            else {
                zinit = true;
                zs.next_out = raw;
                zs.avail_out = (uInt)rawlen;
            }
        } else if (memcmp(type, "IDAT", 4) == 0) {
            if (!zinit || ended) {
                *why = "has image data before its header or after its end";
                break;
            }
            zs.next_in = (Bytef *)body;
            zs.avail_in = len;
            while (zs.avail_in && !*why) {
                int zr = inflate(&zs, Z_NO_FLUSH);
                if (zr == Z_STREAM_END) {
                    ended = true;
                    if (zs.avail_in)
                        *why = "has data after its compressed pixels";
                } else if (zr != Z_OK || zs.avail_out == 0) {
                    *why = zs.avail_out == 0 ? "holds more pixels than its size" : "has damaged compressed pixels";
                }
            }
        } else if (memcmp(type, "IEND", 4) == 0) {
            if (!ended || zs.avail_out != 0)
                *why = "holds fewer pixels than its size";
            break;
        }
    }
    if (zinit)
        inflateEnd(&zs);
    if (!header && !*why)
        *why = "has no IHDR chunk";
    if (*why) {
        free(raw);
        return NULL;
    }
    /* unfilter in place: row y's pixels go to y * w */
    uint8_t *out = raw, *prev = NULL;
    for (uint32_t y = 0; y < *h; y++) {
        uint8_t f = raw[(size_t)y * (*w + 1)], *row = raw + (size_t)y * (*w + 1) + 1, *dst = out + (size_t)y * *w;
        if (f > 4) {
            *why = "has a row filter that does not exist";
            free(raw);
            return NULL;
        }
        for (uint32_t x = 0; x < *w; x++) {
            int a = x ? dst[x - 1] : 0, b = prev ? prev[x] : 0, c = x && prev ? prev[x - 1] : 0;
            int v = row[x];
            v += f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : f == 4 ? paeth(a, b, c) : 0;
            dst[x] = (uint8_t)v;
        }
        prev = dst;
    }
    return out;
}

/* ---- instances.csv: image,instance,class,annotation_id ---------------------------- */

static int cmp_inst(const void *x, const void *y)
{
    const inst *a = x, *b = y;
    int c = strcmp(a->image, b->image);
    return c ? c : (a->number > b->number) - (a->number < b->number);
}

static int read_instances(lp_imp_reader *r, mask_in *m, const char *file, const char *data, size_t len,
                          lp_error *err)
{
    const char *p = data, *end = data + len, *q, *e;
    size_t line = 0;
    while (csv_line(&p, end, &q, &e, &line)) {
        char *image = csv_field(&q, e), *num = csv_field(&q, e), *cls = csv_field(&q, e), *id = csv_field(&q, e), *x;
        long v = num ? strtol(num, &x, 10) : -1;
        bool header = line == 1 && image && strcmp(image, "image") == 0;
        int rc = 0;
        if (!header && (!image || !*image || !num || *x || v < 1 || v > 255 || !cls || !*cls)) {
            char where[32];
            snprintf(where, sizeof where, "line %zu", line);
            rc = imp_problem(r, file, where, LP_IMP_NOTE, err,
                             "not an instance line (image,instance 1-255,class,annotation_id); the line was not read");
        } else if (!header) {
            if (m->ninst == m->cap_inst) {
                size_t nc = m->cap_inst ? 2 * m->cap_inst : 256;
                inst *nv = realloc(m->inst, nc * sizeof *nv);
                if (!nv)
                    rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
                else
                    m->inst = nv, m->cap_inst = nc;
            }
            if (rc == 0) {
                inst *in = &m->inst[m->ninst++];
                *in = (inst){image, cls, "", (unsigned)v};
                if (id && lp_ann_id_ok(id) && strlen(id) < sizeof in->id)
                    snprintf(in->id, sizeof in->id, "%s", id);
                image = cls = NULL;
                m->sorted = false;
            }
        }
        free(image);
        free(num);
        free(cls);
        free(id);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* The instance number v of image (its folder and name as the export writes
 * them), or NULL. */
static const inst *find_inst(mask_in *m, const char *image, unsigned v)
{
    if (!m->sorted && m->ninst) {
        qsort(m->inst, m->ninst, sizeof *m->inst, cmp_inst);
        m->sorted = true;
    }
    inst key = {(char *)image, NULL, "", v};
    return m->ninst ? bsearch(&key, m->inst, m->ninst, sizeof *m->inst, cmp_inst) : NULL;
}

/* ---- one PNG ------------------------------------------------------------------------------ */

static int mask_png(lp_imp_reader *r, mask_in *m, const char *file, const char *data, size_t len, lp_arena *a,
                    lp_error *err)
{
    bool instance = strncmp(file, "instances/", 10) == 0;
    uint32_t W = 0, H = 0;
    const char *why = NULL;
    uint8_t *px = png_read((const unsigned char *)data, len, r->opt.lim->geom.max_pixels, &W, &H, &why);
    if (!px)
        return imp_problem(r, file, "", LP_IMP_SKIP_FILE, err, "the file %s; it was not read", why);
    lp_imp_item it = {.file = file, .where = ""};
    lp_imp_slot *slot = lp_arena_calloc(a, 1, sizeof *slot);
    const char *stem = imp_stem(a, file, NULL);
    int64_t sw = -1, sh = -1;
    int found = 0, rc = 0;
    it.path = imp_folder(a, file, instance ? "instances" : "masks");
    lp_buf json;
    lp_buf_init(&json, (size_t)W * H * 24 + (1u << 20));
    if (!slot || !stem || !it.path) {
        rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        goto done;
    }
    if (r->opt.image && (found = r->opt.image(r->opt.image_ud, it.path, stem, a, &it.name, &sw, &sh, err)) < 0) {
        rc = -1;
        goto done;
    }
    if (found != 1 || !it.name || (sw > 0 && sw != W) || (sh > 0 && sh != H)) {
        rc = found == 1 && it.name
                 ? imp_problem(r, file, "", LP_IMP_SKIP_ITEM, err,
                               "the mask is %ux%u but the item %s is stored as %lldx%lld; it was not read", W, H,
                               it.name, (long long)sw, (long long)sh)
                 : imp_problem(r, file, "", LP_IMP_SKIP_ITEM, err,
                               "no item at %s named %s.*: a mask names its image only by its stem", it.path, stem);
        goto done;
    }
    *slot = (lp_imp_slot){.name = "0", .type = "image", .width = W, .height = H, .frame_count = -1};
    it.slots = slot;
    it.nslots = 1;
    /* the image as instances.csv names it: its folder (no leading slash) and name */
    const char *image = strcmp(it.path, "/") == 0 ? it.name : lp_arena_printf(a, "%s/%s", it.path + 1, it.name);
    /* which values are present: one mask each (semantic: a class; instance: an instance), labels 1..k in
     * value order */
    uint64_t count[256] = {0};
    uint8_t label[256] = {0};
    char ids[256][37];
    const char *cls_of[256] = {NULL};
    for (size_t i = 0; i < (size_t)W * H; i++)
        count[px[i]]++;
    size_t cap = 0;
    unsigned k = 0;
    const char **where = lp_arena_calloc(a, 257, sizeof *where);
    if (!where || !image) {
        rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        goto done;
    }
    for (int v = 1; v < 256 && rc == 0; v++) {
        if (!count[v])
            continue;
        const inst *in = instance ? find_inst(m, image, (unsigned)v) : NULL;
        cls_of[v] = instance ? (in ? in->cls : NULL) : m->names[v];
        if (!cls_of[v]) {
            char at[32];
            snprintf(at, sizeof at, "value %d", v);
            rc = imp_problem(r, file, at, LP_IMP_SKIP_ANNOTATION, err,
                             "%llu pixels have a value that %s does not name; they were not read",
                             (unsigned long long)count[v],
                             instance ? lp_arena_printf(a, "instances.csv (for image %s)", image) : "class_mapping.csv");
            continue;
        }
        if (in && in->id[0])
            memcpy(ids[k], in->id, sizeof ids[k]);
        else
            lp_uuid_v4(ids[k]);
        lp_buf_reset(&json);
        if (lp_buf_printf(&json, "{\"id\":\"%s\",\"name\":", ids[k]) ||
            lp_json_write_string(&json, cls_of[v], strlen(cls_of[v])) || lp_buf_puts(&json, ",\"mask\":{}}"))
            rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        const char *at = lp_arena_printf(a, "value %d", v);
        if (rc == 0 && !at)
            rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        if (rc == 0 && (rc = imp_darwin_ann(r, file, at, &json, LP_IMP_SKIP_ITEM, &it, &cap, a, err)) > 0) {
            rc = 0; /* refused (a problem says why): its pixels are background */
        } else if (rc == 0) {
            where[it.nanns - 1] = at;
            label[v] = (uint8_t)++k;
        }
    }
    if (rc == 0 && k > 0) { /* the raster layer: every pixel its mask's label */
        for (size_t i = 0; i < (size_t)W * H; i++)
            px[i] = label[px[i]];
        const char *layer_class = instance ? cls_of[0] : "__raster_layer__";
        for (int v = 1; !layer_class && v < 256; v++)
            if (label[v])
                layer_class = cls_of[v]; /* instance masks: the first mask's class, as COCO's */
        lp_buf_reset(&json);
        rc = imp_raster_text(&json, layer_class, px, W, H, (const char (*)[37])ids, k) != 0
                 ? lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file)
                 : imp_raster_layer_ann(r, file, &json, &it, &cap, where, a, err);
    }
    it.ann_where = where;
    it.done = 1;
    if (rc == 0)
        rc = imp_item(r, &it, err);
done:
    lp_buf_free(&json);
    free(px);
    return rc < 0 ? -1 : 0;
}

static int mask_file(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a, lp_error *err)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    mask_in *m = state(r, err);
    if (!m)
        return -1;
    if (mask_role(r, name) == LP_IMP_ROLE_META)
        return strcmp(base, "instances.csv") == 0 ? read_instances(r, m, name, data, len, err)
                                                  : imp_class_mapping(r, m->names, name, data, len, err);
    return mask_png(r, m, name, data, len, a, err);
}

static const char *const VARIANTS[] = {"semantic", "instance", NULL};

const lp_imp_ops lp_imp_mask_ops = {"mask", VARIANTS, mask_role, mask_file, NULL, mask_free};
