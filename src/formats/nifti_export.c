/* NIfTI label maps out: one labels/<path>/<stem>.nii.gz per item whose
 * exported slot is a volume — a NIfTI-1 file of unsigned 8-bit voxels, each
 * the class index + 1 of the last annotation covering it (0: background),
 * on the volume's own grid:
 *   source  (the default) the voxel order and affine of the file as
 *           uploaded (the slot's original_affine), voxel for voxel over it;
 *   ras     the normalized RAS+ grid Loupe serves (the slot's affine).
 * class_mapping.csv names the labels as the semantic mask export does.
 *
 * Annotations on a volume slot live on axial slices (frame = k, the
 * primary plane; loupe/volume/slice.h): pixel (x, y) of axial slice k is
 * voxel (x, ny - 1 - y, k) of the RAS+ grid. Each slice is drawn as the
 * semantic mask export draws an image (fmt_draw): polygons, boxes, rotated
 * boxes and ellipses at that slice as the server computes them (lp_geom_track_at, so
 * interpolated slices are filled too), masks through the raster layer's
 * frame of that slice. docs/FORMATS.md (NIfTI). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export_int.h"
#include "loupe/volume/meta.h"
#include "loupe/volume/orient.h"
#include "loupe/volume/volume.h"

static const char *const VARIANTS[] = {"source", "ras", NULL};

#define GZ_CHUNK (64u * 1024u)

static int nifti_begin(lp_fmt_writer *w, lp_error *err)
{
    if (w->classes->n > 255)
        return lp_error_field(err, LP_E_INVALID, "format",
                              "NIfTI label maps hold at most 255 classes; the team has %zu", w->classes->n);
    return 0;
}

/* The archive name: "labels/<path>/<stem>.nii.gz", the item's name without
 * ".nii.gz", ".nii" or its last extension (new in a). */
static char *label_name(lp_arena *a, const lp_fmt_item *it)
{
    lp_fmt_item x = *it;
    size_t n = strlen(it->name);
    if (n > 7 && strcmp(it->name + n - 7, ".nii.gz") == 0 &&
        !(x.name = lp_arena_strndup(a, it->name, n - 3))) /* "a.nii.gz" -> "a.nii": the extension goes below */
        return NULL;
    return fmt_file_name(a, "labels", &x, ".nii.gz");
}

/* The grid of the item's volume slot into v (dim, affine, original_affine,
 * pixdim). 0, or 1 when the slot has none (not processed yet). */
static int slot_grid(const lp_fmt_item *it, lp_volume *v)
{
    if (strcmp(it->slot_type, "volume") != 0 || !it->metadata)
        return 1;
    json_t *doc = json_loads(it->metadata, 0, NULL);
    int rc = lp_volume_metadata_grid(json_object_get(doc, "media"), v) == 0 ? 0 : 1;
    json_decref(doc);
    return rc;
}

/* Streams the label map (header, then voxels as bytes) gzip-compressed into
 * the open file. 0 or -1. */
static int write_gz(lp_fmt_writer *w, const lp_volume *lab, lp_error *err)
{
    unsigned char head[LP_VOLUME_LABELS_OFFSET];
    if (lp_volume_labels_header(lab, head, err) != 0)
        return -1;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    unsigned char *out = malloc(GZ_CHUNK), *in = malloc(GZ_CHUNK);
    if (!out || !in || deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        free(in);
        return lp_error_set(err, LP_E_NOMEM, "out of memory compressing a label map");
    }
    const int16_t *vox = lab->voxels;
    size_t n = (size_t)lp_volume_count(lab), done = 0;
    int rc = 0, zr = Z_OK;
    bool header = true;
    while (rc == 0 && zr != Z_STREAM_END) {
        size_t len = 0;
        if (header) {
            memcpy(in, head, sizeof head);
            len = sizeof head;
            header = false;
        } else {
            for (; len < GZ_CHUNK && done < n; len++, done++)
                in[len] = (unsigned char)vox[done];
        }
        int flush = !header && done == n ? Z_FINISH : Z_NO_FLUSH;
        zs.next_in = in;
        zs.avail_in = (uInt)len;
        do {
            zs.next_out = out;
            zs.avail_out = GZ_CHUNK;
            zr = deflate(&zs, flush);
            size_t made = GZ_CHUNK - zs.avail_out;
            if (zr == Z_STREAM_ERROR)
                rc = lp_error_set(err, LP_E_INTERNAL, "deflate failed writing a label map");
            else if (made && (lp_buf_append(&w->buf, out, made) != 0 ? fmt_nomem(w, err) : fmt_flush(w, false, err)))
                rc = -1;
        } while (rc == 0 && zs.avail_out == 0);
    }
    deflateEnd(&zs);
    free(out);
    free(in);
    return rc;
}

/* What an annotation of the item gives the label map. */
typedef struct drawn {
    lp_geom_track t;
    bool track;                    /* a shape computed per slice */
    bool mask;                     /* pixels from the raster layer */
    bool any;                      /* drawn on some slice */
} drawn;

