/* Orientation codes and reorientation to RAS+. See orient.h. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/volume/orient.h"

int lp_volume_orientation(const double affine[4][4], int world[3], int flip[3])
{
    double m[3][3];
    for (int c = 0; c < 3; c++) {
        double norm = 0;
        for (int r = 0; r < 3; r++)
            norm += affine[r][c] * affine[r][c];
        norm = sqrt(norm);
        if (!isfinite(norm) || norm == 0)
            return -1;
        for (int r = 0; r < 3; r++)
            m[r][c] = affine[r][c] / norm;
    }
    int row_used[3] = {0}, col_used[3] = {0};
    for (int step = 0; step < 3; step++) {
        int br = -1, bc = -1;
        double best = -1;
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
                if (!row_used[r] && !col_used[c] && fabs(m[r][c]) > best)
                    best = fabs(m[r][c]), br = r, bc = c;
        row_used[br] = col_used[bc] = 1;
        world[bc] = br;
        flip[bc] = m[br][bc] < 0;
    }
    return 0;
}

int lp_volume_axcodes(const double affine[4][4], char out[4])
{
    static const char pos[] = "RAS", neg[] = "LPI";
    int world[3], flip[3];
    if (lp_volume_orientation(affine, world, flip) != 0) {
        strcpy(out, "???");
        return -1;
    }
    for (int c = 0; c < 3; c++)
        out[c] = flip[c] ? neg[world[c]] : pos[world[c]];
    out[3] = '\0';
    return 0;
}

/* n samples of size bytes from src to dst (distinct), reversed when rev. */
static void copy_row(unsigned char *dst, const unsigned char *src, int64_t n, size_t size, int rev)
{
    if (!rev) {
        memcpy(dst, src, (size_t)n * size);
    } else if (size == 2) { /* int16 samples */
        const int16_t *s = (const int16_t *)src;
        int16_t *d = (int16_t *)dst;
        for (int64_t i = 0; i < n; i++)
            d[i] = s[n - 1 - i];
    } else { /* float32 samples */
        const float *s = (const float *)src;
        float *d = (float *)dst;
        for (int64_t i = 0; i < n; i++)
            d[i] = s[n - 1 - i];
    }
}

/* Axes reversed where flip says, row by row with one row of scratch: each
 * row swaps with its mirror row once (reversing is its own inverse), its
 * samples reversed on the way when x flips. */
static int flip_in_place(lp_volume *v, const int flip[3], lp_error *err)
{
    const int64_t *d = v->dim;
    size_t size = lp_volume_sample_size(v->type), row_bytes = (size_t)d[0] * size;
    unsigned char *p = v->voxels, *tmp = malloc(row_bytes);
    if (!tmp)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reorienting a volume");
    for (int64_t k = 0; k < d[2]; k++) {
        int64_t mk = flip[2] ? d[2] - 1 - k : k;
        for (int64_t j = 0; j < d[1]; j++) {
            int64_t mj = flip[1] ? d[1] - 1 - j : j;
            int64_t row = k * d[1] + j, mrow = mk * d[1] + mj;
            unsigned char *a = p + (size_t)row * row_bytes, *b = p + (size_t)mrow * row_bytes;
            if (row > mrow || (row == mrow && !flip[0]))
                continue;
            memcpy(tmp, a, row_bytes);
            copy_row(a, b == a ? tmp : b, d[0], size, flip[0]);
            if (b != a)
                copy_row(b, tmp, d[0], size, flip[0]);
        }
    }
    free(tmp);
    for (int c = 0; c < 3; c++) {
        if (!flip[c])
            continue;
        /* new index i' = n-1-i: column c negated, origin moved to the old last voxel */
        for (int r = 0; r < 3; r++) {
            v->affine[r][3] += v->affine[r][c] * (double)(d[c] - 1);
            v->affine[r][c] = -v->affine[r][c];
        }
    }
    return 0;
}

