/* What loupe shows while it works: a one-line progress bar, redrawn in place on a terminal, and
 * byte counts for people. Pure: the caller writes the text where it goes. */
#ifndef LOUPE_CLI_PROGRESS_H
#define LOUPE_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lp_cli_progress {
    size_t files_total, files_done; /* done: uploaded, skipped or failed */
    size_t skipped, failed;
    int64_t bytes_total, bytes_done;  /* of the files to upload */
    double elapsed_s;
} lp_cli_progress;

/* "1.5 MiB", "512 B", "12.0 KiB": at most 11 characters. */
void lp_cli_format_bytes(int64_t n, char out[16]);

/* "[########------------]": width characters (at least 3), fraction clamped to 0 … 1. */
void lp_cli_format_bar(double fraction, int width, char *out, size_t cap);

/* A push's line, fitted into columns (at least 20): the bar, files done of total, bytes, speed,
 * and the skipped and failed counts when there are any:
 *   "[#####-----]  45%  12/40 files  3.1 MiB/10.2 MiB  1.2 MiB/s  2 skipped  1 failed" */
void lp_cli_format_push(const lp_cli_progress *p, int columns, char *out, size_t cap);

/* A job's line: "[#####-----]  45%  running" (status as the server says it). */
void lp_cli_format_job(const char *status, double progress, int columns, char *out, size_t cap);

#endif
