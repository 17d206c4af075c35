/* An item's annotations: the streamed read, the frame-range read ("vectors
 * on demand") and the atomic batch write (docs/ANNOTATIONS.md).
 *
 * GET  /api/v1/items/{id}/annotations[?slot=…][&bbox=…]  READ      spooled JSON
 * GET  /api/v1/items/{id}/annotations?slot=…&frames=a..b READ      streamed NDJSON
 *
 * bbox=x0,y0,x1,y1 narrows either read to the annotations that may show in
 * that viewport (annotations_bbox_idx serves it; see lp_db_ann_open_item).
 * POST /api/v1/items/{id}/annotations/batch             ANNOTATE  BULK body
 *
 * Threads and connections: no read holds a pooled database connection while
 * waiting on a client. The whole-set read renders its rows (inside a
 * read-only REPEATABLE READ snapshot, so they match the version in the
 * ETag): an answer up to ANSWER_IN_MEMORY bytes on the request's thread,
 * sent from memory; a larger one on a renderer thread of its own that
 * appends to an unlinked spool file in annotation_spool_dir (at most
 * annotation_spool_max bytes) and gives the connection back after the last
 * row, while the connection's thread sends the file as it grows, at the
 * client's pace. The frame-range read loads the keyframes it needs first,
 * gives the connection back, and computes frames while sending (on the
 * thread that serves the connection). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "annotations_int.h"
#include "identity_int.h"
#include "loupe/annotation/annotation.h"
#include "loupe/annotation/stored.h"
#include "handlers_int.h"
#include "loupe/api/input.h"
#include "loupe/core/buf.h"
#include "loupe/core/json_scan.h"
#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"
#include "loupe/db/annotations_sql.h"
#include "loupe/db/audit_sql.h"
#include "loupe/db/classes_sql.h"
#include "loupe/db/item_filter.h"
#include "loupe/db/tasks_sql.h"
#include "loupe/formats/darwin.h"
#include "loupe/formats/json_text.h"
#include "loupe/geometry/interpolate.h"
#include "loupe/geometry/measure.h"
#include "loupe/geometry/track.h"
#include "loupe/http/etag.h"
#include "loupe/jobs/disagreement.h"

/* Most frames one frame-range read may cover. */
#define LP_ANN_FRAMES_MAX 10000
/* Output is produced in chunks of about this size. */
#define STREAM_CHUNK (64 * 1024)
/* A whole-set answer up to this size is kept in memory; a larger one goes
 * to a spool file. */
#define ANSWER_IN_MEMORY (1024 * 1024)

static void lim_from_cfg(const lp_config *cfg, lp_ann_limits *lim)
{
    lim->geom.max_points = (size_t)cfg->annotation_max_points;
    lim->geom.max_paths = (size_t)cfg->annotation_max_paths;
    lim->geom.max_pixels = (uint64_t)cfg->image_max_pixels;
    lim->max_frame = cfg->video_max_frames - 1;
    lim->max_string = (size_t)cfg->string_max_length;
}

/* Anchors the field errors added since mark under name ("create[3]"). */
static void anchor_fields(lp_error *err, size_t mark, const char *name)
{
    for (size_t i = mark; i < err->nfields; i++) {
        char tmp[sizeof err->fields[i].field];
        const char *f = err->fields[i].field;
        snprintf(tmp, sizeof tmp, "%s%s%s", name, f[0] && f[0] != '[' ? "." : "", f);
        lp_strlcpy(err->fields[i].field, tmp, sizeof err->fields[i].field);
    }
}

/* The entity tag of version into tag. */
static const char *etag_of(int64_t version, char tag[32])
{
    snprintf(tag, 32, "\"%lld\"", (long long)version);
    return tag;
}

static int etag_header(lp_req *req, int64_t version)
{
    char tag[32];
    return lp_res_header(req, "ETag", etag_of(version, tag));
}

/* ---- streamed answers ------------------------------------------------------------ */

/* The output side of a streamed answer, the first member of the stream:
 * step appends the next part to out and sets done after the last;
 * stream_read hands the server what is produced. */
typedef struct stream_out {
    int (*step)(void *stream); /* 0 or -1 */
    lp_buf out;
    size_t pos;                /* bytes of out already handed out */
    bool done;
} stream_out;

/* lp_stream_fn of a streamed answer: produces until max bytes wait (or the
 * answer ends), then hands out at most max of them. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_out *so = cls;
    (void)pos;
    if (so->pos == so->out.len) {
        lp_buf_reset(&so->out);
        so->pos = 0;
    }
    while (!so->done && so->out.len - so->pos < max)
        if (so->step(cls) != 0)
            return -1;
    size_t n = so->out.len - so->pos;
    if (n > max)
        n = max;
    memcpy(buf, so->out.data + so->pos, n);
    so->pos += n;
    return (ssize_t)n;
}

/* ---- GET: the whole set, spooled ------------------------------------------------ */

/* A whole-set read. The handler renders the first ANSWER_IN_MEMORY bytes
 * itself; a smaller answer is sent from memory. A larger one is finished by
 * a renderer thread that owns the database connection until the last row
 * and appends to an unlinked spool file, which the client reads from at its
 * own pace, as it grows: rendering and sending overlap, and the connection
 * goes back as soon as the rows are rendered, however slow the client. */
typedef struct item_read {
    /* rendering: the handler's, then the renderer thread's */
    lp_db *db;
    lp_db_ann_cursor *cur;
    lp_arena *arena;          /* decoded shapes of the row being written */
    lp_buf mem;               /* rendered, not yet in the file */
    lp_ann_row open;          /* the video annotation whose frames are being written */
    bool any, is_open;
    uint64_t max;             /* annotation_spool_max */
    const char *dir;          /* annotation_spool_dir (the config's) */
    int fd;                   /* the spool file; -1 until there is one */
    bool threaded;
    pthread_t thread;
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    uint64_t size;            /* bytes in the file */
    bool done, failed, cancel;
    /* the sender's */
    uint64_t sent;
} item_read;

/* Appends what is in memory to the spool file (creating it) and tells the
 * sender. 0, or -1 with err (also when the client has gone away). */
static int spool_flush(item_read *r, lp_error *err)
{
    if (r->fd < 0) {
        char path[4096];
        const char *dir = r->dir && *r->dir ? r->dir : getenv("TMPDIR");
        if (!dir || !*dir)
            dir = "/tmp";
        if ((size_t)snprintf(path, sizeof path, "%s/loupe-annotations-XXXXXX", dir) >= sizeof path)
            return lp_error_set(err, LP_E_INTERNAL, "annotation_spool_dir is too long");
        if ((r->fd = mkstemp(path)) < 0)
            return lp_error_set(err, LP_E_IO, "cannot create a spool file in %s (annotation_spool_dir): %s", dir,
                                strerror(errno));
        unlink(path);
    }
    if (r->size + r->mem.len > r->max)
        return lp_error_set(err, LP_E_TOO_LARGE, "the answer is larger than %llu bytes (annotation_spool_max)",
                            (unsigned long long)r->max);
    for (size_t off = 0; off < r->mem.len;) {
        ssize_t n = pwrite(r->fd, r->mem.data + off, r->mem.len - off, (off_t)(r->size + off));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return lp_error_set(err, LP_E_IO, "writing the annotation spool failed: %s",
                                n < 0 ? strerror(errno) : "no space");
        off += (size_t)n;
    }
    pthread_mutex_lock(&r->mu);
    r->size += r->mem.len;
    bool cancel = r->cancel;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    lp_buf_reset(&r->mem);
    return cancel ? lp_error_set(err, LP_E_UNAVAILABLE, "the client went away") : 0;
}

/* Renders the cursor's rows into r->mem (the header is already there): all
 * of them when all (spooling each ANSWER_IN_MEMORY bytes), else until
 * ANSWER_IN_MEMORY bytes wait. 1 when rows remain, 0 when the answer is
 * complete (and spooled, if it has a file), -1 with err. */
