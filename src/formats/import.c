/* Import readers: dispatch by format and what every reader shares.
 * See include/loupe/formats/import.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import_int.h"
#include "loupe/core/util.h"
#include "loupe/formats/darwin.h"
#include "loupe/formats/json_text.h"

static const lp_imp_ops *const FORMATS[] = {
    &lp_imp_darwin_ops,
    &lp_imp_coco_ops,
    &lp_imp_voc_ops,
    &lp_imp_yolo_ops,
    &lp_imp_cvat_ops,
    &lp_imp_mask_ops,
    &lp_imp_nifti_ops,
};
#define NFORMATS (sizeof FORMATS / sizeof FORMATS[0])

const char *const lp_imp_reader_names[] = {"darwin", "coco", "voc", "yolo", "cvat", "mask", "nifti", NULL};

static const lp_imp_ops *find_ops(const char *name)
{
    for (size_t i = 0; name && i < NFORMATS; i++)
        if (strcmp(FORMATS[i]->name, name) == 0)
            return FORMATS[i];
    return NULL;
}

static const char *resolve_variant(const lp_imp_ops *ops, const char *variant)
{
    if (!ops->variants)
        return variant ? NULL : "";
    return variant ? lp_strv_find(ops->variants, variant) : ops->variants[0];
}

int lp_imp_format_valid(const char *format, const char *variant)
{
    const lp_imp_ops *ops = find_ops(format);
    return ops && resolve_variant(ops, variant) != NULL;
}

lp_imp_reader *lp_imp_reader_new(const char *format, const lp_imp_options *opt, const lp_imp_sink *sink,
                                 lp_error *err)
{
    const lp_imp_ops *ops = find_ops(format);
    if (!ops) {
        lp_error_set(err, LP_E_INVALID, "no import reader for format \"%.40s\"", format ? format : "");
        return NULL;
    }
    const char *variant = resolve_variant(ops, opt->variant);
    if (!variant) {
        lp_error_set(err, LP_E_INVALID, "format %s has no variant \"%.40s\"", ops->name, opt->variant);
        return NULL;
    }
    lp_imp_reader *r = calloc(1, sizeof *r);
    if (!r) {
        lp_error_set(err, LP_E_NOMEM, "out of memory starting a %s reader", ops->name);
        return NULL;
    }
    r->ops = ops;
    r->opt = *opt;
    r->opt.variant = variant;
    r->sink = *sink;
    return r;
}

lp_imp_role lp_imp_reader_role(const lp_imp_reader *r, const char *name) { return r->ops->role(r, name); }

int lp_imp_reader_file(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a,
                       lp_error *err)
{
    return r->ops->file(r, name, data, len, a, err);
}

int lp_imp_reader_end(lp_imp_reader *r, lp_arena *a, lp_error *err)
{
    return r->ops->end ? r->ops->end(r, a, err) : 0;
}

void lp_imp_reader_free(lp_imp_reader *r)
{
    if (!r)
        return;
    if (r->ops->free)
        r->ops->free(r);
    free(r);
}

/* ---- shared by the readers ------------------------------------------------------- */

int imp_problem(lp_imp_reader *r, const char *file, const char *where, lp_imp_skip skip, lp_error *err,
                const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lp_imp_problem p = {file ? file : "", where ? where : "", msg, skip};
    return r->sink.problem(r->sink.ud, &p, err);
}

const char *imp_geom_why(lp_arena *a, const lp_error *ge)
{
    return ge->nfields ? lp_arena_printf(a, "has an invalid %s: %s", ge->fields[0].field, ge->fields[0].message)
                       : lp_arena_printf(a, "has an invalid shape: %s", ge->message);
}

int imp_field_problems(lp_imp_reader *r, const char *file, const char *prefix, const lp_error *fe,
                       lp_imp_skip skip, lp_error *err)
{
    char where[320];
    size_t plen = strlen(prefix);
    if (fe->nfields == 0) {
        snprintf(where, sizeof where, "%.*s", (int)(plen && prefix[plen - 1] == '.' ? plen - 1 : plen), prefix);
        return imp_problem(r, file, where, skip, err, "%s", fe->message);
    }
    for (size_t i = 0; i < fe->nfields; i++) {
        const char *f = fe->fields[i].field;
        int keep = (int)(plen && prefix[plen - 1] == '.' && (f[0] == '[' || f[0] == '\0') ? plen - 1 : plen);
        snprintf(where, sizeof where, "%.*s%s", keep, prefix, f);
        if (imp_problem(r, file, where, i == 0 ? skip : LP_IMP_NOTE, err, "%s", fe->fields[i].message) != 0)
            return -1;
    }
    if (fe->nfields_dropped > 0) {
        snprintf(where, sizeof where, "%.*s", (int)(plen && prefix[plen - 1] == '.' ? plen - 1 : plen), prefix);
        return imp_problem(r, file, where, LP_IMP_NOTE, err, "and %zu more problems here", fe->nfields_dropped);
    }
    return 0;
}