static int nifti_item(lp_fmt_writer *w, const lp_fmt_item *it, const lp_fmt_batch *b, lp_arena *a, lp_error *err)
{
    lp_volume grid;
    memset(&grid, 0, sizeof grid);
    if (slot_grid(it, &grid) != 0)
        return fmt_skip_item(w, b);
    int64_t nx = grid.dim[0], ny = grid.dim[1], nz = grid.dim[2];
    uint32_t W = (uint32_t)nx, H = (uint32_t)ny;
    drawn *d = lp_arena_calloc(a, b->n + 1, sizeof *d);
    uint8_t *slice = lp_arena_alloc(a, (size_t)W * H);
    char *name = label_name(a, it);
    const lp_fmt_ann *layer = NULL;
    if (!d || !slice || !name)
        return lp_error_set(err, LP_E_NOMEM, "out of memory exporting the label map of item %s", it->id);
    for (size_t i = 0; i < b->n; i++) {
        const lp_fmt_ann *ann = &b->v[i];
        if (ann->row.type == LP_ANN_RASTER_LAYER) {
            if (!layer && ann->row.video)
                layer = ann;
            continue;
        }
        if (!ann->row.video || !ann->cls)
            continue; /* dropped below: a volume's shapes lie on slices */
        if (ann->row.type == LP_GEOM_MASK) {
            d[i].mask = true;
            continue;
        }
        int rc = fmt_ann_track(ann, a, &d[i].t, err);
        if (rc < 0)
            return -1;
        d[i].track = rc == 0;
    }
    lp_volume *lab = lp_volume_new(grid.dim, LP_VOLUME_I16, err);
    if (!lab)
        return -1;
    memcpy(lab->affine, grid.affine, sizeof grid.affine);
    memcpy(lab->original_affine, grid.original_affine, sizeof grid.original_affine);
    memcpy(lab->pixdim, grid.pixdim, sizeof grid.pixdim);
    if (!w->frame && !(w->frame = lp_arena_new(0, 0))) {
        lp_volume_free(lab);
        return lp_error_set(err, LP_E_NOMEM, "out of memory exporting the label map of item %s", it->id);
    }
    int rc = 0;
    size_t lf = 0; /* the raster layer's next frame */
    int16_t *vox = lab->voxels;
    for (int64_t k = 0; rc == 0 && k < nz; k++) {
        lp_arena *fa = w->frame;
        fmt_raster r;
        memset(&r, 0, sizeof r);
        lp_arena_reset(fa);
        memset(slice, 0, (size_t)W * H);
        while (layer && lf < layer->nframes && layer->frames[lf].frame < k)
            lf++;
        if (layer && lf < layer->nframes && layer->frames[lf].frame == k &&
            layer->frames[lf].geom.type == LP_ANN_RASTER_LAYER) {
            const char *what = lp_arena_printf(fa, "item %s: slice %lld", it->id, (long long)k);
            rc = what ? fmt_raster_decode(&layer->frames[lf].geom, W, H, what, fa, &r, err)
                      : lp_error_set(err, LP_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; rc == 0 && i < b->n; i++) {
            if (!d[i].track && !d[i].mask)
                continue;
            lp_fmt_ann x = b->v[i];
            if (d[i].track) {
                lp_geom_frame_kind kind;
                if ((rc = lp_geom_track_at(&d[i].t, k, fa, &x.geom.shape, &kind, err)) != 0)
                    break;
                if (kind == LP_GEOM_FRAME_ABSENT)
                    continue;
                x.geom.type = x.geom.shape.type;
            } else {
                x.geom.type = LP_GEOM_MASK;
            }
            int drew = fmt_draw(&x, &r, slice, W, H, (uint8_t)(x.cls->index + 1), fa, err);
            if (drew < 0)
                rc = -1;
            else if (drew == 0)
                d[i].any = true;
        }
        for (uint32_t y = 0; rc == 0 && y < H; y++) { /* axial row y is j = ny - 1 - y */
            const uint8_t *row = slice + (size_t)y * W;
            int16_t *dst = vox + (size_t)nx * ((size_t)(ny - 1 - y) + (size_t)ny * (size_t)k);
            for (uint32_t x = 0; x < W; x++)
                dst[x] = row[x];
        }
    }
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        int t = b->v[i].row.type;
        if (t == LP_ANN_RASTER_LAYER)
            continue;
        if (!d[i].any)
            FMT_DROPPED(w, t);
        else if (t == LP_GEOM_POLYGON || t == LP_GEOM_MASK)
            FMT_WRITTEN(w, t);
        else
            FMT_CONVERTED(w, t);
    }
    if (rc == 0 && strcmp(w->opt.variant, "source") == 0)
        rc = lp_volume_from_ras(lab, err);
    if (rc == 0 && (fmt_open(w, name, false, err) != 0 || write_gz(w, lab, err) != 0))
        rc = -1;
    lp_volume_free(lab);
    if (rc == 0)
        w->stats.items++;
    return rc;
}

static int nifti_end(lp_fmt_writer *w, lp_error *err) { return fmt_class_mapping(w, err); }

const lp_fmt_ops lp_fmt_nifti_ops = {"nifti", VARIANTS, nifti_begin, nifti_item, nifti_end, NULL, false};
