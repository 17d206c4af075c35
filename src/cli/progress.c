/* Progress lines and byte counts. See loupe/cli/progress.h. */
#include "loupe/cli/progress.h"

#include <stdio.h>
#include <string.h>

void lp_cli_format_bytes(int64_t n, char out[16])
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(out, 16, "%lld B", (long long)(n < 0 ? 0 : n));
        return;
    }
    double v = (double)n / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, 16, "%.1f %s", v, units[u]);
}

void lp_cli_format_bar(double fraction, int width, char *out, size_t cap)
{
    if (width < 3)
        width = 3;
    if ((size_t)width + 1 > cap) {
        if (cap)
            out[0] = '\0';
        return;
    }
    if (!(fraction >= 0.0))
        fraction = 0.0;
    if (fraction > 1.0)
        fraction = 1.0;
    int inner = width - 2, full = (int)(fraction * inner + 1e-9);
    out[0] = '[';
    for (int i = 0; i < inner; i++)
        out[1 + i] = i < full ? '#' : '-';
    out[width - 1] = ']';
    out[width] = '\0';
}

/* Writes the bar (sized to leave the tail its room, 10 … 30 wide) before tail, within columns. */
static void with_bar(double fraction, const char *tail, int columns, char *out, size_t cap)
{
    if (columns < 20)
        columns = 20;
    int width = columns - (int)strlen(tail) - 1;
    if (width > 30)
        width = 30;
    if (width < 10) {
        snprintf(out, cap, "%.*s", columns, tail + (tail[0] == ' '));
        return;
    }
    char bar[32];
    lp_cli_format_bar(fraction, width, bar, sizeof bar);
    snprintf(out, cap, "%s%s", bar, tail);
}

void lp_cli_format_push(const lp_cli_progress *p, int columns, char *out, size_t cap)
{
    char done[16], total[16], speed[16], tail[256];
    double fraction = p->bytes_total > 0 ? (double)p->bytes_done / (double)p->bytes_total
                      : p->files_total > 0 ? (double)p->files_done / (double)p->files_total
                                           : 1.0;
    lp_cli_format_bytes(p->bytes_done, done);
    lp_cli_format_bytes(p->bytes_total, total);
    lp_cli_format_bytes(p->elapsed_s > 0 ? (int64_t)((double)p->bytes_done / p->elapsed_s) : 0, speed);
    int n = snprintf(tail, sizeof tail, " %3d%%  %zu/%zu files  %s/%s  %s/s", (int)(fraction * 100.0 + 1e-9),
                     p->files_done, p->files_total, done, total, speed);
    if (p->skipped && n > 0 && (size_t)n < sizeof tail)
        n += snprintf(tail + n, sizeof tail - (size_t)n, "  %zu skipped", p->skipped);
    if (p->failed && n > 0 && (size_t)n < sizeof tail)
        snprintf(tail + n, sizeof tail - (size_t)n, "  %zu failed", p->failed);
    with_bar(fraction, tail, columns, out, cap);
}

void lp_cli_format_job(const char *status, double progress, int columns, char *out, size_t cap)
{
    char tail[96];
    if (!(progress >= 0.0))
        progress = 0.0;
    if (progress > 1.0)
        progress = 1.0;
    snprintf(tail, sizeof tail, " %3d%%  %.64s", (int)(progress * 100.0 + 1e-9), status);
    with_bar(progress, tail, columns, out, cap);
}