const char *imp_line_col(lp_arena *a, const char *text, const char *p)
{
    size_t line = 1, col = 1;
    for (const char *q = text; q < p; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*q & 0xc0) != 0x80) {
            col++;
        }
    }
    return lp_arena_printf(a, "line %zu, column %zu", line, col);
}

int imp_json_problem(lp_imp_reader *r, const char *file, const lp_jscan *s, const char *text, lp_error *err)
{
    char where[64];
    size_t line = 1, col = 1;
    const char *at = s->fail_at ? s->fail_at : s->p;
    for (const char *q = text; at && q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*q & 0xc0) != 0x80) {
            col++;
        }
    }
    snprintf(where, sizeof where, "line %zu, column %zu", line, col);
    return imp_problem(r, file, where, LP_IMP_SKIP_FILE, err, "not valid JSON: %s; the file was not read",
                       s->why[0] ? s->why : "unexpected end of the text");
}

int imp_item(lp_imp_reader *r, const lp_imp_item *it, lp_error *err)
{
    if (r->opt.max_items && r->items >= r->opt.max_items)
        return lp_error_set(err, LP_E_TOO_LARGE, "the upload holds more than %llu items (import_max_items)",
                            (unsigned long long)r->opt.max_items);
    r->items++;
    return r->sink.item(r->sink.ud, it, err);
}

bool imp_has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), k = strlen(ext);
    return n > k && strcasecmp(name + n - k, ext) == 0;
}

void *imp_push(lp_arena *a, void **v, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *nv = lp_arena_alloc(a, nc * size);
        if (!nv)
            return NULL;
        if (*n)
            memcpy(nv, *v, *n * size);
        *v = nv;
        *cap = nc;
    }
    void *e = (char *)*v + (*n)++ * size;
    memset(e, 0, size);
    return e;
}

int imp_darwin_ann(lp_imp_reader *r, const char *file, const char *where, const lp_buf *json, lp_imp_skip skip,
                   lp_imp_item *it, size_t *cap, lp_arena *a, lp_error *err)
{
    lp_jscan s;
    lp_error fe;
    lp_error_clear(&fe);
    char *text = lp_arena_strndup(a, json->data ? json->data : "", json->len);
    if (!text)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
    lp_jscan_init(&s, text, json->len);
    lp_ann *ann = imp_push(a, (void **)&it->anns, &it->nanns, cap, sizeof *ann);
    if (!ann)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
    if (lp_darwin_read(&s, a, r->opt.lim, LP_ANN_CREATE, ann, &fe) != 0) {
        it->nanns--;
        if (fe.code == LP_E_NOMEM)
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        return imp_field_problems(r, file, where, &fe, skip, err) != 0 ? -1 : 1;
    }
    return 0;
}

int imp_raster_layer_ann(lp_imp_reader *r, const char *file, const lp_buf *json, lp_imp_item *it, size_t *cap,
                         const char **where, lp_arena *a, lp_error *err)
{
    int rc = imp_darwin_ann(r, file, "raster layer", json, LP_IMP_SKIP_ITEM, it, cap, a, err);
    if (rc == 0)
        where[it->nanns - 1] = "raster layer";
    else if (rc > 0) /* no layer (a problem says why): the masks have no pixels either */
        it->nanns = 0;
    return rc < 0 ? -1 : 0;
}

int imp_raster_text(lp_buf *b, const char *cls, const uint8_t *labels, uint32_t w, uint32_t h, const char (*ids)[37],
                    unsigned nids)
{
    return lp_buf_puts(b, "{\"name\":") || lp_json_write_string(b, cls, strlen(cls)) || lp_buf_puts(b, ",") ||
                   imp_raster_member(b, labels, w, h, ids, nids) || lp_buf_puts(b, "}")
               ? -1
               : 0;
}

int imp_raster_member(lp_buf *b, const uint8_t *labels, uint32_t w, uint32_t h, const char (*ids)[37], unsigned nids)
{
    size_t i = 0, n = (size_t)w * h;
    bool first = true;
    int bad = lp_buf_puts(b, "\"raster_layer\":{\"dense_rle\":[");
    while (!bad && i < n) { /* runs of labels, row by row */
        size_t j = i;
        while (j < n && labels[j] == labels[i])
            j++;
        bad = lp_buf_printf(b, first ? "%u,%zu" : ",%u,%zu", labels[i], j - i);
        first = false;
        i = j;
    }
    bad = bad || lp_buf_puts(b, "],\"mask_annotation_ids_mapping\":{");
    for (unsigned k = 0; !bad && k < nids; k++)
        bad = lp_buf_printf(b, "%s\"%s\":%u", k ? "," : "", ids[k], k + 1);
    return bad || lp_buf_printf(b, "},\"total_pixels\":%zu}", n) ? -1 : 0;
}
