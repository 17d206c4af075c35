/* Volume slot metadata in Darwin's slot shape. See meta.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loupe/volume/meta.h"
#include "loupe/volume/orient.h"

static json_t *matrix(const double m[4][4])
{
    json_t *rows = json_array();
    for (int r = 0; r < 4 && rows; r++) {
        json_t *row = json_array();
        for (int c = 0; c < 4; c++)
            json_array_append_new(row, json_real(m[r][c]));
        json_array_append_new(rows, row);
    }
    return rows;
}

static json_t *triple_int(const int64_t v[3])
{
    return json_pack("[III]", (json_int_t)v[0], (json_int_t)v[1], (json_int_t)v[2]);
}

json_t *lp_volume_metadata(const lp_volume *v, const char *slot, const lp_volume_window *windows, int nwindows,
                           const lp_volume_histogram *h)
{
    char codes[4];
    lp_volume_axcodes(v->affine, codes);
    json_t *win = json_array(), *counts = json_array();
    for (int i = 0; i < nwindows; i++)
        json_array_append_new(win, json_pack("{s:s, s:f, s:f}", "name", windows[i].name, "center",
                                             windows[i].center, "width", windows[i].width));
    for (int b = 0; b < LP_VOLUME_HIST_BINS; b++)
        json_array_append_new(counts, json_integer((json_int_t)h->counts[b]));
    json_t *meta = json_pack("{s:o, s:[fff], s:o, s:o, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I}, s:o, s:{s:f, s:f, s:o}}",
                     "shape", triple_int(v->dim), "pixdim", v->pixdim[0], v->pixdim[1], v->pixdim[2], "affine",
                     matrix(v->affine), "original_affine", matrix(v->original_affine), "primary_plane", "AXIAL",
                     "orientation", codes, "modality", v->modality, "dtype",
                     v->type == LP_VOLUME_I16 ? "int16" : "float32", "slices", "axial", (json_int_t)v->dim[2],
                     "coronal", (json_int_t)v->dim[1], "sagittal", (json_int_t)v->dim[0], "windows", win,
                     "histogram", "min", h->min, "max", h->max, "counts", counts);
    if (meta && slot && json_object_set_new(meta, "plane_map", json_pack("{s:s}", slot, "AXIAL")) != 0) {
        json_decref(meta);
        return NULL;
    }
    return meta;
}

int lp_volume_metadata_windows(const json_t *meta, lp_volume_window *out)
{
    json_t *list = json_object_get(meta, "windows"), *w;
    size_t i;
    int n = 0;
    json_array_foreach(list, i, w) {
        const char *name = json_string_value(json_object_get(w, "name"));
        json_t *c = json_object_get(w, "center"), *width = json_object_get(w, "width");
        if (n >= LP_VOLUME_MAX_WINDOWS || !name || !json_is_number(c) || !json_is_number(width) ||
            json_number_value(width) <= 0)
            continue;
        snprintf(out[n].name, sizeof out[n].name, "%s", name);
        out[n].center = json_number_value(c);
        out[n].width = json_number_value(width);
        n++;
    }
    return n;
}

/* A 4×4 matrix of finite numbers from rows. 0 or -1. */
static int read_matrix(const json_t *rows, double m[4][4])
{
    if (!json_is_array(rows) || json_array_size(rows) != 4)
        return -1;
    for (int r = 0; r < 4; r++) {
        const json_t *row = json_array_get(rows, (size_t)r);
        if (!json_is_array(row) || json_array_size(row) != 4)
            return -1;
        for (int c = 0; c < 4; c++) {
            const json_t *x = json_array_get(row, (size_t)c);
            if (!json_is_number(x) || !isfinite(json_number_value(x)))
                return -1;
            m[r][c] = json_number_value(x);
        }
    }
    return 0;
}

int lp_volume_metadata_grid(const json_t *meta, lp_volume *v)
{
    const json_t *shape = json_object_get(meta, "shape");
    if (!json_is_array(shape) || json_array_size(shape) != 3)
        return -1;
    for (int i = 0; i < 3; i++) {
        const json_t *x = json_array_get(shape, (size_t)i);
        if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > ((json_int_t)1 << 20))
            return -1;
        v->dim[i] = json_integer_value(x);
    }
    if (read_matrix(json_object_get(meta, "affine"), v->affine) != 0 ||
        read_matrix(json_object_get(meta, "original_affine"), v->original_affine) != 0)
        return -1;
    for (int c = 0; c < 3; c++)
        v->pixdim[c] = sqrt(v->affine[0][c] * v->affine[0][c] + v->affine[1][c] * v->affine[1][c] +
                            v->affine[2][c] * v->affine[2][c]);
    return 0;
}
