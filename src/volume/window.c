/* Histograms, window presets and the `window` parameter. See window.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/volume/window.h"

/* int16 samples: one pass counting each of the 65536 values, then the bins
 * from those counts (the same bins as the general loop below gives). */
static int histogram_i16(const lp_volume *v, lp_volume_histogram *h)
{
    uint64_t *count = calloc(65536, sizeof *count);
    const int16_t *s = v->voxels;
    int64_t n = lp_volume_count(v);
    if (!count)
        return -1;
    for (int64_t i = 0; i < n; i++)
        count[(uint16_t)s[i]]++;
    int lo = INT16_MAX, hi = INT16_MIN;
    for (int x = INT16_MIN; x <= INT16_MAX; x++)
        if (count[(uint16_t)x]) {
            lo = x < lo ? x : lo;
            hi = x;
        }
    h->min = lo, h->max = hi;
    double scale = hi > lo ? LP_VOLUME_HIST_BINS / ((double)hi - lo) : 0;
    for (int x = lo; x <= hi; x++) {
        uint64_t c = count[(uint16_t)x];
        if (!c)
            continue;
        int b = (int)(((double)x - lo) * scale);
        h->counts[b >= LP_VOLUME_HIST_BINS ? LP_VOLUME_HIST_BINS - 1 : b] += c;
    }
    free(count);
    return 0;
}

void lp_volume_histogram_compute(const lp_volume *v, lp_volume_histogram *h)
{
    int64_t n = lp_volume_count(v);
    memset(h, 0, sizeof *h);
    if (v->type == LP_VOLUME_I16 && n > 0 && histogram_i16(v, h) == 0)
        return;
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double s = v->type == LP_VOLUME_I16 ? ((const int16_t *)v->voxels)[i] : ((const float *)v->voxels)[i];
        lo = s < lo ? s : lo;
        hi = s > hi ? s : hi;
    }
    h->min = lo, h->max = hi;
    double scale = hi > lo ? LP_VOLUME_HIST_BINS / (hi - lo) : 0;
    for (int64_t i = 0; i < n; i++) {
        double s = v->type == LP_VOLUME_I16 ? ((const int16_t *)v->voxels)[i] : ((const float *)v->voxels)[i];
        int b = (int)((s - lo) * scale);
        h->counts[b >= LP_VOLUME_HIST_BINS ? LP_VOLUME_HIST_BINS - 1 : b]++;
    }
}

double lp_volume_histogram_quantile(const lp_volume_histogram *h, double q)
{
    uint64_t total = 0, seen = 0;
    for (int b = 0; b < LP_VOLUME_HIST_BINS; b++)
        total += h->counts[b];
    double bin = (h->max - h->min) / LP_VOLUME_HIST_BINS;
    for (int b = 0; b < LP_VOLUME_HIST_BINS; b++) {
        seen += h->counts[b];
        if ((double)seen >= q * (double)total)
            return h->min + bin * (b + 1);
    }
    return h->max;
}

static int add(lp_volume_window *out, int n, const char *name, double lo, double hi)
{
    if (n >= LP_VOLUME_MAX_WINDOWS)
        return n;
    snprintf(out[n].name, sizeof out[n].name, "%s", name);
    out[n].center = (lo + hi) / 2;
    out[n].width = hi > lo ? hi - lo : 1;
    return n + 1;
}

int lp_volume_presets(const lp_volume *v, const lp_volume_histogram *h, const lp_volume_window *declared,
                      int ndeclared, lp_volume_window *out)
{
    static const struct { const char *name; double center, width; } ct[] = {
        {"soft_tissue", 40, 400}, {"lung", -600, 1500}, {"bone", 400, 1800}, {"brain", 40, 80}};
    int n = 0;
    for (int i = 0; i < ndeclared && n < LP_VOLUME_MAX_WINDOWS; i++)
        if (declared[i].width > 0 && isfinite(declared[i].center))
            out[n++] = declared[i];
    if (strcmp(v->modality, "CT") == 0)
        for (size_t i = 0; i < sizeof ct / sizeof ct[0]; i++)
            n = add(out, n, ct[i].name, ct[i].center - ct[i].width / 2, ct[i].center + ct[i].width / 2);
    n = add(out, n, "auto", lp_volume_histogram_quantile(h, 0.005), lp_volume_histogram_quantile(h, 0.995));
    return add(out, n, "full", h->min, h->max);
}

int lp_volume_window_parse(const char *text, const lp_volume_window *presets, int npresets, lp_volume_window *out,
                           lp_error *err)
{
    if (!text || !*text) {
        if (npresets < 1)
            return lp_error_field(err, LP_E_INVALID, "window", "the volume has no window presets");
        *out = presets[0];
        return 0;
    }
    for (int i = 0; i < npresets; i++)
        if (strcmp(text, presets[i].name) == 0) {
            *out = presets[i];
            return 0;
        }
    char *end;
    double c = strtod(text, &end);
    if (end != text && *end == ',') {
        const char *w = end + 1;
        double width = strtod(w, &end);
        if (end != w && *end == '\0' && isfinite(c) && isfinite(width) && width > 0 && fabs(c) < 1e12 &&
            width < 1e12) {
            snprintf(out->name, sizeof out->name, "custom");
            out->center = c, out->width = width;
            return 0;
        }
    }
    return lp_error_field(err, LP_E_INVALID, "window",
                          "is neither a preset of this volume nor \"center,width\" with a positive width");
}
