/* NIfTI label maps in: class_mapping.csv (index, class, colour — as the
 * semantic mask reader reads it), then one item per .nii or .nii.gz file
 * (labels/<path>/<stem>.nii.gz as the NIfTI export writes them), a label
 * map whose voxel values are class indices (0: background).
 *
 * The file names the item only by its folder and stem, so the import is
 * asked for the item there with a volume slot (lp_imp_options.volume),
 * whose grid (shape, affine) the label map must have: it is read from
 * memory with our header check and nifticlib (limited to the slot's size
 * before anything is inflated), turned into RAS+ order like the volume
 * itself, and refused unless its shape matches and its affine maps every
 * voxel to the same place (within LABEL_AFFINE_TOLERANCE mm) — so a label
 * map written in the file's own order, or in RAS+, or by any tool that keeps
 * the affine, lands voxel for voxel.
 *
 * What it yields, on the volume slot, in axial slices (frame = k; pixel
 * (x, y) of slice k is RAS+ voxel (x, ny - 1 - y, k)):
 *   - one mask annotation per label present, framed on the slices where it
 *     has voxels (ranges: those runs of slices);
 *   - one raster layer ("__raster_layer__", as Darwin names it) with one
 *     frame per slice holding any label: that slice's dense RLE mapping
 *     each mask to its pixels — RLE per slice, exact.
 * The annotations are read by darwin.c's reader from the Darwin JSON they
 * are written as, so they are checked as the annotation API checks them.
 * docs/FORMATS.md (NIfTI). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "loupe/core/buf.h"
#include "loupe/core/util.h"
#include "loupe/formats/json_text.h"
#include "loupe/volume/meta.h"
#include "loupe/volume/orient.h"
#include "loupe/volume/volume.h"

/* How far (mm) a label map's affine may place a corner voxel from where the
 * volume's puts it: NIfTI keeps the affine in float32. */
#define LABEL_AFFINE_TOLERANCE 1e-3

typedef struct nifti_in {
    char *names[256];            /* by label; NULL where class_mapping.csv gives none */
} nifti_in;

static bool is_nifti(const char *name) { return imp_has_ext(name, ".nii") || imp_has_ext(name, ".nii.gz"); }

static lp_imp_role nifti_role(const lp_imp_reader *r, const char *name)
{
    (void)r;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (strcmp(base, "class_mapping.csv") == 0)
        return LP_IMP_ROLE_META;
    return is_nifti(name) ? LP_IMP_ROLE_ITEMS : LP_IMP_ROLE_SKIP;
}

static void nifti_free(lp_imp_reader *r)
{
    nifti_in *m = r->state;
    if (!m)
        return;
    for (int i = 0; i < 256; i++)
        free(m->names[i]);
    free(m);
}

/* The file name without folder and without ".nii.gz" / ".nii" (new in a). */
static const char *stem_of(lp_arena *a, const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base);
    n -= imp_has_ext(base, ".nii.gz") ? 7 : imp_has_ext(base, ".nii") ? 4 : 0;
    return lp_arena_strndup(a, base, n);
}

/* The largest distance between where the two affines put the eight corner
 * voxels of a grid of size dim. */
static double affine_distance(const double a[4][4], const double b[4][4], const int64_t dim[3])
{
    double worst = 0;
    for (int c = 0; c < 8; c++) {
        double idx[3] = {c & 1 ? (double)(dim[0] - 1) : 0, c & 2 ? (double)(dim[1] - 1) : 0,
                         c & 4 ? (double)(dim[2] - 1) : 0};
        double d2 = 0;
        for (int r = 0; r < 3; r++) {
            double pa = a[r][3], pb = b[r][3];
            for (int k = 0; k < 3; k++)
                pa += a[r][k] * idx[k], pb += b[r][k] * idx[k];
            d2 += (pa - pb) * (pa - pb);
        }
        if (!(d2 <= worst * worst))
            worst = isfinite(d2) ? sqrt(d2) : INFINITY;
    }
    return worst;
}

/* "[[a,b],…]": the runs of slices where on[k]. */
static int ranges_text(lp_buf *b, const bool *on, int64_t nz)
{
    bool first = true;
    int bad = lp_buf_puts(b, "[");
    for (int64_t k = 0; !bad && k < nz; k++) {
        if (!on[k] || (k > 0 && on[k - 1]))
            continue;
        int64_t e = k;
        while (e < nz && on[e])
            e++;
        bad = lp_buf_printf(b, "%s[%lld,%lld]", first ? "" : ",", (long long)k, (long long)e);
        first = false;
    }
    return bad || lp_buf_puts(b, "]");
}

