/* exports.write: writes an export's archive (POST /api/v1/exports) straight
 * into storage.
 *
 * payload  {"export_id", "format", "variant"?, "frames"?, "include_media"?,
 *          "filters"} — filters as the item list takes them
 *          (loupe/db/item_filter.h); frames as lp_fmt_frames_names
 * result   {"export_id", "size_bytes", "sha256", "items", "items_skipped",
 *          "files", "annotations": {"written", "converted", "dropped"}
 *          (each by annotation type), "media": {"files", "bytes",
 *          "missing"} with include_media}
 *
 * Memory stays flat however many items pass: items are read a page at a
 * time (export_page_items, keyset by name and id), the annotations of a
 * page come through one cursor in item order, each item's rows are
 * collected as they stream into one arena (at most
 * export_item_max_bytes, reset per item), the format writer
 * (src/formats) sees one item at a time, and the zip archive goes out through
 * a storage writer as it is made (S3: multipart). With include_media a
 * second pass over the same pages copies each item's original file from
 * storage into the archive as it streams (stored, not deflated) — except a
 * video item that a per-image format wrote frame by frame (frames): it puts
 * one JPEG per frame written, named as the labels refer to it
 * ("images/<path>/<name>/frame_NNNNNN.jpg"), decoded from the slot's frame
 * source (the worker-written mezzanine, as GET …/slots/{slot}/frames/{n}
 * serves them) by the worker's sandboxed decoder. The frames written are
 * spooled to a temporary file in the first pass (one line each) and read
 * back in the second, so memory stays flat. A retried attempt starts
 * again and overwrites the same key, so retries are harmless. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../jobs_int.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/db/annotations_sql.h"
#include "loupe/db/classes_sql.h"
#include "loupe/db/exports_sql.h"
#include "loupe/db/item_filter.h"
#include "loupe/formats/export.h"
#include "loupe/jobs/decoder.h"

#define CLASS_PAGE 1000
/* JPEG quality of the frames put into an archive. */
#define FRAME_QUALITY 90

/* lp_fmt_frames of a name of lp_fmt_frames_names; NONE for NULL or another. */
static lp_fmt_frames frames_of(const char *name)
{
    for (int i = 0; name && lp_fmt_frames_names[i]; i++)
        if (strcmp(lp_fmt_frames_names[i], name) == 0)
            return (lp_fmt_frames)(i + 1);
    return LP_FMT_FRAMES_NONE;
}

int lp_job_exports_write_validate(const json_t *payload, const lp_config *cfg, lp_error *err)
{
    const json_t *id = json_object_get(payload, "export_id"), *format = json_object_get(payload, "format");
    const json_t *variant = json_object_get(payload, "variant"), *frames = json_object_get(payload, "frames");
    const json_t *media = json_object_get(payload, "include_media");
    lp_item_filter f;
    int rc = 0;
    (void)cfg;
    if (frames && !(json_is_string(frames) && frames_of(json_string_value(frames)) != LP_FMT_FRAMES_NONE &&
                    lp_fmt_per_image(json_string_value(format))))
        rc = lp_error_field(err, LP_E_INVALID, "frames", "must be all, keyframes or annotated, for a per-image format");
    if (media && !json_is_boolean(media))
        rc = lp_error_field(err, LP_E_INVALID, "include_media", "must be true or false");
    if (!json_is_string(id) || !lp_is_uuid(json_string_value(id)))
        rc = lp_error_field(err, LP_E_INVALID, "export_id", "must be a UUID");
    if (!json_is_string(format) ||
        !lp_fmt_variant_valid(json_string_value(format), json_is_string(variant) ? json_string_value(variant) : NULL))
        rc = lp_error_field(err, LP_E_INVALID, "format", "is not a known format and variant");
    lp_arena *a = lp_arena_new(0, 0);
    if (!a)
        return lp_error_set(err, LP_E_NOMEM, "out of memory validating an exports.write payload");
    if (lp_item_filter_read(json_object_get(payload, "filters"), LP_FILTER_JSON, NULL, a, &f, err) != 0)
        rc = -1;
    lp_arena_free(a);
    return rc;
}

