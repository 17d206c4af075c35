/* Video items in the per-image formats (COCO, VOC, YOLO, masks): with the
 * export option "frames", each chosen frame of a video becomes an image item
 * of its own, "<path>/<name>/frame_NNNNNN.jpg", whose annotations are the
 * shapes at that frame as the server computes them — lp_geom_track_at, the
 * computation behind the frame stream ?frames=a..b — so the formats
 * themselves know nothing of videos; each frame written is told to
 * lp_fmt_options.frame (the export puts its image in the archive). See
 * docs/FORMATS.md (Video). */
#include <stdlib.h>
#include <string.h>

#include "export_int.h"
#include "loupe/geometry/track.h"

int fmt_ann_track(const lp_fmt_ann *ann, lp_arena *a, lp_geom_track *t, lp_error *err)
{
    lp_geom_keyframe *kf = lp_arena_alloc(a, (ann->nframes + 1) * sizeof *kf);
    size_t nk = 0;
    if (!kf)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading the keyframes of annotation %s", ann->row.id);
    for (size_t i = 0; i < ann->nframes; i++)
        if (ann->frames[i].keyframe && ann->frames[i].geom.type >= 0 && ann->frames[i].geom.type < LP_GEOM_TYPE_COUNT)
            kf[nk++] = (lp_geom_keyframe){ann->frames[i].frame, ann->frames[i].geom.shape};
    *t = (lp_geom_track){kf,          nk, ann->row.ranges, ann->row.nranges, ann->row.hidden, ann->row.nhidden,
                         ann->row.interpolated};
    return nk ? 0 : 1;
}

/* A video annotation and its track. */
typedef struct vtrack {
    const lp_fmt_ann *ann;
    lp_geom_track t;
} vtrack;

static int by_frame(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* The frames below end where some track has a keyframe, ascending and
 * each once (new in a). */
static int64_t *keyframe_list(const vtrack *v, size_t nv, int64_t end, lp_arena *a, size_t *n, lp_error *err)
{
    size_t cap = 1, k = 0;
    for (size_t i = 0; i < nv; i++)
        cap += v[i].t.nkeyframes;
    int64_t *f = lp_arena_alloc(a, cap * sizeof *f);
    if (!f) {
        lp_error_set(err, LP_E_NOMEM, "out of memory listing the keyframes of a video to export");
        return NULL;
    }
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < v[i].t.nkeyframes; j++)
            if (v[i].t.keyframes[j].frame >= 0 && v[i].t.keyframes[j].frame < end)
                f[k++] = v[i].t.keyframes[j].frame;
    qsort(f, k, sizeof *f, by_frame);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || f[u - 1] != f[i])
            f[u++] = f[i];
    *n = u;
    return f;
}

/* The item of frame f: "frame_NNNNNN.jpg" in the folder "<path>/<name>". */
static int frame_item(const lp_fmt_item *it, int64_t f, lp_arena *a, lp_fmt_item *out, lp_error *err)
{
    const char *path = it->path ? it->path : "/";
    *out = *it;
    out->path = lp_arena_printf(a, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", it->name);
    out->name = lp_arena_printf(a, "frame_%06lld.jpg", (long long)f);
    out->slot_type = "image";
    out->frame_count = -1;
    out->fps = -1;
    return out->path && out->name ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory naming a video frame");
}

/* Frame f as a batch (new in fa): the tracks present there with their
 * shapes, and the item's annotations without frames as they are. */
static int frame_batch(const vtrack *v, size_t nv, const lp_fmt_batch *b, int64_t f, lp_arena *fa,
                       lp_fmt_batch *out, lp_error *err)
{
    *out = (lp_fmt_batch){.arena = fa, .classes = b->classes};
    if (!(out->v = lp_arena_alloc(fa, (nv + b->n + 1) * sizeof *out->v)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory computing frame %lld", (long long)f);
    for (size_t i = 0; i < b->n; i++)
        if (!b->v[i].row.video)
            out->v[out->n++] = b->v[i];
    for (size_t i = 0; i < nv; i++) {
        lp_geom_shape s;
        lp_geom_frame_kind kind;
        if (lp_geom_track_at(&v[i].t, f, fa, &s, &kind, err) != 0)
            return -1;
        if (kind == LP_GEOM_FRAME_ABSENT)
            continue;
        lp_fmt_ann *x = &out->v[out->n++];
        *x = *v[i].ann;
        memset(&x->geom, 0, sizeof x->geom);
        x->geom.type = s.type;
        x->geom.shape = s;
        x->row.video = false;
        x->row.ranges = x->row.hidden = NULL;
        x->row.nranges = x->row.nhidden = 0;
        x->frames = NULL;
        x->nframes = x->cap_frames = 0;
    }
    return 0;
}

int fmt_video_frames(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err)
{
    if (it->width <= 0 || it->height <= 0)
        return fmt_skip_item(w, b);
    vtrack *v = lp_arena_alloc(a, (b->n + 1) * sizeof *v);
    size_t nv = 0, nf = 0;
    int64_t end = it->frame_count > 0 ? it->frame_count : 0;
    if (!v)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading the tracks of item %s", it->id);
    for (size_t i = 0; i < b->n; i++) {
        const lp_fmt_ann *ann = &b->v[i];
        if (!ann->row.video)
            continue;
        int rc = ann->row.type == LP_ANN_RASTER_LAYER || ann->row.type == LP_GEOM_MASK
                     ? 1
                     : fmt_ann_track(ann, a, &v[nv].t, err);
        if (rc < 0)
            return -1;
        if (rc > 0) { /* no shape to compute: a mask, a tag, a text */
            if (ann->row.type != LP_ANN_RASTER_LAYER)
                FMT_DROPPED(w, ann->row.type);
            continue;
        }
        v[nv++].ann = ann;
        if (it->frame_count <= 0)
            for (size_t r = 0; r < ann->row.nranges; r++)
                end = ann->row.ranges[r].end > end ? ann->row.ranges[r].end : end;
    }
    int64_t *keys = NULL;
    if (w->opt.frames == LP_FMT_FRAMES_KEYFRAMES) {
        if (!(keys = keyframe_list(v, nv, end, a, &nf, err)))
            return -1;
    } else {
        nf = (size_t)end;
    }
    if (!w->frame && !(w->frame = lp_arena_new(0, 0)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory writing the frames of item %s", it->id);
    for (size_t i = 0; i < nf; i++) {
        int64_t f = keys ? keys[i] : (int64_t)i;
        lp_fmt_item fi;
        lp_fmt_batch fb;
        lp_arena_reset(w->frame);
        if (frame_batch(v, nv, b, f, w->frame, &fb, err) != 0)
            return -1;
        if (w->opt.frames == LP_FMT_FRAMES_ANNOTATED && fb.n == 0)
            continue;
        if (frame_item(it, f, w->frame, &fi, err) != 0 || w->ops->item(w, &fi, &fb, w->frame, err) != 0 ||
            fmt_flush(w, false, err) != 0 || (w->opt.frame && w->opt.frame(w->opt.frame_ud, it, f, &fi, err) != 0))
            return -1;
    }
    return 0;
}
