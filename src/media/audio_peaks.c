/* Audio peaks, streamed to a small binary file. See audio_peaks.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/media/audio_peaks.h"

struct lp_audio_peaks {
    FILE *f;
    uint32_t rate;
    int64_t per_bucket; /* samples */
    int64_t filled;     /* samples in the current bucket */
    float lo, hi;
    int64_t count;
    uint8_t buf[8192];  /* pairs waiting to be written */
    size_t used;
};

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int write_header(lp_audio_peaks *p, lp_error *err)
{
    uint8_t h[LP_AUDIO_PEAKS_HEADER_SIZE] = "LPPEAKS\n";
    put_le(h + 8, LP_AUDIO_PEAKS_VERSION, 2);
    put_le(h + 10, LP_AUDIO_PEAKS_HEADER_SIZE, 2);
    put_le(h + 12, p->rate, 4);
    put_le(h + 16, (uint64_t)p->per_bucket, 4);
    put_le(h + 20, 0, 4);
    put_le(h + 24, (uint64_t)p->count, 8);
    if (fseek(p->f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, p->f) != sizeof h)
        return lp_error_set(err, LP_E_IO, "cannot write the audio peaks: %s", strerror(errno));
    return 0;
}

lp_audio_peaks *lp_audio_peaks_open(const char *path, int sample_rate, int bucket_ms, lp_error *err)
{
    lp_audio_peaks *p;
    if (sample_rate <= 0 || bucket_ms <= 0) {
        lp_error_set(err, LP_E_INVALID, "audio peaks need a sample rate and a bucket length (got %d Hz, %d ms)",
                     sample_rate, bucket_ms);
        return NULL;
    }
    if (!(p = calloc(1, sizeof *p))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    p->per_bucket = (int64_t)sample_rate * bucket_ms / 1000;
    if (p->per_bucket < 1)
        p->per_bucket = 1;
    p->rate = (uint32_t)sample_rate;
    p->lo = 1.0f;
    p->hi = -1.0f;
    if (!(p->f = fopen(path, "w+b"))) {
        lp_error_set(err, LP_E_IO, "cannot create the audio peaks file: %s", strerror(errno));
        free(p);
        return NULL;
    }
    /* Header first, its count rewritten at the end. */
    if (write_header(p, err)) {
        lp_audio_peaks_free(p);
        return NULL;
    }
    return p;
}

static int flush_pairs(lp_audio_peaks *p, lp_error *err)
{
    if (p->used && fwrite(p->buf, 1, p->used, p->f) != p->used)
        return lp_error_set(err, LP_E_IO, "cannot write the audio peaks: %s", strerror(errno));
    p->used = 0;
    return 0;
}

static int8_t level(float v)
{
    if (v > 1.0f)
        v = 1.0f;
    if (v < -1.0f)
        v = -1.0f;
    return (int8_t)(v * 127.0f + (v >= 0 ? 0.5f : -0.5f));
}

static int end_bucket(lp_audio_peaks *p, lp_error *err)
{
    if (p->used + 2 > sizeof p->buf && flush_pairs(p, err))
        return -1;
    p->buf[p->used++] = (uint8_t)level(p->lo);
    p->buf[p->used++] = (uint8_t)level(p->hi);
    p->count++;
    p->filled = 0;
    p->lo = 1.0f;
    p->hi = -1.0f;
    return 0;
}

int lp_audio_peaks_add(lp_audio_peaks *p, const float *const *planes, int channels, int samples, lp_error *err)
{
    for (int i = 0; i < samples; i++) {
        for (int c = 0; c < channels; c++) {
            float v = planes[c][i];
            if (v < p->lo)
                p->lo = v;
            if (v > p->hi)
                p->hi = v;
        }
        if (++p->filled == p->per_bucket && end_bucket(p, err))
            return -1;
    }
    return 0;
}

int lp_audio_peaks_finish(lp_audio_peaks *p, int64_t *buckets, lp_error *err)
{
    if ((p->filled > 0 && end_bucket(p, err)) || flush_pairs(p, err))
        return -1;
    if (write_header(p, err) || fflush(p->f) != 0)
        return lp_error_set(err, LP_E_IO, "cannot finish the audio peaks file: %s", strerror(errno));
    if (buckets)
        *buckets = p->count;
    return 0;
}

void lp_audio_peaks_free(lp_audio_peaks *p)
{
    if (!p)
        return;
    if (p->f)
        fclose(p->f);
    free(p);
}