/* The class as the writers take it: allowed types, skeleton nodes and edges. */
static int class_of(lp_arena *a, const lp_class_row *r, lp_fmt_class *out, lp_error *err)
{
    json_t *types = json_loads(r->annotation_types, 0, NULL);
    json_t *sk = r->skeleton ? json_loads(r->skeleton, 0, NULL) : NULL;
    json_t *nodes = json_object_get(sk, "nodes"), *edges = json_object_get(sk, "edges"), *v;
    size_t i;
    int rc = 0;
    memset(out, 0, sizeof *out);
    out->id = r->id;
    out->name = r->name;
    out->color = r->color;
    out->sub_types_json = r->sub_types;
    out->properties_json = r->properties;
    out->description = r->description;
    json_array_foreach(types, i, v) {
        int t;
        const char *name = json_string_value(v);
        if (name && lp_ann_type_from_name(name, strlen(name), &t) == 0)
            out->types |= 1u << t;
    }
    if (json_array_size(nodes) > 0) {
        const char **names = lp_arena_calloc(a, json_array_size(nodes), sizeof *names);
        uint32_t *pairs = lp_arena_calloc(a, 2 * json_array_size(edges) + 1, sizeof *pairs);
        if (!names || !pairs)
            rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading class %s", r->id);
        for (i = 0; rc == 0 && i < json_array_size(nodes); i++) {
            const char *n = json_string_value(json_object_get(json_array_get(nodes, i), "name"));
            if (!(names[i] = lp_arena_strdup(a, n ? n : "")))
                rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading class %s", r->id);
        }
        json_array_foreach(edges, i, v) {
            if (rc != 0)
                break;
            pairs[out->nedges * 2] = (uint32_t)json_integer_value(json_array_get(v, 0));
            pairs[out->nedges * 2 + 1] = (uint32_t)json_integer_value(json_array_get(v, 1));
            out->nedges++;
        }
        out->nodes = names;
        out->nnodes = json_array_size(nodes);
        out->edges = pairs;
    }
    json_decref(types);
    json_decref(sk);
    return rc;
}

/* Every class of the team (*out new in a). */
static int load_classes(lp_job_ctx *ctx, lp_db *db, lp_fmt_classes *out)
{
    lp_fmt_class *v = NULL;
    size_t n = 0, cap = 0;
    const char *after_name = NULL, *after_id = NULL;
    for (;;) {
        lp_class_row *rows;
        size_t got;
        if (lp_db_class_list(db, ctx->arena, ctx->team_id, after_name, after_id, CLASS_PAGE, &rows, &got,
                             &ctx->err) != 0)
            return -1;
        if (n + got > cap) {
            size_t ncap = (n + got) * 2;
            lp_fmt_class *nv = lp_arena_alloc(ctx->arena, ncap * sizeof *nv);
            if (!nv)
                return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory reading the team's classes");
            if (n)
                memcpy(nv, v, n * sizeof *v);
            v = nv;
            cap = ncap;
        }
        for (size_t i = 0; i < got; i++)
            if (class_of(ctx->arena, &rows[i], &v[n++], &ctx->err) != 0)
                return -1;
        if (got < CLASS_PAGE)
            break;
        after_name = rows[got - 1].name;
        after_id = rows[got - 1].id;
    }
    out->v = v;
    out->n = n;
    return lp_fmt_classes_prepare(out, &ctx->err);
}

/* What one run holds. */
typedef struct run {
    lp_job_ctx *ctx;
    lp_db *scan;                   /* what the export reads: the replica, else the job's connection */
    lp_db *replica;                /* a connection to db_read_url (owned), or NULL */
    lp_item_filter filter;
    lp_storage *storage;
    lp_storage_writer *sw;
    lp_zip *zip;
    lp_fmt_out out;
    lp_fmt_writer *w;
    lp_arena *page, *item;
    lp_fmt_classes classes;
    int64_t total, done;
    int passes;                    /* 2 with include_media */
    uint64_t media_files, media_bytes, media_missing;
    /* include_media with frames: "<video item id>\t<frame>\t<image name>" per frame written */
    FILE *frames;
    lp_arena *names;               /* a frame's image name, reset per frame */
    char *line;                    /* the spooled line read ahead (getline), or NULL */
    size_t line_cap;
    bool line_ready;
    char dir[512];                 /* the job's directory under the decoder's work directory, or "" */
} run;

/* The fraction done, over every pass. */
static double fraction(const run *r)
{
    return r->total > 0 ? 0.99 * (double)r->done / (double)(r->total * r->passes) : 0;
}

static int to_storage(void *ud, const void *p, size_t n, lp_error *err)
{
    return lp_storage_writer_write(ud, p, n, err);
}