/* The Darwin text's head: {"id":…,"name":…,"slot_names":[…],"frames":{ */
static int ann_head(lp_buf *b, const char *id, const char *cls, const char *slot)
{
    return lp_buf_printf(b, "{\"id\":\"%s\",\"name\":", id) || lp_json_write_string(b, cls, strlen(cls)) ||
           lp_buf_puts(b, ",\"slot_names\":[") || lp_json_write_string(b, slot, strlen(slot)) ||
           lp_buf_puts(b, "],\"frames\":{");
}

/* The label map's voxels checked and counted: every value a whole number in
 * 0..255 (else *bad is one that is not). counts[v] voxels of each value;
 * on[v * nz + k]: value v occurs on slice k. */
static bool labels_ok(const lp_volume *v, uint64_t counts[256], bool *on, double *bad)
{
    int64_t nx = v->dim[0], ny = v->dim[1], nz = v->dim[2];
    for (int64_t k = 0; k < nz; k++)
        for (int64_t j = 0; j < ny; j++)
            for (int64_t i = 0; i < nx; i++) {
                double x = lp_volume_at(v, i, j, k);
                if (!(x >= 0 && x <= 255 && x == floor(x))) {
                    *bad = x;
                    return false;
                }
                counts[(int)x]++;
                on[(size_t)x * (size_t)nz + (size_t)k] = true;
            }
    return true;
}

/* One label map: the item's grid found and checked, then its masks and
 * raster layer yielded. 0, or -1 to stop. */