static int render_rows(item_read *r, bool all, lp_error *err)
{
    lp_buf *o = &r->mem;
    lp_db_ann_out row;
    int rc;
    while ((rc = lp_db_ann_next(r->cur, &row, err)) == 1) {
        int wrc;
        lp_arena_reset(r->arena);
        if (r->is_open && strcmp(r->open.id, row.ann.id) == 0) {
            wrc = lp_darwin_write_frame(o, r->arena, &row.frame, false, err);
        } else {
            wrc = (r->is_open && lp_darwin_write_row_end(o, &r->open) != 0) ||
                          (r->any && lp_buf_append(o, ",", 1) != 0) ||
                          lp_darwin_write_row(o, r->arena, &row.ann, err) != 0 ||
                          (row.has_frame && lp_darwin_write_frame(o, r->arena, &row.frame, true, err) != 0)
                      ? -1
                      : 0;
            r->any = true;
            r->is_open = row.ann.video;
            memcpy(r->open.id, row.ann.id, sizeof r->open.id);
            r->open.video = row.ann.video;
        }
        if (wrc != 0)
            return err->code != LP_OK ? -1
                                      : lp_error_set(err, LP_E_NOMEM, "out of memory rendering annotation %s",
                                                     row.ann.id);
        if (o->len >= ANSWER_IN_MEMORY) {
            if (!all)
                return 1;
            if (spool_flush(r, err) != 0)
                return -1;
        }
    }
    if (rc < 0)
        return -1;
    if ((r->is_open && lp_darwin_write_row_end(o, &r->open) != 0) || lp_buf_puts(o, "]}") != 0)
        return lp_error_set(err, LP_E_NOMEM, "out of memory rendering annotations");
    return r->fd >= 0 ? spool_flush(r, err) : 0;
}

/* Gives the connection back (ending the read-only transaction). */
static void item_read_release(item_read *r)
{
    lp_db_ann_close(r->cur);
    r->cur = NULL;
    if (r->db) {
        lp_db_rollback(r->db);
        lp_db_release(r->db);
        r->db = NULL;
    }
}

