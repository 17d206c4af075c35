/* Helpers shared by the media tests: a scratch directory, shell commands
 * that make media with the ffmpeg / vips tools, and pixel comparison. */
#ifndef LOUPE_TESTS_MEDIA_FIXTURE_H
#define LOUPE_TESTS_MEDIA_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/media/media.h"

/* Creates a fresh scratch directory (under $TMPDIR or /tmp) once per
 * process and returns it; removed by fx_cleanup. */
const char *fx_dir(void);
void fx_cleanup(void);

/* dir/name in a static rotating buffer (valid for the next 8 calls). */
const char *fx_path(const char *name);

/* Runs a shell command (printf format) with output discarded; returns its exit status. */
int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 1 if the program is on PATH. */
int fx_have(const char *program);

/* Writes len bytes to path; 0 or -1. */
int fx_write(const char *path, const void *data, size_t len);

/* Reads the whole file (malloc'd, caller frees) or NULL. */
void *fx_read(const char *path, size_t *len);

/* Mean absolute difference of two RGB24 buffers of n bytes. */
double fx_mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n);

/* CRC-32 (IEEE), as PNG chunks use. */
uint32_t fx_crc32(const void *data, size_t len);

/* Test limits: the settings' defaults with the given output sizes. */
lp_media_limits fx_limits(int thumbnail_size, int preview_size);

#endif