static int label_map(lp_imp_reader *r, nifti_in *m, const char *file, const char *data, size_t len, lp_arena *a,
                     lp_error *err)
{
    lp_imp_item it = {.file = file, .where = ""};
    const char *stem = stem_of(a, file), *slot = NULL, *meta = NULL;
    it.path = imp_folder(a, file, "labels");
    if (!stem || !it.path)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
    int found = r->opt.volume ? r->opt.volume(r->opt.image_ud, it.path, stem, a, &it.name, &slot, &meta, err) : 0;
    if (found < 0)
        return -1;
    if (found != 1 || !it.name || !slot)
        return imp_problem(r, file, "", LP_IMP_SKIP_ITEM, err,
                           "no item at %s named %s.* with a volume slot: a label map names its volume only by its stem",
                           it.path, stem);
    lp_volume grid;
    memset(&grid, 0, sizeof grid);
    json_t *doc = meta ? json_loads(meta, 0, NULL) : NULL;
    int has_grid = lp_volume_metadata_grid(json_object_get(doc, "media"), &grid) == 0;
    json_decref(doc);
    if (!has_grid)
        return imp_problem(r, file, "", LP_IMP_SKIP_ITEM, err,
                           "the volume of item %s (slot %s) is not processed yet; import its label map once it is ready",
                           it.name, slot);
    int64_t nx = grid.dim[0], ny = grid.dim[1], nz = grid.dim[2];
    lp_volume_limits lim = {.max_voxels = nx * ny * nz, .max_side = nx > ny ? (nx > nz ? nx : nz) : (ny > nz ? ny : nz)};
    lp_error fe;
    lp_error_clear(&fe);
    lp_volume *v = lp_volume_read_nifti_mem(data, len, &lim, &fe);
    if (!v || lp_volume_to_ras(v, &fe) != 0) {
        lp_volume_free(v);
        if (fe.code == LP_E_NOMEM)
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        return imp_problem(r, file, fe.nfields ? fe.fields[0].field : "", LP_IMP_SKIP_ITEM, err,
                           "%s; the label map was not read",
                           fe.nfields ? fe.fields[0].message : fe.message);
    }
    int rc = 0;
    if (v->dim[0] != nx || v->dim[1] != ny || v->dim[2] != nz) {
        rc = imp_problem(r, file, "", LP_IMP_SKIP_ITEM, err,
                         "the label map is %lldx%lldx%lld voxels (in RAS+ order) but the volume of item %s is "
                         "%lldx%lldx%lld; it was not read",
                         (long long)v->dim[0], (long long)v->dim[1], (long long)v->dim[2], it.name, (long long)nx,
                         (long long)ny, (long long)nz);
        lp_volume_free(v);
        return rc;
    }
    double dist = affine_distance(v->affine, grid.affine, grid.dim);
    if (dist > LABEL_AFFINE_TOLERANCE) {
        rc = imp_problem(r, file, "", LP_IMP_SKIP_ITEM, err,
                         "the label map's affine puts a corner voxel %g mm away from where the volume of item %s "
                         "puts it; it was not read",
                         dist, it.name);
        lp_volume_free(v);
        return rc;
    }
    uint64_t counts[256] = {0};
    bool *on = calloc((size_t)nz * 256, 1);
    uint8_t *px = malloc((size_t)nx * (size_t)ny);
    lp_buf json;
    lp_buf_init(&json, (size_t)nx * (size_t)ny * (size_t)nz * 24 + (1u << 20));
    double bad = 0;
    char ids[256][37];
    uint8_t label[256] = {0};
    const char **where = lp_arena_calloc(a, 258, sizeof *where);
    size_t cap = 0;
    unsigned k = 0;
    lp_imp_slot *s = lp_arena_calloc(a, 1, sizeof *s);
    if (!on || !px || !where || !s) {
        rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        goto done;
    }
    if (!labels_ok(v, counts, on, &bad)) {
        rc = imp_problem(r, file, "", LP_IMP_SKIP_ITEM, err,
                         "a voxel holds %g: a label map holds whole labels 0 to 255; it was not read", bad);
        goto done;
    }
    *s = (lp_imp_slot){.name = slot, .type = "volume", .width = nx, .height = ny, .frame_count = nz};
    it.slots = s;
    it.nslots = 1;
    for (int val = 1; val < 256 && rc == 0; val++) { /* one mask per label present */
        if (!counts[val])
            continue;
        const char *at = lp_arena_printf(a, "label %d", val);
        if (!at) {
            rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
            break;
        }
        if (!m->names[val]) {
            rc = imp_problem(r, file, at, LP_IMP_SKIP_ANNOTATION, err,
                             "%llu voxels hold a label that class_mapping.csv does not name; they were not read",
                             (unsigned long long)counts[val]);
            continue;
        }
        lp_uuid_v4(ids[k]);
        lp_buf_reset(&json);
        const bool *slices = on + (size_t)val * (size_t)nz;
        bool bad_text = ann_head(&json, ids[k], m->names[val], slot) != 0;
        for (int64_t z = 0, first = 1; !bad_text && z < nz; z++)
            if (slices[z]) {
                bad_text = lp_buf_printf(&json, "%s\"%lld\":{\"keyframe\":true,\"mask\":{}}", first ? "" : ",",
                                         (long long)z) != 0;
                first = 0;
            }
        bad_text = bad_text || lp_buf_puts(&json, "},\"ranges\":") || ranges_text(&json, slices, nz) ||
                   lp_buf_puts(&json, "}");
        if (bad_text)
            rc = lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file);
        else if ((rc = imp_darwin_ann(r, file, at, &json, LP_IMP_SKIP_ANNOTATION, &it, &cap, a, err)) > 0)
            rc = 0; /* refused (a problem says why): its voxels are background */
        else if (rc == 0) {
            where[it.nanns - 1] = at;
            label[val] = (uint8_t)++k;
        }
    }
    if (rc == 0 && k > 0) { /* the raster layer: one frame per slice holding a mask's pixels */
        bool *any = on; /* value 0's row, reused: slices where some mask has pixels */
        for (int64_t z = 0; z < nz; z++) {
            any[z] = false;
            for (int val = 1; val < 256 && !any[z]; val++)
                any[z] = label[val] && on[(size_t)val * (size_t)nz + (size_t)z];
        }
        char layer_id[37];
        lp_uuid_v4(layer_id);
        lp_buf_reset(&json);
        bool bad_text = ann_head(&json, layer_id, "__raster_layer__", slot) != 0;
        for (int64_t z = 0, first = 1; !bad_text && z < nz; z++) {
            if (!any[z])
                continue;
            for (int64_t y = 0; y < ny; y++)
                for (int64_t x = 0; x < nx; x++)
                    px[y * nx + x] = label[(int)lp_volume_at(v, x, ny - 1 - y, z)];
            bad_text = lp_buf_printf(&json, "%s\"%lld\":{\"keyframe\":true,", first ? "" : ",", (long long)z) ||
                       imp_raster_member(&json, px, (uint32_t)nx, (uint32_t)ny, (const char (*)[37])ids, k) ||
                       lp_buf_puts(&json, "}");
            first = 0;
        }
        bad_text = bad_text || lp_buf_puts(&json, "},\"ranges\":") || ranges_text(&json, any, nz) ||
                   lp_buf_puts(&json, "}");
        rc = bad_text ? lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", file)
                      : imp_raster_layer_ann(r, file, &json, &it, &cap, where, a, err);
    }
    it.ann_where = where;
    it.done = 1;
    if (rc == 0)
        rc = imp_item(r, &it, err);
done:
    lp_buf_free(&json);
    free(on);
    free(px);
    lp_volume_free(v);
    return rc < 0 ? -1 : 0;
}

static int nifti_file(lp_imp_reader *r, const char *name, const char *data, size_t len, lp_arena *a, lp_error *err)
{
    if (!r->state && !(r->state = calloc(1, sizeof(nifti_in))))
        return lp_error_set(err, LP_E_NOMEM, "out of memory starting a NIfTI reader");
    nifti_in *m = r->state;
    if (nifti_role(r, name) == LP_IMP_ROLE_META)
        return imp_class_mapping(r, m->names, name, data, len, err);
    return label_map(r, m, name, data, len, a, err);
}

const lp_imp_ops lp_imp_nifti_ops = {"nifti", NULL, nifti_role, nifti_file, NULL, nifti_free};