/* The renderer thread: the rest of the rows, then the connection back. */
static void *item_read_render(void *arg)
{
    item_read *r = arg;
    lp_error err;
    lp_error_clear(&err);
    int rc = render_rows(r, true, &err);
    if (rc < 0 && err.code != LP_E_UNAVAILABLE)
        LP_ERROR("api", "rendering annotations failed: %s", err.message);
    item_read_release(r);
    pthread_mutex_lock(&r->mu);
    r->done = true;
    r->failed = rc < 0;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* lp_stream_fn: what the spool holds beyond what was sent, waiting for the
 * renderer when the client has caught up with it. */
static ssize_t item_read_send(void *cls, uint64_t pos, char *buf, size_t max)
{
    item_read *r = cls;
    (void)pos;
    pthread_mutex_lock(&r->mu);
    while (r->sent == r->size && !r->done)
        pthread_cond_wait(&r->cond, &r->mu);
    uint64_t avail = r->size - r->sent;
    bool failed = r->failed;
    pthread_mutex_unlock(&r->mu);
    if (avail == 0)
        return failed ? -1 : 0;
    ssize_t n = pread(r->fd, buf, avail < max ? (size_t)avail : max, (off_t)r->sent);
    if (n <= 0)
        return -1;
    r->sent += (uint64_t)n;
    return n;
}

/* Ends a read: stops and waits for the renderer, gives everything back. */
static void item_read_free(void *cls)
{
    item_read *r = cls;
    if (!r)
        return;
    if (r->threaded) {
        pthread_mutex_lock(&r->mu);
        r->cancel = true;
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    item_read_release(r);
    if (r->fd >= 0)
        close(r->fd);
    lp_arena_free(r->arena);
    lp_buf_free(&r->mem);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
    free(r);
}

/* ---- GET with frames=a..b: every shape on every frame --------------------------- */

/* A raster layer keyframe's mask_annotation_ids_mapping: mask n has label labels[n]. */
typedef struct label_map {
    const char **ids;
    uint8_t *labels;
    size_t n;
} label_map;

typedef struct track {
    char id[LP_ANN_ID_MAX + 1];
    char class_id[37];
    int type;
    lp_geom_track t;
    lp_ann_geom *geoms;      /* per keyframe, as stored */
    size_t ngeoms;
    const char **data;       /* per keyframe: its sub-types ("{…}"), for the keyframe itself */
    const char **held;       /* per keyframe: the same without bounding_box, for the frames it holds */
    bool *boxed;             /* per keyframe: it has a companion bounding_box (recomputed on other frames) */
    label_map *maps;         /* raster layer: per keyframe, its masks' labels */
} track;

typedef struct frame_stream {
    stream_out so;
    lp_arena *tracks_arena;  /* tracks and keyframes */
    lp_arena *frame_arena;   /* computed shapes of one frame */
    track *tracks;
    size_t ntracks;
    int64_t from, to, next;
    int64_t version;
    bool raster;             /* raster_layer=true: the slot's raster layer comes along */
    uint32_t width, height;  /* the slot's frames (0: unknown: a raster layer is then held) */
    uint64_t max_pixels;
} frame_stream;

static void frame_stream_free(void *cls)
{
    frame_stream *s = cls;
    lp_arena_free(s->tracks_arena);
    lp_arena_free(s->frame_arena);
    lp_buf_free(&s->so.out);
    free(s);
}

/* The keyframe held at f for types that do not interpolate: the last one at
 * or before f, else the first. */
static size_t held_index(const lp_geom_track *t, int64_t f)
{
    size_t lo = 0, hi = t->nkeyframes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->keyframes[mid].frame <= f)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/* Pixels a dense RLE covers. */
static uint64_t dense_pixels(const lp_ann_geom *g)
{
    uint64_t n = 0;
    for (size_t i = 1; i < g->ndense; i += 2)
        n += g->dense[i];
    return n;
}

/* The raster layer of track tr at frame f (not absent) into *g: keyframe k0's,
 * or between keyframes k0 and k1 every mask blended by signed distance, the
 * masks paired by annotation id (lp_geom_dense_interpolate); held when the
 * slot's size is unknown or is not the layers'. */
static int raster_at(frame_stream *s, const track *tr, size_t k0, size_t k1, double pos, lp_ann_geom *g,
                     lp_error *err)
{
    *g = tr->geoms[k0];
    const lp_ann_geom *b = &tr->geoms[k1];
    uint64_t px = (uint64_t)s->width * s->height;
    if (k1 == k0 || px == 0 || dense_pixels(g) != px || dense_pixels(b) != px)
        return 0;
    const label_map *ma = &tr->maps[k0], *mb = &tr->maps[k1];
    lp_geom_label_pair *pairs = lp_arena_calloc(s->frame_arena, ma->n ? ma->n : 1, sizeof *pairs);
    if (!pairs)
        return lp_error_set(err, LP_E_NOMEM, "out of memory blending a raster layer");
    for (size_t i = 0; i < ma->n; i++) {
        pairs[i].a = ma->labels[i];
        for (size_t j = 0; j < mb->n && !pairs[i].b; j++)
            if (strcmp(ma->ids[i], mb->ids[j]) == 0)
                pairs[i].b = mb->labels[j];
    }
    return lp_geom_dense_interpolate(g->dense, g->ndense, b->dense, b->ndense, s->width, s->height, pairs, ma->n, pos,
                                     s->max_pixels, s->frame_arena, &g->dense, &g->ndense, err);
}

static int write_frame(frame_stream *s, int64_t f, lp_error *err)
{
    lp_buf *o = &s->so.out;
    bool any = false;
    lp_arena_reset(s->frame_arena);
    if (lp_buf_printf(o, "{\"frame\":%lld,\"annotations\":[", (long long)f) != 0)
        return -1;
    for (size_t i = 0; i < s->ntracks; i++) {
        track *tr = &s->tracks[i];
        lp_geom_shape shape;
        lp_geom_frame_kind kind;
        lp_ann_geom layer = {.type = -1};
        bool raster = tr->type == LP_ANN_RASTER_LAYER;
        if (raster) {
            size_t k0 = 0, k1 = 0;
            double pos = 0;
            lp_geom_track_locate(&tr->t, f, &kind, &k0, &k1, &pos);
            if (kind != LP_GEOM_FRAME_ABSENT && raster_at(s, tr, k0, k1, pos, &layer, err) != 0)
                return -1;
        } else if (lp_geom_track_at(&tr->t, f, s->frame_arena, &shape, &kind, err) != 0) {
            return -1;
        }
        if (kind == LP_GEOM_FRAME_ABSENT)
            continue;
        if ((any && lp_buf_append(o, ",", 1) != 0) ||
            lp_buf_printf(o, "{\"id\":\"%s\",\"class_id\":\"%s\",\"keyframe\":%s,", tr->id, tr->class_id,
                          kind == LP_GEOM_FRAME_KEYFRAME ? "true" : "false") != 0)
            return -1;
        any = true;
        /* the shape, then the sub-types: the keyframe's own on a keyframe; on
         * other frames those of the keyframe held, with the companion box of
         * the computed shape */
        size_t k = held_index(&tr->t, f);
        const lp_ann_geom *g = &tr->geoms[k];
        int rc = raster                            ? lp_darwin_write_geom(o, &layer)
                 : lp_ann_type_is_text(tr->type) ? lp_darwin_write_geom(o, g)
                                                   : lp_darwin_write_computed(o, g, &shape);
        if (rc != 0)
            return -1;
        if (kind == LP_GEOM_FRAME_KEYFRAME) {
            rc = lp_json_write_members(o, tr->data[k], strlen(tr->data[k]));
        } else {
            lp_geom_bbox box;
            rc = lp_json_write_members(o, tr->held[k], strlen(tr->held[k]));
            if (rc == 0 && tr->boxed[k] && !raster) {
                lp_geom_shape b = {.type = LP_GEOM_BOUNDING_BOX};
                if (lp_geom_shape_bbox(&shape, &box, err) != 0)
                    return -1;
                b.u.bbox = box;
                rc = lp_buf_append(o, ",", 1) != 0 || lp_darwin_write_shape(o, &b) != 0 ? -1 : 0;
            }
        }
        if (rc != 0 || lp_buf_puts(o, "}") != 0)
            return -1;
    }
    return lp_buf_puts(o, "]}\n");
}

static int frame_stream_step(void *stream)
{
    frame_stream *s = stream;
    lp_error err;
    lp_error_clear(&err);
    if (write_frame(s, s->next, &err) != 0) {
        LP_ERROR("api", "computing frame %lld failed: %s", (long long)s->next,
                 err.message[0] ? err.message : "buffer full");
        return -1;
    }
    s->so.done = ++s->next > s->to;
    return 0;
}

/* Keeps keyframe k's sub-types (data, borrowed from the row) in tr: as they
 * are, and without the companion bounding_box for the frames it holds. 0 or
 * -1 (out of memory). */
static int keyframe_data(lp_arena *a, const char *const *data, size_t len, track *tr, size_t k)
{
    const char *text = *data ? *data : "{}";
    size_t n = *data ? len : 2;
    char *copy = lp_arena_strndup(a, text, n);
    if (!copy)
        return -1;
    tr->data[k] = tr->held[k] = copy;
    if (!strstr(copy, "\"bounding_box\""))
        return 0;
    json_t *obj = json_loadb(text, n, 0, NULL);
    if (obj && json_object_get(obj, "bounding_box")) {
        json_object_del(obj, "bounding_box");
        char *rest = json_dumps(obj, JSON_COMPACT);
        tr->held[k] = rest ? lp_arena_strdup(a, rest) : NULL;
        tr->boxed[k] = true;
        free(rest);
    }
    json_decref(obj);
    return tr->held[k] ? 0 : -1;
}

/* The mask_annotation_ids_mapping among a raster layer's other members
 * (g->raw, "" when none) into *m (new in a); a mapping that is missing or
 * names labels outside 1 … 255 leaves those masks out (held). 0 or -1 (out of memory). */
static int read_label_map(lp_arena *a, const lp_ann_geom *g, label_map *m)
{
    memset(m, 0, sizeof *m);
    char *text = lp_arena_printf(a, "{%.*s}", (int)g->raw_len, g->raw ? g->raw : "");
    if (!text)
        return -1;
    json_t *doc = json_loads(text, 0, NULL), *map = json_object_get(doc, "mask_annotation_ids_mapping"), *v;
    const char *id;
    size_t n = json_object_size(map);
    m->ids = lp_arena_calloc(a, n ? n : 1, sizeof *m->ids);
    m->labels = lp_arena_calloc(a, n ? n : 1, 1);
    int rc = m->ids && m->labels ? 0 : -1;
    json_object_foreach(map, id, v) {
        json_int_t label = json_integer_value(v);
        if (rc != 0 || !json_is_integer(v) || label < 1 || label > 255)
            continue;
        if (!(m->ids[m->n] = lp_arena_strdup(a, id)))
            rc = -1;
        else
            m->labels[m->n++] = (uint8_t)label;
    }
    json_decref(doc);
    return rc;
}

/* Reads the keyframes for [from, to] into s (single-row mode, one track at a time). */
static int load_tracks(lp_db *db, const char *item_id, const char *slot, const lp_geom_bbox *view, frame_stream *s,
                       lp_error *err)
{
    lp_db_ann_cursor *cur = lp_db_ann_open_keyframes(db, item_id, slot, s->from, s->to, view, s->raster, err);
    size_t cap = 16, kcap = 0;
    lp_geom_keyframe *kf = NULL;
    lp_db_ann_out row;
    int rc;
    if (!cur)
        return -1;
    s->tracks = lp_arena_calloc(s->tracks_arena, cap, sizeof *s->tracks);
    if (!s->tracks) {
        lp_db_ann_close(cur);
        return lp_error_set(err, LP_E_TOO_LARGE, "the annotations of this slot do not fit in memory");
    }
    while ((rc = lp_db_ann_next(cur, &row, err)) == 1) {
        track *tr = s->ntracks ? &s->tracks[s->ntracks - 1] : NULL;
        if (!tr || strcmp(tr->id, row.ann.id) != 0) {
            if (s->ntracks == cap) {
                track *nt = lp_arena_calloc(s->tracks_arena, cap * 2, sizeof *nt);
                if (!nt)
                    goto toolarge;
                memcpy(nt, s->tracks, cap * sizeof *nt);
                s->tracks = nt;
                cap *= 2;
            }
            tr = &s->tracks[s->ntracks++];
            lp_strlcpy(tr->id, row.ann.id, sizeof tr->id);
            lp_strlcpy(tr->class_id, row.ann.class_id, sizeof tr->class_id);
            tr->type = row.ann.type;
            tr->t.interpolate = row.ann.interpolated;
            /* the row's ranges live until the next row: keep copies */
            tr->t.ranges = lp_arena_memdup(s->tracks_arena, row.ann.ranges, row.ann.nranges * sizeof *row.ann.ranges);
            tr->t.nranges = row.ann.nranges;
            tr->t.hidden = row.ann.nhidden ? lp_arena_memdup(s->tracks_arena, row.ann.hidden,
                                                             row.ann.nhidden * sizeof *row.ann.hidden)
                                           : NULL;
            tr->t.nhidden = row.ann.nhidden;
            if ((row.ann.nranges && !tr->t.ranges) || (row.ann.nhidden && !tr->t.hidden))
                goto toolarge;
            kcap = 0;
            kf = NULL;
        }
        if (tr->t.nkeyframes == kcap) {
            size_t nc = kcap ? kcap * 2 : 4;
            lp_geom_keyframe *nk = lp_arena_calloc(s->tracks_arena, nc, sizeof *nk);
            lp_ann_geom *ng = lp_arena_calloc(s->tracks_arena, nc, sizeof *ng);
            const char **nd = lp_arena_calloc(s->tracks_arena, nc, sizeof *nd);
            const char **nh = lp_arena_calloc(s->tracks_arena, nc, sizeof *nh);
            bool *nb = lp_arena_calloc(s->tracks_arena, nc, sizeof *nb);
            label_map *nm = lp_arena_calloc(s->tracks_arena, nc, sizeof *nm);
            if (!nk || !ng || !nd || !nh || !nb || !nm)
                goto toolarge;
            if (kcap) {
                memcpy(nk, kf, kcap * sizeof *nk);
                memcpy(ng, tr->geoms, kcap * sizeof *ng);
                memcpy(nd, tr->data, kcap * sizeof *nd);
                memcpy(nh, tr->held, kcap * sizeof *nh);
                memcpy(nb, tr->boxed, kcap * sizeof *nb);
                memcpy(nm, tr->maps, kcap * sizeof *nm);
            }
            kf = nk;
            tr->geoms = ng;
            tr->data = nd;
            tr->held = nh;
            tr->boxed = nb;
            tr->maps = nm;
            kcap = nc;
            tr->t.keyframes = kf;
        }
        lp_ann_geom *g = &tr->geoms[tr->t.nkeyframes];
        const lp_ann_stored *fb = &row.frame.body;
        if (!fb->geom || lp_ann_geom_decode(fb->geom, fb->geom_len, s->tracks_arena, g, err) != 0) {
            if (!fb->geom)
                lp_error_set(err, LP_E_INTERNAL, "keyframe %lld of annotation %s has no shape",
                             (long long)row.frame.frame, row.ann.id);
            lp_db_ann_close(cur);
            return -1;
        }
        /* raw texts point into the row: keep copies */
        if (g->raw) {
            char *copy = lp_arena_memdup(s->tracks_arena, g->raw, g->raw_len + 1);
            if (!copy)
                goto toolarge;
            copy[g->raw_len] = '\0';
            g->raw = copy;
        }
        if (keyframe_data(s->tracks_arena, &fb->data, fb->data_len, tr, tr->t.nkeyframes) != 0 ||
            (g->type == LP_ANN_RASTER_LAYER && read_label_map(s->tracks_arena, g, &tr->maps[tr->t.nkeyframes]) != 0))
            goto toolarge;
        kf[tr->t.nkeyframes].frame = row.frame.frame;
        kf[tr->t.nkeyframes].shape = g->shape;
        tr->t.nkeyframes++;
        tr->ngeoms = tr->t.nkeyframes;
    }
    lp_db_ann_close(cur);
    return rc < 0 ? -1 : 0;
toolarge:
    lp_db_ann_close(cur);
    return lp_error_set(err, LP_E_TOO_LARGE, "the keyframes of this slot do not fit in memory (http_arena_limit)");
}

/* "a..b" */
static int read_frames_param(lp_req *req, const char *v, int64_t *from, int64_t *to)
{
    char *end;
    long long a = strtoll(v, &end, 10);
    if (end == v || end[0] != '.' || end[1] != '.' || a < 0)
        return lp_error_field(&req->err, LP_E_MALFORMED, "frames", "must be a range like 0..99 (first..last frame)");
    const char *q = end + 2;
    long long b = strtoll(q, &end, 10);
    if (end == q || *end || b < a)
        return lp_error_field(&req->err, LP_E_MALFORMED, "frames", "must be a range like 0..99 (first..last frame)");
    if (b - a + 1 > LP_ANN_FRAMES_MAX)
        return lp_error_field(&req->err, LP_E_MALFORMED, "frames",
                              "covers %lld frames; ask for at most %d at a time", b - a + 1, LP_ANN_FRAMES_MAX);
    *from = a;
    *to = b;
    return 0;
}

/* "x0,y0,x1,y1": four finite numbers with x0 < x1 and y0 < y1, the viewport
 * in image pixels. NULL (absent) leaves *view NULL. */
static int read_bbox_param(lp_req *req, lp_geom_bbox *box, const lp_geom_bbox **view)
{
    const char *v = lp_req_query(req, "bbox");
    double n[4];
    *view = NULL;
    if (!v)
        return 0;
    const char *p = v;
    for (int i = 0; i < 4; i++) {
        char *end;
        n[i] = strtod(p, &end);
        if (end == p || !isfinite(n[i]) || *end != (i < 3 ? ',' : '\0'))
            return lp_error_field(&req->err, LP_E_INVALID, "bbox",
                                  "must be four finite numbers x0,y0,x1,y1 (the viewport in image pixels)");
        p = end + 1;
    }
    if (!(n[0] < n[2]) || !(n[1] < n[3]))
        return lp_error_field(&req->err, LP_E_INVALID, "bbox", "must have x0 < x1 and y0 < y1");
    *box = (lp_geom_bbox){n[0], n[1], n[2] - n[0], n[3] - n[1]};
    *view = box;
    return 0;
}

/* The size of the slot's frames into s (0 × 0 when the slot is not known or not measured yet). */
static int slot_size(lp_req *req, lp_db *db, const char *item_id, const char *slot, frame_stream *s)
{
    lp_slot_row *slots;
    size_t n;
    if (lp_db_ann_slots(db, req->arena, item_id, &slots, &n, &req->err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(slots[i].name, slot) == 0 && slots[i].width > 0 && slots[i].height > 0 &&
            slots[i].width <= UINT32_MAX && slots[i].height <= UINT32_MAX) {
            s->width = (uint32_t)slots[i].width;
            s->height = (uint32_t)slots[i].height;
        }
    s->max_pixels = (uint64_t)req->svc->cfg->image_max_pixels;
    return 0;
}

/* raster_layer=true|false (absent: false). */
static int read_raster_param(lp_req *req, bool *out)
{
    const char *v = lp_req_query(req, "raster_layer");
    *out = v && strcmp(v, "true") == 0;
    if (v && !*out && strcmp(v, "false") != 0)
        return lp_error_field(&req->err, LP_E_MALFORMED, "raster_layer", "must be true or false");
    return 0;
}

static int get_frames(lp_req *req, const char *item_id, const char *slot, const char *frames,
                      const lp_geom_bbox *view)
{
    int64_t from = 0, to = 0, version = 0;
    bool raster;
    lp_db *db;
    int rc = -1;
    if (read_frames_param(req, frames, &from, &to) != 0 || read_raster_param(req, &raster) != 0)
        return -1;
    if (!slot)
        return lp_error_field(&req->err, LP_E_MALFORMED, "slot", "is required with frames");
    frame_stream *s = calloc(1, sizeof *s);
    if (!s)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    s->tracks_arena = lp_arena_new(64 * 1024, (size_t)req->svc->cfg->http_arena_limit);
    s->frame_arena = lp_arena_new(64 * 1024, (size_t)req->svc->cfg->http_arena_limit);
    s->so.step = frame_stream_step;
    lp_buf_init(&s->so.out, 16 * STREAM_CHUNK);
    s->from = s->next = from;
    s->to = to;
    s->raster = raster;
    if (!s->tracks_arena || !s->frame_arena) {
        frame_stream_free(s);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    }
    if (!(db = lp_req_db(req))) {
        frame_stream_free(s);
        return -1;
    }
    if (lp_db_ann_read_begin(db, req->who.team_id, item_id, &version, &req->err) == 0 &&
        (!raster || slot_size(req, db, item_id, slot, s) == 0) && load_tracks(db, item_id, slot, view, s, &req->err) == 0)
        rc = 0;
    lp_db_rollback(db);
    lp_req_db_release(req);
    if (rc != 0) {
        frame_stream_free(s);
        return -1;
    }
    s->version = version;
    /* the header line goes out first: {"version":…,"item_id":…,"slot":…,"from":…,"to":…} */
    if (lp_buf_printf(&s->so.out, "{\"version\":%lld,\"item_id\":\"%s\",\"slot\":", (long long)version, item_id) != 0 ||
        lp_json_write_string(&s->so.out, slot, strlen(slot)) != 0 ||
        lp_buf_printf(&s->so.out, ",\"from\":%lld,\"to\":%lld}\n", (long long)from, (long long)to) != 0) {
        frame_stream_free(s);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    }
    etag_header(req, version);
    return lp_res_stream(req, 200, "application/x-ndjson", stream_read, s, frame_stream_free);
}

int lp_api_annotations_get(lp_req *req)
{
    const char *item_id = lp_identity_uuid_param(req, "id", "item");
    const char *slot = lp_req_query(req, "slot"), *frames = lp_req_query(req, "frames");
    const lp_config *cfg = req->svc->cfg;
    int64_t version = 0;
    lp_geom_bbox box;
    const lp_geom_bbox *view;
    item_read *r;
    int rc;

    if (!item_id)
        return -1;
    if (slot && !*slot)
        return lp_error_field(&req->err, LP_E_MALFORMED, "slot", "must be a slot name");
    if (slot && strlen(slot) > (size_t)cfg->slot_name_max)
        return lp_error_field(&req->err, LP_E_MALFORMED, "slot",
                              "is %zu bytes long, over the limit of %lld (slot_name_max)", strlen(slot),
                              (long long)cfg->slot_name_max);
    if (read_bbox_param(req, &box, &view) != 0)
        return -1;
    if (frames)
        return get_frames(req, item_id, slot, frames, view);
    if (!(r = calloc(1, sizeof *r)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->fd = -1;
    r->max = (uint64_t)cfg->annotation_spool_max;
    r->dir = cfg->annotation_spool_dir;
    lp_buf_init(&r->mem, ANSWER_IN_MEMORY + (size_t)cfg->http_arena_limit);
    if (!(r->arena = lp_arena_new(64 * 1024, (size_t)cfg->http_arena_limit))) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        goto fail;
    }
    if (!(r->db = lp_req_db_take(req)) ||
        lp_db_ann_read_begin(r->db, req->who.team_id, item_id, &version, &req->err) != 0)
        goto fail;
    etag_header(req, version);
    char tag[32];
    if (lp_req_etag_match(req, "If-None-Match", etag_of(version, tag))) {
        item_read_free(r);
        return lp_res_empty(req, 304);
    }
    char *props = NULL;
    if (lp_db_ann_item_properties_get(r->db, r->arena, item_id, &props, &req->err) != 0 ||
        !(r->cur = lp_db_ann_open_item(r->db, item_id, slot, view, &req->err)))
        goto fail;
    if (lp_buf_printf(&r->mem, "{\"version\":%lld,", (long long)version) != 0 ||
        (props && lp_buf_printf(&r->mem, "\"properties\":%s,", props) != 0) ||
        lp_buf_puts(&r->mem, "\"annotations\":[") != 0) {
        lp_error_set(&req->err, LP_E_NOMEM, "out of memory rendering annotations");
        goto fail;
    }
    if ((rc = render_rows(r, false, &req->err)) < 0)
        goto fail;
    if (rc == 0) { /* the whole answer is in memory */
        item_read_release(r);
        rc = lp_res_bytes(req, 200, "application/json", r->mem.data, r->mem.len);
        item_read_free(r);
        return rc;
    }
    /* a large answer: the renderer finishes it while the client reads */
    if (spool_flush(r, &req->err) != 0)
        goto fail;
    if (pthread_create(&r->thread, NULL, item_read_render, r) != 0) {
        lp_error_set(&req->err, LP_E_UNAVAILABLE, "could not start rendering the annotations; try again");
        goto fail;
    }
    r->threaded = true;
    return lp_res_stream(req, 200, "application/json", item_read_send, r, item_read_free);
fail:
    item_read_free(r);
    return -1;
}

/* ---- POST batch --------------------------------------------------------------------- */

typedef struct batch {
    lp_ann *create, *update;
    size_t ncreate, nupdate;
    const char **del;
    size_t ndel;
    bool has_props;          /* "properties": the item's own (Darwin's top-level) properties */
    lp_ann_body props;
    bool has_source;         /* "source": the default of annotations sent without one (an import says "import") */
    lp_ann_source source;
    const char *create_name; /* how field errors name the creates (NULL: "create") */
} batch;

#define BATCH_INVALID "the batch has invalid annotations; nothing was saved"

/* How field errors name annotation i's list. */
static const char *list_name(const batch *b, size_t i)
{
    return i >= b->ncreate ? "update" : b->create_name ? b->create_name : "create";
}

/* Annotation i of the batch: the creates, then the updates. */
static lp_ann *batch_ann(const batch *b, size_t i)
{
    return i < b->ncreate ? &b->create[i] : &b->update[i - b->ncreate];
}

/* Anchors the field errors added since mark under "<list>[<i>]" and, when
 * they are the request's first errors, says the batch is invalid. */
static void anchor_batch_errors(lp_req *req, size_t mark, lp_code before, const char *list, size_t i)
{
    char where[48];
    snprintf(where, sizeof where, "%s[%zu]", list, i);
    anchor_fields(&req->err, mark, where);
    if (before == LP_OK && req->err.code == LP_E_INVALID)
        lp_error_set(&req->err, LP_E_INVALID, BATCH_INVALID);
}

/* Appends to an arena array that doubles. */
static void *grow(lp_arena *a, void *arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return arr;
    size_t nc = *cap ? *cap * 2 : 64;
    void *na = lp_arena_alloc(a, nc * size);
    if (!na)
        return NULL;
    if (n)
        memcpy(na, arr, n * size);
    *cap = nc;
    return na;
}

/* Reads element i of a batch list. 0, or -1 with req->err set. */
typedef int (*list_elem_fn)(lp_req *req, lp_jscan *s, size_t i, void *ctx);

/* Reads the batch list name, an array (want: "an array of …"), element by
 * element through fn, counting them in *total against annotation_batch_max.
 * A value of the wrong kind is a field error. 0, or -1 with req->err set. */
static int read_list(lp_req *req, lp_jscan *s, const char *name, const char *want, size_t *total, list_elem_fn fn,
                     void *ctx)
{
    int more;
    size_t i = 0;
    lp_jtok t = lp_jscan_peek(s);
    if (t != LP_JT_ARRAY) {
        if (t == LP_JT_ERROR)
            return lp_jscan_error(s, &req->err);
        lp_error_field(&req->err, LP_E_INVALID, name, "must be %s", want);
        return lp_jscan_skip(s, NULL, NULL) != 0 ? lp_jscan_error(s, &req->err) : 0;
    }
    if (lp_jscan_array_begin(s) != 0)
        return lp_jscan_error(s, &req->err);
    while ((more = lp_jscan_array_next(s)) == 1) {
        if (++*total > (size_t)req->svc->cfg->annotation_batch_max)
            return lp_error_set(&req->err, LP_E_TOO_LARGE,
                                "the batch holds more than %lld annotations (annotation_batch_max)",
                                (long long)req->svc->cfg->annotation_batch_max);
        if (fn(req, s, i++, ctx) != 0)
            return -1;
    }
    return more < 0 ? lp_jscan_error(s, &req->err) : 0;
}

/* "create" or "update": annotations. */
typedef struct ann_list {
    const char *name;
    const lp_ann_limits *lim;
    lp_ann_mode mode;
    lp_ann **anns;
    size_t *n, cap;
} ann_list;

static int read_ann_elem(lp_req *req, lp_jscan *s, size_t i, void *ctx)
{
    ann_list *l = ctx;
    if (!(*l->anns = grow(req->arena, *l->anns, i, &l->cap, sizeof **l->anns)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the batch");
    size_t mark = req->err.nfields;
    lp_code before = req->err.code;
    int rc = lp_darwin_read(s, req->arena, l->lim, l->mode, &(*l->anns)[i], &req->err);
    if (rc < 0)
        return s->failed ? lp_jscan_error(s, &req->err) : -1;
    if (rc > 0)
        anchor_batch_errors(req, mark, before, l->name, i);
    *l->n = i + 1;
    return 0;
}

/* "delete": annotation ids. */
typedef struct id_list {
    batch *b;
    size_t cap;
} id_list;

static int read_delete_elem(lp_req *req, lp_jscan *s, size_t i, void *ctx)
{
    id_list *l = ctx;
    batch *b = l->b;
    const char *id = NULL;
    if (!(b->del = grow(req->arena, b->del, i, &l->cap, sizeof *b->del)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory reading the batch");
    if (lp_jscan_peek(s) == LP_JT_STRING) {
        if (lp_jscan_string(s, req->arena, &id, NULL) != 0)
            return lp_jscan_error(s, &req->err);
    } else if (lp_jscan_skip(s, NULL, NULL) != 0) {
        return lp_jscan_error(s, &req->err);
    }
    if (!id || !lp_ann_id_ok(id)) {
        char field[48];
        snprintf(field, sizeof field, "delete[%zu]", i);
        lp_error_field(&req->err, LP_E_INVALID, field, "must be an annotation id");
        id = "";
    } else if (lp_is_uuid(id)) { /* stored lower-case */
        char *low = lp_arena_strdup(req->arena, id);
        for (char *q = low; q && *q; q++)
            if (*q >= 'A' && *q <= 'F')
                *q = (char)(*q - 'A' + 'a');
        id = low ? low : id;
    }
    b->del[b->ndel++] = id;
    return 0;
}

static int read_batch(lp_req *req, const lp_ann_limits *lim, batch *b)
{
    lp_jscan s;
    lp_jstr key;
    int more;
    unsigned seen = 0;
    size_t total = 0;
    const char *ct = lp_req_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        return lp_error_set(&req->err, LP_E_MEDIA_TYPE, "the request body must be application/json");
    if (req->body_len == 0)
        return lp_error_set(&req->err, LP_E_MALFORMED, "request body is empty");
    lp_jscan_init(&s, req->body, req->body_len);
    if (lp_jscan_peek(&s) != LP_JT_OBJECT) {
        if (s.failed || lp_jscan_skip(&s, NULL, NULL) != 0 || lp_jscan_finish(&s) != 0)
            return lp_jscan_error(&s, &req->err);
        return lp_error_set(&req->err, LP_E_INVALID, "the request body must be a JSON object "
                                                     "{\"create\": […], \"update\": […], \"delete\": […]}");
    }
    lp_jscan_object_begin(&s);
    while ((more = lp_jscan_object_next(&s, &key)) == 1) {
        int rc, which = lp_jstr_eq(&key, "create")       ? 1
                        : lp_jstr_eq(&key, "update")     ? 2
                        : lp_jstr_eq(&key, "delete")     ? 4
                        : lp_jstr_eq(&key, "properties") ? 8
                        : lp_jstr_eq(&key, "source")     ? 16
                                                         : 0;
        if (!which || (seen & (unsigned)which)) {
            char f[80];
            snprintf(f, sizeof f, "%.*s", (int)(key.n < 60 ? key.n : 60), key.p);
            lp_error_field(&req->err, LP_E_INVALID, f,
                           which ? "appears more than once"
                                 : "is not a known field (create, update, delete, properties, source)");
            if (lp_jscan_skip(&s, NULL, NULL) != 0)
                return lp_jscan_error(&s, &req->err);
            continue;
        }
        seen |= (unsigned)which;
        if (which == 16) {
            const char *name = NULL;
            if (lp_jscan_peek(&s) == LP_JT_STRING) {
                if (lp_jscan_string(&s, req->arena, &name, NULL) != 0)
                    return lp_jscan_error(&s, &req->err);
            } else if (lp_jscan_skip(&s, NULL, NULL) != 0) {
                return lp_jscan_error(&s, &req->err);
            }
            if (!name || lp_ann_source_from_name(name, &b->source) != 0)
                lp_error_field(&req->err, LP_E_INVALID, "source", "must be one of \"human\", \"model\", \"import\"");
            b->has_source = true;
            continue;
        }
        if (which == 8) {
            size_t mark = req->err.nfields;
            rc = lp_darwin_read_properties(&s, req->arena, lim, &b->props, &req->err);
            if (rc < 0)
                return s.failed ? lp_jscan_error(&s, &req->err) : -1;
            if (rc > 0)
                anchor_fields(&req->err, mark, "properties");
            b->has_props = true;
            continue;
        }
        if (which == 4) {
            id_list l = {b, 0};
            rc = read_list(req, &s, "delete", "an array of annotation ids", &total, read_delete_elem, &l);
        } else {
            ann_list l = which == 1 ? (ann_list){"create", lim, LP_ANN_CREATE, &b->create, &b->ncreate, 0}
                                    : (ann_list){"update", lim, LP_ANN_UPDATE, &b->update, &b->nupdate, 0};
            rc = read_list(req, &s, l.name, "an array of annotations", &total, read_ann_elem, &l);
        }
        if (rc != 0)
            return -1;
    }
    if (more < 0 || lp_jscan_finish(&s) != 0)
        return lp_jscan_error(&s, &req->err);
    if (req->err.code == LP_E_INVALID)
        lp_error_set(&req->err, LP_E_INVALID, BATCH_INVALID);
    for (size_t i = 0; b->has_source && i < b->ncreate + b->nupdate; i++) {
        lp_ann *an = batch_ann(b, i);
        if (!an->has_source)
            an->source = b->source;
    }
    if (req->err.code == LP_OK && total == 0 && !b->has_props)
        lp_error_set(&req->err, LP_E_INVALID, "the batch is empty: give create, update, delete or properties");
    return req->err.code == LP_OK ? 0 : -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Every id at most once across the batch (ids are unique per item, so the
 * same id on two slots of the item is refused too); new ids for creates
 * without one. */
static int check_ids(lp_req *req, const char *item_id, batch *b)
{
    size_t n = b->ncreate + b->nupdate + b->ndel, k = 0;
    const char **all = lp_arena_calloc(req->arena, n ? n : 1, sizeof *all);
    if (!all)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < b->ncreate; i++) {
        if (!b->create[i].id) {
            char *id = lp_arena_alloc(req->arena, 37);
            if (!id || lp_uuid_v4(id) != 0)
                return lp_error_set(&req->err, LP_E_NOMEM, "could not make an annotation id");
            b->create[i].id = id;
        }
        all[k++] = b->create[i].id;
    }
    for (size_t i = 0; i < b->nupdate; i++)
        all[k++] = b->update[i].id;
    for (size_t i = 0; i < b->ndel; i++)
        all[k++] = b->del[i];
    qsort(all, k, sizeof *all, cmp_str);
    for (size_t i = 1; i < k; i++)
        if (strcmp(all[i], all[i - 1]) == 0)
            lp_error_field(&req->err, LP_E_INVALID, "id",
                           "annotation %s appears more than once in this batch for item %s (an id names one "
                           "annotation of the item, on one slot; create, update and delete name each at most once)",
                           all[i], item_id);
    return req->err.code == LP_OK ? 0 : -1;
}

/* ---- checks against classes, slots and what is stored ----------------------------- */

static unsigned type_bits(const char *json)
{
    json_t *arr = json_loads(json, 0, NULL), *v;
    size_t i;
    unsigned bits = 0;
    json_array_foreach(arr, i, v) {
        int t;
        const char *s = json_string_value(v);
        if (s && lp_ann_type_from_name(s, strlen(s), &t) == 0)
            bits |= 1u << t;
    }
    json_decref(arr);
    return bits;
}

static unsigned sub_bits(const char *json)
{
    json_t *arr = json_loads(json, 0, NULL), *v;
    size_t i;
    unsigned bits = 0;
    json_array_foreach(arr, i, v)
        if (json_is_string(v))
            bits |= lp_ann_sub_type_flag(json_string_value(v));
    json_decref(arr);
    return bits;
}

static int to_check_class(lp_req *req, const lp_class_row *row, lp_ann_class *c)
{
    memset(c, 0, sizeof *c);
    c->id = row->id;
    c->name = row->name;
    c->types = type_bits(row->annotation_types);
    c->sub_types = sub_bits(row->sub_types);
    c->properties_json = row->properties;
    if (row->skeleton) {
        json_t *sk = json_loads(row->skeleton, 0, NULL), *nodes = json_object_get(sk, "nodes"), *v;
        size_t i, n = json_array_size(nodes);
        const char **names = lp_arena_calloc(req->arena, n ? n : 1, sizeof *names);
        if (!names) {
            json_decref(sk);
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        }
        json_array_foreach(nodes, i, v)
            names[i] = lp_arena_strdup(req->arena, json_string_value(json_object_get(v, "name")));
        json_decref(sk);
        c->skeleton_nodes = names;
        c->nskeleton_nodes = n;
    }
    return 0;
}

/* Builds a JSON array text of ids (UUIDs or annotation ids: nothing in
 * them needs escaping). */
static const char *ids_json(lp_req *req, const char *const *ids, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(ids[i]) + 3;
    char *out = lp_arena_alloc(req->arena, len), *o = out;
    if (!out)
        return NULL;
    *o++ = '[';
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(ids[i]);
        if (i)
            *o++ = ',';
        *o++ = '"';
        memcpy(o, ids[i], k);
        o += k;
        *o++ = '"';
    }
    *o++ = ']';
    *o = '\0';
    return out;
}

/* The ids that updates and deletes name (b->nupdate + b->ndel of them, the
 * updates first) into *refs, and as a JSON array into *json. 0 or -1. */
static int ref_ids(lp_req *req, const batch *b, const char ***refs, const char **json)
{
    size_t n = b->nupdate + b->ndel;
    const char **ids = lp_arena_calloc(req->arena, n ? n : 1, sizeof *ids);
    if (!ids)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ids[i] = i < b->nupdate ? b->update[i].id : b->del[i - b->nupdate];
    *refs = ids;
    *json = ids_json(req, ids, n);
    return *json ? 0 : lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
}

/* The ids of creates are new on the item: 409 naming each id taken and the
 * item (ids are unique per item; another item may hold the same id). */
static int check_new_ids(lp_req *req, lp_db *db, const char *item_id, const batch *b)
{
    const char **ids = lp_arena_calloc(req->arena, b->ncreate ? b->ncreate : 1, sizeof *ids), *json;
    char **found;
    size_t nfound;
    if (!b->ncreate)
        return 0;
    if (!ids)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < b->ncreate; i++)
        ids[i] = b->create[i].id;
    if (!(json = ids_json(req, ids, b->ncreate)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    if (lp_db_ann_existing(db, req->arena, item_id, json, &found, &nfound, &req->err) != 0)
        return -1;
    if (!nfound)
        return 0;
    qsort(found, nfound, sizeof *found, cmp_str);
    const char *first = NULL;
    for (size_t i = 0; i < b->ncreate; i++) {
        if (!bsearch(&ids[i], found, nfound, sizeof *found, cmp_str))
            continue;
        char field[48];
        snprintf(field, sizeof field, "create[%zu].id", i);
        lp_error_field(&req->err, LP_E_CONFLICT, field, "item %s already has annotation %s", item_id, ids[i]);
        if (!first)
            first = ids[i];
    }
    lp_error_set(&req->err, LP_E_CONFLICT, "item %s already has annotation %s%s; nothing was saved", item_id,
                 first, nfound > 1 ? " and others (see errors)" : "");
    lp_error_hint(&req->err, "send it as an update to replace it, or delete it first");
    return -1;
}

static int check_against_db(lp_req *req, lp_db *db, const char *item_id, batch *b, lp_slot_row **slots_out,
                            size_t *nslots_out)
{
    lp_slot_row *slots;
    size_t nslots, nclasses;
    lp_class_row *classes;
    size_t nann = b->ncreate + b->nupdate;

    if (lp_db_ann_slots(db, req->arena, item_id, &slots, &nslots, &req->err) != 0)
        return -1;
    *slots_out = slots;
    *nslots_out = nslots;
    /* the distinct classes named, by id or (Darwin) by name */
    const char **cids = lp_arena_calloc(req->arena, nann ? nann : 1, sizeof *cids);
    json_t *names = json_array();
    char *nj = NULL;
    size_t ncids = 0;
    if (!cids || !names) {
        json_decref(names);
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nann; i++) {
        const lp_ann *an = batch_ann(b, i);
        if (an->class_id)
            cids[ncids++] = an->class_id;
        else if (an->class_name)
            json_array_append_new(names, json_string(an->class_name));
    }
    qsort(cids, ncids, sizeof *cids, cmp_str);
    size_t ndistinct = 0;
    for (size_t i = 0; i < ncids; i++)
        if (!ndistinct || strcmp(cids[i], cids[ndistinct - 1]) != 0)
            cids[ndistinct++] = cids[i];
    const char *cj = ids_json(req, cids, ndistinct);
    nj = json_dumps(names, JSON_COMPACT);
    json_decref(names);
    int qrc = cj && nj ? lp_db_classes_for_annotations(db, req->arena, req->who.team_id, cj, nj, b->has_props,
                                                       &classes, &nclasses, &req->err)
                       : lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    free(nj);
    if (qrc != 0)
        return -1;
    lp_ann_class *cc = lp_arena_calloc(req->arena, nclasses ? nclasses : 1, sizeof *cc);
    const char **class_props = lp_arena_calloc(req->arena, nclasses ? nclasses : 1, sizeof *class_props);
    if (!cc || !class_props)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nclasses; i++) {
        if (to_check_class(req, &classes[i], &cc[i]) != 0)
            return -1;
        class_props[i] = classes[i].properties;
    }
    if (b->has_props && lp_ann_check_item_properties(&b->props, class_props, nclasses, &req->err) != 0)
        lp_error_set(&req->err, LP_E_INVALID, BATCH_INVALID);
    /* each annotation against its class and slot; one raster layer per slot
     * among the new shapes (counted per slot as they go by) */
    unsigned char *rasters = lp_arena_calloc(req->arena, nslots ? nslots : 1, 1);
    if (!rasters)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nann; i++) {
        lp_ann *an = batch_ann(b, i);
        const lp_ann_class *cls = NULL;
        lp_ann_slot slot, *sp = NULL;
        for (size_t k = 0; k < nclasses && !cls; k++)
            if (an->class_id ? strcmp(cc[k].id, an->class_id) == 0 : strcmp(cc[k].name, an->class_name) == 0)
                cls = &cc[k];
        if (cls && !an->class_id)
            an->class_id = cls->id;
        if (!an->slot && nslots > 0) /* the item's first slot, as the reference client does */
            an->slot = slots[0].name;
        for (size_t k = 0; an->slot && k < nslots; k++) {
            if (strcmp(slots[k].name, an->slot) == 0) {
                slot.name = slots[k].name;
                slot.video = strcmp(slots[k].type, "image") != 0;
                slot.frame_count = slots[k].frame_count > 0 ? slots[k].frame_count : 0; /* -1: unknown */
                sp = &slot;
                if (an->type == LP_ANN_RASTER_LAYER && rasters[k])
                    lp_error_field(&req->err, LP_E_INVALID, list_name(b, i),
                                   "slot \"%.100s\" gets two raster layers; a slot has one", an->slot);
                if (an->type == LP_ANN_RASTER_LAYER)
                    rasters[k] = 1;
            }
        }
        size_t mark = req->err.nfields;
        lp_code before = req->err.code;
        if (lp_ann_check(an, cls, sp, req->arena, &req->err) != 0)
            anchor_batch_errors(req, mark, before, list_name(b, i), i < b->ncreate ? i : i - b->ncreate);
    }
    if (req->err.code != LP_OK) {
        lp_error_set(&req->err, LP_E_INVALID, BATCH_INVALID);
        return -1;
    }
    if (check_new_ids(req, db, item_id, b) != 0)
        return -1;
    /* updates and deletes name annotations of this item */
    size_t nref = b->nupdate + b->ndel, nfound;
    const char **refs, *rj;
    char **found;
    if (!nref)
        return 0;
    if (ref_ids(req, b, &refs, &rj) != 0 ||
        lp_db_ann_existing(db, req->arena, item_id, rj, &found, &nfound, &req->err) != 0)
        return -1;
    qsort(found, nfound, sizeof *found, cmp_str);
    for (size_t i = 0; i < nref; i++) {
        if (bsearch(&refs[i], found, nfound, sizeof *found, cmp_str))
            continue;
        char field[48];
        if (i < b->nupdate)
            snprintf(field, sizeof field, "update[%zu].id", i);
        else
            snprintf(field, sizeof field, "delete[%zu]", i - b->nupdate);
        lp_error_field(&req->err, LP_E_INVALID, field, "item %s has no annotation %s", item_id, refs[i]);
    }
    if (req->err.code != LP_OK)
        lp_error_set(&req->err, LP_E_INVALID, "the batch names annotations this item does not have; nothing was "
                                              "saved");
    return req->err.code == LP_OK ? 0 : -1;
}

/* ---- writing ----------------------------------------------------------------------- */

static int cmp_kept(const void *a, const void *b)
{
    return strcmp(((const lp_db_ann_kept *)a)->id, ((const lp_db_ann_kept *)b)->id);
}

static int write_batch(lp_req *req, lp_db *db, const char *item_id, batch *b, lp_buf *blobs)
{
    size_t nann = b->ncreate + b->nupdate, nframes = 0;
    lp_db_ann_kept *kept = NULL;
    int64_t nkept = 0;
    lp_ann_row *rows;
    lp_ann_frame_row *frames;

    /* replaced and deleted rows go first (their frames with them) */
    if (b->nupdate + b->ndel) {
        const char **refs, *rj;
        if (ref_ids(req, b, &refs, &rj) != 0 ||
            (nkept = lp_db_ann_delete(db, req->arena, item_id, rj, &kept, &req->err)) < 0)
            return -1;
        qsort(kept, (size_t)nkept, sizeof *kept, cmp_kept);
    }
    const lp_ann **anns = lp_arena_calloc(req->arena, nann ? nann : 1, sizeof *anns);
    lp_db_ann_origin *origins = lp_arena_calloc(req->arena, nann ? nann : 1, sizeof *origins);
    if (!anns || !origins)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nann; i++)
        anns[i] = batch_ann(b, i);
    if (lp_ann_store(anns, nann, req->arena, blobs, &rows, &frames, &nframes, &req->err) != 0)
        return -1;
    /* an update keeps who made the annotation and when, and counts up its version */
    for (size_t i = b->ncreate; i < nann; i++) {
        lp_db_ann_kept key, *k;
        lp_strlcpy(key.id, rows[i].id, sizeof key.id);
        if ((k = bsearch(&key, kept, (size_t)nkept, sizeof *kept, cmp_kept))) {
            rows[i].version = k->version + 1;
            origins[i].created_by = k->created_by;
            origins[i].created_at = k->created_at;
        }
    }
    if (lp_db_ann_insert(db, req->who.team_id, item_id, req->who.user_id[0] ? req->who.user_id : NULL, rows, origins,
                         nann, &req->err) != 0)
        return -1;
    if (lp_db_ann_frames_insert(db, item_id, frames, nframes, &req->err) != 0)
        return -1;
    if (!b->has_props)
        return 0;
    char *props = lp_arena_strndup(req->arena, b->props.data, b->props.data_len);
    return props ? lp_db_ann_item_properties_set(db, item_id, props, &req->err)
                 : lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
}

/* After a write: bumps the item's annotation version into *version and computes again, in the
 * same transaction, what model runs' disagreements with it the write made stale. */
static int commit_item(lp_req *req, lp_db *db, const char *item_id, int64_t *version)
{
    const char *ids = lp_arena_printf(req->arena, "[\"%s\"]", item_id);
    if (lp_db_ann_item_commit(db, item_id, version, &req->err) != 0)
        return -1;
    if (!ids)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    return lp_disagreement_refresh_items(db, req->svc->cfg, req->who.team_id, ids, &req->err) < 0 ? -1 : 0;
}

/* ---- shared with consensus work (annotations_int.h) ------------------------------- */

int lp_api_ann_read_list(lp_req *req, lp_jscan *s, const char *name, lp_ann **out, size_t *n)
{
    lp_ann_limits lim;
    size_t total = 0;
    lim_from_cfg(req->svc->cfg, &lim);
    ann_list l = {name, &lim, LP_ANN_CREATE, out, n, 0};
    *out = NULL;
    *n = 0;
    if (read_list(req, s, name, "an array of annotations", &total, read_ann_elem, &l) != 0)
        return -1;
    if (req->err.code == LP_E_INVALID)
        lp_error_set(&req->err, LP_E_INVALID, BATCH_INVALID);
    return req->err.code == LP_OK ? 0 : -1;
}

int lp_api_ann_check(lp_req *req, lp_db *db, const char *item_id, lp_ann *anns, size_t n, const char *name)
{
    batch b = {.create = anns, .ncreate = n, .create_name = name};
    lp_slot_row *slots;
    size_t nslots;
    return check_ids(req, item_id, &b) != 0 || check_against_db(req, db, item_id, &b, &slots, &nslots) != 0 ? -1 : 0;
}

/* Writes anns as new rows of the item, deleting its old ones first when replace is set. */
static int add_all(lp_req *req, lp_db *db, const char *item_id, const lp_ann *anns, size_t n, int replace,
                   const char ***ids_out)
{
    batch b = {.ncreate = n};
    lp_slot_row *slots;
    size_t nslots, nids = 0;
    char **ids = NULL;
    int64_t version;
    lp_buf blobs;
    int rc = -1;

    if (lp_db_ann_item_lock(db, req->who.team_id, item_id, &version, &req->err) != 0 ||
        (replace && lp_db_ann_existing(db, req->arena, item_id, NULL, &ids, &nids, &req->err) != 0))
        return -1;
    if (!(b.create = lp_arena_calloc(req->arena, n ? n : 1, sizeof *b.create)))
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        b.create[i] = anns[i];
        b.create[i].id = NULL; /* new rows: the item's old ones go */
    }
    b.del = (const char **)ids;
    b.ndel = nids;
    lp_buf_init(&blobs, (size_t)req->svc->cfg->http_bulk_body_limit * 2);
    if (check_ids(req, item_id, &b) == 0 && check_against_db(req, db, item_id, &b, &slots, &nslots) == 0 &&
        write_batch(req, db, item_id, &b, &blobs) == 0 && commit_item(req, db, item_id, &version) == 0)
        rc = 0;
    lp_buf_free(&blobs);
    if (rc == 0 && ids_out) {
        const char **out = lp_arena_calloc(req->arena, n ? n : 1, sizeof *out);
        if (!out)
            return lp_error_set(&req->err, LP_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            out[i] = b.create[i].id;
        *ids_out = out;
    }
    return rc;
}

int lp_api_ann_replace(lp_req *req, lp_db *db, const char *item_id, const lp_ann *anns, size_t n)
{
    return add_all(req, db, item_id, anns, n, 1, NULL);
}

int lp_api_ann_append(lp_req *req, lp_db *db, const char *item_id, const lp_ann *anns, size_t n, const char ***ids)
{
    return add_all(req, db, item_id, anns, n, 0, ids);
}

/* ---- the batch route ------------------------------------------------------------------ */

static int put_id_list(lp_buf *o, const char *name, const lp_ann *anns, size_t n, const char *const *ids)
{
    if (lp_buf_printf(o, ",\"%s\":[", name) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (lp_buf_printf(o, "%s\"%s\"", i ? "," : "", anns ? anns[i].id : ids[i]) != 0)
            return -1;
    return lp_buf_puts(o, "]");
}

/* 0 when the key is acceptable (or absent). */
static int read_idempotency_key(lp_req *req, const char **key)
{
    const char *k = lp_req_header(req, "Idempotency-Key");
    *key = NULL;
    if (!k)
        return 0;
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return lp_error_field(&req->err, LP_E_MALFORMED, "Idempotency-Key", "must be 1 to 255 characters");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
            return lp_error_field(&req->err, LP_E_MALFORMED, "Idempotency-Key",
                                  "must be printable ASCII without spaces");
    *key = k;
    return 0;
}

/* After the item's lock: checks the batch against the item, its slots and
 * classes, writes it, bumps the item's version into *version, renders the
 * answer {"version", "created", "updated", "deleted"} into resp and audits
 * it. 0 or -1 with req->err. */
static int apply_batch(lp_req *req, lp_db *db, const char *item_id, batch *b, lp_buf *blobs, lp_buf *resp,
                       int64_t *version)
{
    lp_slot_row *slots = NULL;
    size_t nslots = 0;
    if (check_against_db(req, db, item_id, b, &slots, &nslots) != 0 || write_batch(req, db, item_id, b, blobs) != 0 ||
        commit_item(req, db, item_id, version) != 0)
        return -1;
    if (lp_buf_printf(resp, "{\"version\":%lld", (long long)*version) != 0 ||
        put_id_list(resp, "created", b->create, b->ncreate, NULL) != 0 ||
        put_id_list(resp, "updated", b->update, b->nupdate, NULL) != 0 ||
        put_id_list(resp, "deleted", NULL, b->ndel, b->del) != 0 || lp_buf_puts(resp, "}") != 0)
        return lp_error_set(&req->err, LP_E_NOMEM, "out of memory writing the answer");
    return lp_db_audit(db, req->who.team_id, req->who.user_id[0] ? req->who.user_id : NULL, "annotations.batch", "item",
                       item_id, resp->data, &req->err);
}

int lp_api_annotations_import(lp_req *req, lp_db *db, const char *item_id, lp_buf *resp)
{
    lp_ann_limits lim;
    batch b;
    lp_buf blobs;
    int64_t version = 0;
    int rc;

    memset(&b, 0, sizeof b);
    lim_from_cfg(req->svc->cfg, &lim);
    if (read_batch(req, &lim, &b) != 0 || check_ids(req, item_id, &b) != 0)
        return -1;
    lp_buf_init(&blobs, (size_t)req->svc->cfg->http_bulk_body_limit * 2);
    rc = lp_db_ann_item_lock(db, req->who.team_id, item_id, &version, &req->err) == 0 &&
                 apply_batch(req, db, item_id, &b, &blobs, resp, &version) == 0
             ? 0
             : -1;
    lp_buf_free(&blobs);
    return rc;
}

int lp_api_annotations_batch(lp_req *req)
{
    const char *item_id = lp_identity_uuid_param(req, "id", "item"), *idem_key = NULL;
    const char *if_match = lp_req_header(req, "If-Match");
    char hash[LP_SHA256_HEX_LEN + 1] = "";
    lp_ann_limits lim;
    batch b;
    lp_buf blobs, resp;
    int64_t version = 0;
    lp_db *db = NULL;
    int rc = -1;

    memset(&b, 0, sizeof b);
    if (!item_id || read_idempotency_key(req, &idem_key) != 0)
        return -1;
    lim_from_cfg(req->svc->cfg, &lim);
    if (read_batch(req, &lim, &b) != 0 || check_ids(req, item_id, &b) != 0)
        return -1;
    if (idem_key) {
        lp_sha256_ctx *h = lp_sha256_new();
        uint8_t digest[LP_SHA256_LEN];
        if (!h || lp_sha256_update(h, item_id, 36) != 0 || lp_sha256_update(h, req->body, req->body_len) != 0 ||
            lp_sha256_final(h, digest, hash) != 0) {
            lp_sha256_free(h);
            return lp_error_set(&req->err, LP_E_INTERNAL, "could not hash the request");
        }
        lp_sha256_free(h);
    }
    lp_buf_init(&blobs, (size_t)req->svc->cfg->http_bulk_body_limit * 2);
    lp_buf_init(&resp, (size_t)req->svc->cfg->http_bulk_body_limit);
    if (!(db = lp_req_db(req)))
        goto done;
    if (lp_db_begin(db, &req->err) != 0 || lp_db_ann_item_lock(db, req->who.team_id, item_id, &version, &req->err) != 0)
        goto done;
    if (idem_key) {
        lp_db_idem prior;
        if (lp_db_idem_claim(db, req->arena, req->who.team_id, idem_key, hash, &prior, &req->err) != 0)
            goto done;
        if (prior.status) {
            lp_db_rollback(db);
            if (strcmp(prior.request_hash, hash) != 0) {
                lp_error_set(&req->err, LP_E_INVALID, "Idempotency-Key \"%.100s\" was used within the last 24 hours "
                                                      "for a different request", idem_key);
                lp_error_hint(&req->err, "use a new key for a new request");
                goto done;
            }
            if (prior.etag)
                lp_res_header(req, "ETag", prior.etag);
            lp_res_header(req, "Idempotent-Replayed", "true");
            rc = lp_res_bytes(req, prior.status, "application/json", prior.response, strlen(prior.response));
            goto done;
        }
    }
    char tag[32];
    if (if_match && !lp_req_etag_match(req, "If-Match", etag_of(version, tag))) {
        lp_db_rollback(db);
        etag_header(req, version);
        lp_error_set(&req->err, LP_E_PRECONDITION, "the annotations of item %s changed since you read them",
                     item_id);
        lp_error_detail(&req->err, "the current version is %lld", (long long)version);
        lp_error_hint(&req->err, "read them again (GET …/annotations), merge, and retry with If-Match: \"%lld\"",
                      (long long)version);
        goto done;
    }
    if (apply_batch(req, db, item_id, &b, &blobs, &resp, &version) != 0)
        goto done;
    /* work on the item keeps its holder's claim on the item's task alive */
    if (req->who.user_id[0] &&
        lp_db_task_renew_claim(db, req->who.team_id, item_id, req->who.user_id, req->svc->cfg->task_claim_ttl,
                               &req->err) < 0)
        goto done;
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", (long long)version);
    if (idem_key && lp_db_idem_store(db, req->who.team_id, idem_key, 200, etag, resp.data, &req->err) != 0)
        goto done;
    if (lp_db_commit(db, &req->err) != 0)
        goto done;
    lp_res_header(req, "ETag", etag);
    rc = lp_res_bytes(req, 200, "application/json", resp.data, resp.len);
done:
    lp_req_db_release(req);
    lp_buf_free(&blobs);
    lp_buf_free(&resp);
    return rc;
}