int lp_volume_to_ras(lp_volume *v, lp_error *err)
{
    int world[3], flip[3];
    if (lp_volume_orientation(v->affine, world, flip) != 0)
        return lp_error_set(err, LP_E_INVALID, "the volume's affine is degenerate (a voxel axis has no direction)");
    int src_of[3]; /* src_of[r]: the old voxel axis that becomes new axis r */
    for (int c = 0; c < 3; c++)
        src_of[world[c]] = c;
    int identity = 1;
    for (int r = 0; r < 3; r++)
        identity &= src_of[r] == r && !flip[r];
    if (identity)
        return 0;
    int64_t od[3] = {v->dim[0], v->dim[1], v->dim[2]}, nd[3];
    if (src_of[0] == 0 && src_of[1] == 1 && src_of[2] == 2)
        return flip_in_place(v, flip, err);
    for (int r = 0; r < 3; r++)
        nd[r] = od[src_of[r]];
    size_t size = lp_volume_sample_size(v->type), n = (size_t)lp_volume_count(v);
    unsigned char *out = lp_volume_voxels_alloc(n * size);
    if (!out)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reorienting a volume of %zu voxels", n);
    /* Old strides per old axis; walking the new order, each new axis r steps
     * the old index along src_of[r], backwards when that axis is flipped. */
    int64_t ostride[3] = {1, od[0], od[0] * od[1]}, step[3], start = 0;
    for (int r = 0; r < 3; r++) {
        int c = src_of[r];
        step[r] = flip[c] ? -ostride[c] : ostride[c];
        if (flip[c])
            start += (od[c] - 1) * ostride[c];
    }
    const unsigned char *in = v->voxels;
    size_t at = 0;
    for (int64_t k = 0; k < nd[2]; k++)
        for (int64_t j = 0; j < nd[1]; j++) {
            int64_t o = start + k * step[2] + j * step[1];
            if (size == 2)
                for (int64_t i = 0; i < nd[0]; i++, o += step[0], at++)
                    memcpy(out + at * 2, in + o * 2, 2);
            else
                for (int64_t i = 0; i < nd[0]; i++, o += step[0], at++)
                    memcpy(out + at * 4, in + o * 4, 4);
        }
    /* new affine = old affine · T, T taking a new index to the old one */
    double t[4][4] = {{0}}, a[4][4] = {{0}};
    for (int r = 0; r < 3; r++) {
        int c = src_of[r];
        t[c][r] = flip[c] ? -1 : 1;
        if (flip[c])
            t[c][3] = (double)(od[c] - 1);
    }
    t[3][3] = 1;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            for (int x = 0; x < 4; x++)
                a[r][c] += v->affine[r][x] * t[x][c];
    double pd[3];
    for (int r = 0; r < 3; r++)
        pd[r] = v->pixdim[src_of[r]];
    free(v->voxels);
    v->voxels = out;
    memcpy(v->dim, nd, sizeof nd);
    memcpy(v->pixdim, pd, sizeof pd);
    memcpy(v->affine, a, sizeof a);
    return 0;
}

int lp_volume_from_ras(lp_volume *v, lp_error *err)
{
    int world[3], flip[3];
    if (lp_volume_orientation(v->original_affine, world, flip) != 0)
        return lp_error_set(err, LP_E_INVALID, "the volume's original affine is degenerate (a voxel axis has no direction)");
    /* original axis c runs along RAS axis world[c], backwards when flipped:
     * walking the original order, axis c steps the RAS index along world[c] */
    int64_t rd[3] = {v->dim[0], v->dim[1], v->dim[2]}, od[3], rstride[3] = {1, rd[0], rd[0] * rd[1]}, step[3],
            start = 0;
    double pd[3];
    for (int c = 0; c < 3; c++) {
        od[c] = rd[world[c]];
        pd[c] = v->pixdim[world[c]];
        step[c] = flip[c] ? -rstride[world[c]] : rstride[world[c]];
        if (flip[c])
            start += (od[c] - 1) * rstride[world[c]];
    }
    size_t size = lp_volume_sample_size(v->type), n = (size_t)lp_volume_count(v);
    unsigned char *out = lp_volume_voxels_alloc(n * size);
    if (!out)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reorienting a volume of %zu voxels", n);
    const unsigned char *in = v->voxels;
    size_t at = 0;
    for (int64_t k = 0; k < od[2]; k++)
        for (int64_t j = 0; j < od[1]; j++) {
            int64_t o = start + k * step[2] + j * step[1];
            for (int64_t i = 0; i < od[0]; i++, o += step[0], at++)
                memcpy(out + at * size, in + (size_t)o * size, size);
        }
    free(v->voxels);
    v->voxels = out;
    memcpy(v->dim, od, sizeof od);
    memcpy(v->pixdim, pd, sizeof pd);
    memcpy(v->affine, v->original_affine, sizeof v->affine);
    return 0;
}