/* The item as the writers see it: its first slot. */
static lp_fmt_item item_of(const lp_item_row *row)
{
    const lp_slot_row *slot = row->nslots ? &row->slots[0] : NULL;
    return (lp_fmt_item){.id = row->id,
                         .name = row->name,
                         .path = row->path,
                         .dataset_id = row->dataset_id,
                         .slot = slot ? slot->name : "",
                         .slot_type = slot ? slot->type : "image",
                         .width = slot ? slot->width : -1,
                         .height = slot ? slot->height : -1,
                         .frame_count = slot ? slot->frame_count : -1,
                         .fps = slot ? slot->fps : -1,
                         .metadata = slot ? slot->metadata : NULL};
}

/* Writes a page of items: one cursor reads the annotations of every item of
 * the page (on its first slot) in page order, and each item's rows are
 * collected into the item arena as they stream, then handed to the writer.
 * The cursor holds the connection, so progress is recorded after the page. */
static int export_page(run *r, const lp_item_row *rows, size_t n)
{
    lp_job_ctx *ctx = r->ctx;
    const char **ids = lp_arena_calloc(r->page, n + 1, sizeof *ids);
    const char **slots = lp_arena_calloc(r->page, n + 1, sizeof *slots);
    size_t nlisted = 0, listed = 0;
    lp_db_ann_out o;
    int more = 0, rc = 0;
    if (!ids || !slots)
        return lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory paging through the items of an export");
    for (size_t i = 0; i < n; i++)
        if (rows[i].nslots) {
            ids[nlisted] = rows[i].id;
            slots[nlisted++] = rows[i].slots[0].name;
        }
    lp_db_ann_cursor *c = nlisted ? lp_db_ann_open_items(r->scan, ids, slots, nlisted, &ctx->err) : NULL;
    if (nlisted && (!c || (more = lp_db_ann_next(c, &o, &ctx->err)) < 0))
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        lp_fmt_item it = item_of(&rows[i]);
        lp_fmt_batch b = {.arena = r->item, .classes = &r->classes};
        lp_arena_reset(r->item);
        if (rows[i].nslots) {
            while (rc == 0 && more == 1 && o.item == listed) {
                if (lp_fmt_batch_add(&b, &o.ann, o.has_frame ? &o.frame : NULL, &ctx->err) != 0)
                    rc = -1;
                else if ((more = lp_db_ann_next(c, &o, &ctx->err)) < 0)
                    rc = -1;
            }
            listed++;
            if (rc != 0) {
                if (ctx->err.code == LP_E_NOMEM && lp_arena_used(r->item) > 0)
                    lp_error_hint(&ctx->err, "item %s holds more than export_item_max_bytes of annotations",
                                  rows[i].id);
                break;
            }
        }
        if (lp_fmt_writer_item(r->w, &it, &b, r->item, &ctx->err) != 0 || lp_job_check(ctx) != 0)
            rc = -1;
        else
            r->done++;
    }
    lp_db_ann_close(c);
    if (rc == 0 && lp_job_progress(ctx, fraction(r)) != 0)
        rc = -1;
    return rc;
}

