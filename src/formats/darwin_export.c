/* Darwin JSON 2.0 out: one file per item, <path>/<stem>.json, its annotations
 * written by the Darwin writer (darwin.c) from their stored form, so
 * everything Loupe keeps comes back, unknown keys included; and
 * .v7/metadata.json with the classes (one entry per class and annotation
 * type, as Darwin lists them). */
#include <stdlib.h>
#include <string.h>

#include "export_int.h"
#include "loupe/formats/darwin.h"
#include "loupe/formats/json_text.h"

#define SCHEMA_REF "https://darwin-public.s3.eu-west-1.amazonaws.com/darwin_json/2.0/schema.json"

static int put_str(lp_buf *b, const char *s) { return lp_json_write_string(b, s, strlen(s)); }

static int darwin_begin(lp_fmt_writer *w, lp_error *err)
{
    (void)w;
    (void)err;
    return 0;
}

static int put_item(lp_buf *b, const lp_fmt_item *it)
{
    if (lp_buf_puts(b, "{\"version\":\"2.0\",\"schema_ref\":\"" SCHEMA_REF "\",\"item\":{\"name\":") ||
        put_str(b, it->name) || lp_buf_puts(b, ",\"path\":") || put_str(b, it->path ? it->path : "/") ||
        lp_buf_printf(b, ",\"source_info\":{\"item_id\":\"%s\"", it->id) ||
        (it->dataset_id && lp_buf_printf(b, ",\"dataset\":{\"id\":\"%s\"}", it->dataset_id)) ||
        lp_buf_puts(b, "},\"slots\":[{\"type\":") || put_str(b, it->slot_type) ||
        lp_buf_puts(b, ",\"slot_name\":") || put_str(b, it->slot))
        return -1;
    if ((it->width > 0 && lp_buf_printf(b, ",\"width\":%lld", (long long)it->width)) ||
        (it->height > 0 && lp_buf_printf(b, ",\"height\":%lld", (long long)it->height)) ||
        (it->frame_count > 0 && lp_buf_printf(b, ",\"frame_count\":%lld", (long long)it->frame_count)) ||
        (it->fps >= 0 && (lp_buf_puts(b, ",\"fps\":") || fmt_num(b, it->fps))))
        return -1;
    return lp_buf_puts(b, "}]},\"annotations\":[");
}

static int darwin_item(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err)
{
    lp_buf *o = &w->buf;
    char *name = fmt_file_name(a, NULL, it, ".json");
    if (!name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory naming a Darwin file");
    if (fmt_open(w, name, true, err) != 0)
        return -1;
    if (put_item(o, it))
        return fmt_nomem(w, err);
    for (size_t i = 0; i < b->n; i++) {
        const lp_fmt_ann *ann = &b->v[i];
        if ((i && lp_buf_puts(o, ",")) || lp_darwin_write_row(o, a, &ann->row, err) != 0)
            return err->code != LP_OK ? -1 : fmt_nomem(w, err);
        for (size_t k = 0; k < ann->nframes; k++) {
            lp_ann_frame_row f = {NULL, ann->frames[k].frame, ann->frames[k].keyframe, ann->frames[k].body};
            if (lp_darwin_write_frame(o, a, &f, k == 0, err) != 0)
                return err->code != LP_OK ? -1 : fmt_nomem(w, err);
        }
        if (lp_darwin_write_row_end(o, &ann->row) != 0)
            return fmt_nomem(w, err);
        FMT_WRITTEN(w, ann->row.type);
        if (fmt_flush(w, false, err) != 0)
            return -1;
    }
    if (lp_buf_puts(o, "]}"))
        return fmt_nomem(w, err);
    w->stats.items++;
    return 0;
}

static int darwin_end(lp_fmt_writer *w, lp_error *err)
{
    lp_buf *b = &w->buf;
    bool first = true;
    if (fmt_open(w, ".v7/metadata.json", true, err) != 0)
        return -1;
    if (lp_buf_puts(b, "{\"version\":\"1.0\",\"classes\":["))
        return fmt_nomem(w, err);
    for (uint32_t i = 0; i < w->classes->n; i++) {
        const lp_fmt_class *c = lp_fmt_class_at(w->classes, i);
        for (int t = 0; t < LP_ANN_TYPE_COUNT; t++) {
            if (!(c->types & (1u << t)))
                continue;
            if ((!first && lp_buf_puts(b, ",")) || lp_buf_puts(b, "{\"name\":") || put_str(b, c->name) ||
                lp_buf_printf(b, ",\"type\":\"%s\",\"id\":\"%s\"", lp_ann_type_name(t), c->id) ||
                (c->color && (lp_buf_puts(b, ",\"color\":") || put_str(b, c->color))) ||
                (c->description && (lp_buf_puts(b, ",\"description\":") || put_str(b, c->description))) ||
                lp_buf_puts(b, ",\"sub_types\":") || lp_buf_puts(b, c->sub_types_json ? c->sub_types_json : "[]") ||
                lp_buf_puts(b, ",\"properties\":") ||
                lp_buf_puts(b, c->properties_json ? c->properties_json : "[]"))
                return fmt_nomem(w, err);
            if (t == LP_GEOM_SKELETON && c->nodes) {
                if (lp_buf_puts(b, ",\"skeleton\":{\"nodes\":["))
                    return fmt_nomem(w, err);
                for (size_t k = 0; k < c->nnodes; k++)
                    if ((k && lp_buf_puts(b, ",")) || lp_buf_puts(b, "{\"name\":") || put_str(b, c->nodes[k]) ||
                        lp_buf_puts(b, "}"))
                        return fmt_nomem(w, err);
                if (lp_buf_puts(b, "],\"edges\":["))
                    return fmt_nomem(w, err);
                for (size_t k = 0; k < c->nedges; k++)
                    if (lp_buf_printf(b, "%s[%u,%u]", k ? "," : "", c->edges[2 * k], c->edges[2 * k + 1]))
                        return fmt_nomem(w, err);
                if (lp_buf_puts(b, "]}"))
                    return fmt_nomem(w, err);
            }
            if (lp_buf_puts(b, "}"))
                return fmt_nomem(w, err);
            first = false;
        }
    }
    return lp_buf_puts(b, "],\"properties\":[]}") ? fmt_nomem(w, err) : 0;
}

const lp_fmt_ops lp_fmt_darwin_ops = {"darwin", NULL, darwin_begin, darwin_item, darwin_end, NULL, false};
