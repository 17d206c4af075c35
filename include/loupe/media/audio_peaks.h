/* Audio peaks for the timeline: the lowest and highest sample of every
 * bucket of a few milliseconds, mixed over the channels, written as they
 * are computed (memory stays flat however long the audio).
 *
 * File format (integers little-endian), version 1:
 *   offset 0  8 bytes  magic "LPPEAKS\n"
 *   offset 8  u16      version (1)
 *   offset 10 u16      header size in bytes (32)
 *   offset 12 u32      sample rate (Hz)
 *   offset 16 u32      samples per bucket (> 0)
 *   offset 20 u32      reserved (0)
 *   offset 24 i64      bucket count
 *   then count pairs of i8: min, max (full scale is ±127). Bucket i covers
 *   samples i × spb .. (i + 1) × spb − 1 from the first decoded sample; the
 *   last one may be shorter. */
#ifndef LOUPE_MEDIA_AUDIO_PEAKS_H
#define LOUPE_MEDIA_AUDIO_PEAKS_H

#include <stdint.h>

#include "loupe/core/error.h"

#define LP_AUDIO_PEAKS_VERSION 1
#define LP_AUDIO_PEAKS_HEADER_SIZE 32
#define LP_AUDIO_PEAKS_BUCKET_MS 10

typedef struct lp_audio_peaks lp_audio_peaks;

/* Creates path (borrowed; replaced) for audio at sample_rate (> 0) in
 * buckets of bucket_ms (> 0) milliseconds. NULL with err set. */
lp_audio_peaks *lp_audio_peaks_open(const char *path, int sample_rate, int bucket_ms, lp_error *err);

/* Adds samples frames of planar float audio (channels planes, borrowed,
 * nominal range −1..1; values outside are clipped). */
int lp_audio_peaks_add(lp_audio_peaks *p, const float *const *planes, int channels, int samples, lp_error *err);

/* Writes the last partial bucket and the count; *buckets (may be NULL)
 * receives it. The file is complete after this returns 0. */
int lp_audio_peaks_finish(lp_audio_peaks *p, int64_t *buckets, lp_error *err);

/* Closes p (an unfinished file stays incomplete). NULL: no-op. */
void lp_audio_peaks_free(lp_audio_peaks *p);

#endif