/* lp_fmt_options.frame: spools a video frame written as an image. */
static int spool_frame(void *ud, const lp_fmt_item *video, int64_t frame, const lp_fmt_item *image, lp_error *err)
{
    run *r = ud;
    lp_arena_reset(r->names);
    char *name = lp_fmt_media_name(r->names, image);
    if (!name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory naming frame %lld of item %s", (long long)frame, video->id);
    if (fprintf(r->frames, "%s\t%lld\t%s\n", video->id, (long long)frame, name) < 0)
        return lp_error_set(err, LP_E_IO, "cannot spool the frames of an export: %s", strerror(errno));
    return 0;
}

/* The frame spool, written, to be read from its start. 0 or -1. */
static int spool_rewind(run *r)
{
    if (fflush(r->frames) != 0 || fseek(r->frames, 0, SEEK_SET) != 0)
        return lp_error_set(&r->ctx->err, LP_E_IO, "cannot read back the frame spool of an export: %s",
                            strerror(errno));
    return 0;
}

/* The next spooled frame of video item id: its number and image name
 * (borrowed until the next call). 1, or 0 when the next belongs to
 * another item (or none is left). */
static int next_frame(run *r, const char *id, int64_t *frame, const char **name)
{
    if (!r->line_ready) {
        if (getline(&r->line, &r->line_cap, r->frames) < 0)
            return 0;
        r->line_ready = true;
    }
    char *tab = strchr(r->line, '\t'), *tab2 = tab ? strchr(tab + 1, '\t') : NULL, *nl = strchr(r->line, '\n');
    if (!tab || !tab2 || (size_t)(tab - r->line) != strlen(id) || strncmp(r->line, id, strlen(id)) != 0)
        return 0;
    if (nl)
        *nl = '\0';
    *frame = strtoll(tab + 1, NULL, 10);
    *name = tab2 + 1;
    r->line_ready = false;
    return 1;
}

/* A stored file into path. */
static int fetch_file(lp_storage *s, const char *key, const char *path, lp_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return lp_error_set(err, LP_E_IO, "cannot create %s: %s", path, strerror(errno));
    int rc = lp_storage_get_fd(s, key, 0, LP_STORAGE_TO_END, fd, err);
    close(fd);
    return rc;
}

static int to_archive(void *ud, const void *p, size_t n, lp_error *err);

/* The frames the first pass wrote of video item row: each decoded from the
 * slot's frame source into the archive as a JPEG, under the name the
 * labels refer to. A slot without a frame source counts as missing. */
static int media_frames(run *r, const lp_item_row *row, json_t *storage)
{
    lp_job_ctx *ctx = r->ctx;
    const char *src = json_string_value(json_object_get(storage, "frames"));
    const char *index = json_string_value(json_object_get(storage, "frames_index"));
    const char *name;
    int64_t frame;
    char file[600], idx[600];
    lp_decoder *d = NULL;
    int rc = 0, have = 0;
    bool source = src && index;
    if (!source && next_frame(r, row->id, &frame, &name) == 1) {
        r->media_missing++; /* no frame source: its frames are left out (read past) */
        while (next_frame(r, row->id, &frame, &name) == 1)
            ;
        return 0;
    }
    while (rc == 0 && next_frame(r, row->id, &frame, &name) == 1) {
        if (!have++) { /* the first frame of the item: its frame source */
            if (!(d = lp_job_decoder(ctx->cfg, &ctx->err)))
                return -1;
            if (!r->dir[0]) {
                snprintf(r->dir, sizeof r->dir, "%s/loupe-export-XXXXXX", lp_decoder_work_dir(d));
                if (!mkdtemp(r->dir)) {
                    r->dir[0] = '\0';
                    return lp_error_set(&ctx->err, LP_E_IO, "cannot create a directory for the frames of an export: %s",
                                        strerror(errno));
                }
            }
            snprintf(file, sizeof file, "%s/frames", r->dir);
            snprintf(idx, sizeof idx, "%s/frames_index", r->dir);
            if (fetch_file(r->storage, src, file, &ctx->err) != 0 || fetch_file(r->storage, index, idx, &ctx->err) != 0)
                return -1;
        }
        lp_media_limits limits;
        lp_media_blob blob = {0};
        lp_media_limits_from_config(&limits, ctx->cfg);
        if (lp_decoder_frame(d, file, idx, frame, LP_MEDIA_JPEG, FRAME_QUALITY, &limits, ctx->deadline_ms, &blob,
                             &ctx->err) != 0 ||
            r->out.open(r->out.ud, name, false, &ctx->err) != 0 || to_archive(r, blob.data, blob.len, &ctx->err) != 0 ||
            lp_job_check(ctx) != 0) {
            if (ctx->err.code != LP_E_TIMEOUT)
                lp_error_hint(&ctx->err, "while putting frame %lld of item %s into the archive", (long long)frame,
                              row->id);
            rc = -1;
        } else {
            r->media_files++;
        }
        lp_media_blob_free(&blob);
    }
    if (have) {
        unlink(file);
        unlink(idx);
    }
    return rc;
}

/* Counts the bytes of a media file on their way into the archive. */
static int to_archive(void *ud, const void *p, size_t n, lp_error *err)
{
    run *r = ud;
    r->media_bytes += n;
    return r->out.write(r->out.ud, p, n, err);
}

/* Copies the original file of each item's first slot into the archive,
 * streamed from storage (lp_fmt_media_name). Items without a file are
 * counted as missing. */
static int media_page(run *r, const lp_item_row *rows, size_t n)
{
    lp_job_ctx *ctx = r->ctx;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        lp_fmt_item it = item_of(&rows[i]);
        json_t *storage = rows[i].nslots && rows[i].slots[0].storage ? json_loads(rows[i].slots[0].storage, 0, NULL)
                                                                     : NULL;
        const char *key = json_string_value(json_object_get(storage, "original"));
        char *name = key ? lp_fmt_media_name(r->page, &it) : NULL;
        if (r->frames && strcmp(it.slot_type, "video") == 0) /* written frame by frame: its frames' images */
            rc = media_frames(r, &rows[i], storage);
        else if (!key)
            r->media_missing++;
        else if (!name)
            rc = lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory naming the media of item %s", rows[i].id);
        else if (r->out.open(r->out.ud, name, false, &ctx->err) != 0 ||
                 lp_storage_get(r->storage, key, 0, LP_STORAGE_TO_END, to_archive, r, &ctx->err) != 0)
            rc = -1;
        else
            r->media_files++;
        json_decref(storage);
        if (rc == 0 && lp_job_check(ctx) != 0)
            rc = -1;
        r->done++;
    }
    if (rc == 0 && lp_job_progress(ctx, fraction(r)) != 0)
        rc = -1;
    return rc;
}

