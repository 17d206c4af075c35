/* Intensity windows (centre and width, as DICOM's VOI LUT) and histograms.
 *
 * Presets: the windows the source declares come first (DICOM's Window Center
 * and Width), then by modality — CT: soft_tissue (40/400), lung (-600/1500),
 * bone (400/1800), brain (40/80) — then for every volume `auto` (the 0.5th to
 * 99.5th percentile of the histogram) and `full` (minimum to maximum). */
#ifndef LOUPE_VOLUME_WINDOW_H
#define LOUPE_VOLUME_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"
#include "loupe/volume/volume.h"

#define LP_VOLUME_HIST_BINS 256
#define LP_VOLUME_MAX_WINDOWS 12

typedef struct lp_volume_window {
    char name[32];
    double center, width; /* width > 0 */
} lp_volume_window;

typedef struct lp_volume_histogram {
    double min, max;                       /* of all voxels */
    uint64_t counts[LP_VOLUME_HIST_BINS];  /* equal bins over [min, max] */
} lp_volume_histogram;

void lp_volume_histogram_compute(const lp_volume *v, lp_volume_histogram *h);

/* The intensity below which fraction q (0..1) of the voxels lie, to the bin. */
double lp_volume_histogram_quantile(const lp_volume_histogram *h, double q);

/* Fills out (up to LP_VOLUME_MAX_WINDOWS) with the presets above after the
 * `declared` ones (may be NULL/0); returns how many. */
int lp_volume_presets(const lp_volume *v, const lp_volume_histogram *h, const lp_volume_window *declared,
                      int ndeclared, lp_volume_window *out);

/* A `window` query value: a preset's name, or "center,width" numbers (width
 * > 0). NULL or "" picks the first preset. Returns -1 with a field error
 * naming "window" otherwise. */
int lp_volume_window_parse(const char *text, const lp_volume_window *presets, int npresets, lp_volume_window *out,
                           lp_error *err);

/* One intensity through window w to 0..255. */
static inline uint8_t lp_volume_window_apply(const lp_volume_window *w, double value)
{
    double t = (value - (w->center - w->width / 2)) / w->width;
    return t <= 0 ? 0 : t >= 1 ? 255 : (uint8_t)(t * 255 + 0.5);
}

#endif