/* Pages of items in (name, id) order, each handed to page_fn. The cursor of
 * the next page is kept outside the page's arena, which is reset for each
 * page. */
static int export_items(run *r, int (*page_fn)(run *, const lp_item_row *, size_t))
{
    lp_job_ctx *ctx = r->ctx;
    char *after_name = NULL, after_id[LP_DB_UUID_LEN] = "";
    int64_t page = ctx->cfg->export_page_items;
    int rc = -1;
    for (;;) {
        lp_item_row *rows;
        size_t n;
        lp_arena_reset(r->page);
        if (lp_db_items_list(r->scan, r->page, &r->filter, LP_ITEM_SORT_NAME, after_name,
                             after_name ? after_id : NULL, page, &rows, &n, &ctx->err) != 0 ||
            lp_db_items_load_slots(r->scan, r->page, rows, n, &ctx->err) != 0 || page_fn(r, rows, n) != 0)
            break;
        if ((int64_t)n < page) {
            rc = 0;
            break;
        }
        free(after_name);
        if (!(after_name = strdup(rows[n - 1].name))) {
            lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory paging through the items of an export");
            break;
        }
        snprintf(after_id, sizeof after_id, "%s", rows[n - 1].id);
    }
    free(after_name);
    return rc;
}

/* {"bounding_box": n, …} of the non-zero counts. */
static json_t *by_type(const uint64_t *counts)
{
    json_t *o = json_object();
    for (int t = 0; o && t < LP_ANN_TYPE_COUNT; t++)
        if (counts[t] && json_object_set_new(o, lp_ann_type_name(t), json_integer((json_int_t)counts[t])) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *stats_json(const run *r)
{
    const lp_fmt_stats *s = lp_fmt_writer_stats(r->w);
    json_t *o = json_pack("{s:I, s:I, s:I, s:{s:o*, s:o*, s:o*}}", "items", (json_int_t)s->items, "items_skipped",
                          (json_int_t)s->items_skipped, "files", (json_int_t)s->files, "annotations", "written",
                          by_type(s->written), "converted", by_type(s->converted), "dropped", by_type(s->dropped));
    if (o && r->passes > 1 &&
        json_object_set_new(o, "media",
                            json_pack("{s:I, s:I, s:I}", "files", (json_int_t)r->media_files, "bytes",
                                      (json_int_t)r->media_bytes, "missing", (json_int_t)r->media_missing)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Records the archive on the export row and sets the result. */
static int finish(run *r, const char *export_id, const char *key, const lp_storage_object *obj)
{
    lp_job_ctx *ctx = r->ctx;
    json_t *stats = stats_json(r);
    char *text = stats ? json_dumps(stats, JSON_COMPACT) : NULL;
    int rc = -1;
    if (!text)
        lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory writing the result of job %s", ctx->id);
    else if (lp_db_export_finish(ctx->db, export_id, key, (int64_t)obj->size, obj->sha256, text, &ctx->err) == 0) {
        json_object_set_new(stats, "export_id", json_string(export_id));
        json_object_set_new(stats, "size_bytes", json_integer((json_int_t)obj->size));
        json_object_set_new(stats, "sha256", json_string(obj->sha256));
        lp_job_set_result(ctx, stats);
        stats = NULL;
        rc = 0;
    }
    free(text);
    json_decref(stats);
    return rc;
}

int lp_job_exports_write_run(lp_job_ctx *ctx)
{
    const char *export_id = json_string_value(json_object_get(ctx->payload, "export_id"));
    const char *format = json_string_value(json_object_get(ctx->payload, "format"));
    const json_t *variant = json_object_get(ctx->payload, "variant");
    lp_fmt_frames frames = frames_of(json_string_value(json_object_get(ctx->payload, "frames")));
    char key[LP_STORAGE_KEY_MAX + 1], created[32];
    lp_storage_object obj;
    run r;
    int rc = -1;

    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.passes = json_is_true(json_object_get(ctx->payload, "include_media")) ? 2 : 1;
    if (!ctx->team_id || !*ctx->team_id)
        return lp_error_set(&ctx->err, LP_E_INVALID, "job %s: exports.write needs a team", ctx->id);
    if (lp_item_filter_read(json_object_get(ctx->payload, "filters"), LP_FILTER_JSON, ctx->team_id, ctx->arena,
                            &r.filter, &ctx->err) != 0)
        return -1;
    r.scan = ctx->db;
    if (ctx->cfg->db_read_url && *ctx->cfg->db_read_url) {
        /* Reads that may lag the primary by the replica's delay: an export
         * asked for right after a write may miss it (docs/OPERATIONS.md). */
        lp_error e;
        lp_error_clear(&e);
        if ((r.replica = lp_db_connect(ctx->cfg->db_read_url, ctx->cfg->db_statement_timeout, &e)))
            r.scan = r.replica;
        else
            LP_WARN("jobs", "export %s: the replica at db_read_url cannot be reached (%s); reading the primary",
                    export_id, e.message);
    }
    if (load_classes(ctx, r.scan, &r.classes) != 0 || (r.total = lp_db_items_count(r.scan, &r.filter, 0, &ctx->err)) < 0)
        goto cleanup;
    lp_storage *s = r.storage = lp_job_storage(ctx->cfg, &ctx->err);
    if (!s)
        goto cleanup;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    lp_fmt_options opt = {.variant = json_is_string(variant) ? json_string_value(variant) : NULL,
                          .frames = frames,
                          .schema_version = "1",
                          .created = created};
    if (r.passes > 1 && frames != LP_FMT_FRAMES_NONE) {
        if (!(r.frames = tmpfile()) || !(r.names = lp_arena_new(0, 0))) {
            lp_error_set(&ctx->err, LP_E_IO, "cannot create the frame spool of export %s: %s", export_id,
                         strerror(errno));
            goto cleanup;
        }
        opt.frame = spool_frame;
        opt.frame_ud = &r;
    }
    lp_storage_key_export(ctx->team_id, export_id, key, sizeof key);
    if (!(r.page = lp_arena_new(0, 0)) || !(r.item = lp_arena_new(0, (size_t)ctx->cfg->export_item_max_bytes))) {
        lp_error_set(&ctx->err, LP_E_NOMEM, "out of memory starting export %s", export_id);
        goto cleanup;
    }
    if (!(r.sw = lp_storage_writer_open(s, key, "application/zip", &ctx->err)) ||
        !(r.zip = lp_zip_new(to_storage, r.sw, now, &ctx->err)))
        goto cleanup;
    lp_fmt_out_zip(&r.out, r.zip, (int)ctx->cfg->export_zip_level);
    if (!(r.w = lp_fmt_writer_new(format, &r.out, &r.classes, &opt, &ctx->err)) || export_items(&r, export_page) != 0 ||
        lp_fmt_writer_end(r.w, &ctx->err) != 0 || (r.frames && spool_rewind(&r) != 0) ||
        (r.passes > 1 && export_items(&r, media_page) != 0) ||
        lp_zip_finish(r.zip, &ctx->err) != 0)
        goto cleanup;
    rc = lp_storage_writer_commit(r.sw, &obj, &ctx->err);
    r.sw = NULL;
    if (rc == 0)
        rc = finish(&r, export_id, key, &obj);
    if (rc == 0)
        LP_INFO("jobs", "export %s: %lld items, %llu bytes", export_id, (long long)r.done,
                (unsigned long long)obj.size);
cleanup:
    if (r.frames)
        fclose(r.frames);
    lp_arena_free(r.names);
    free(r.line);
    if (r.dir[0])
        rmdir(r.dir);
    lp_fmt_writer_free(r.w);
    lp_zip_free(r.zip);
    lp_storage_writer_abort(r.sw);
    lp_arena_free(r.item);
    lp_arena_free(r.page);
    lp_db_close(r.replica);
    return rc;
}
