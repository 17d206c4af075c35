#include "media_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char dir[512];

const char *fx_dir(void)
{
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/loupe-media-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
    }
    return dir;
}

void fx_cleanup(void)
{
    if (dir[0] && !getenv("LOUPE_KEEP_TEST_FILES"))
        fx_sh("rm -rf '%s'", dir);
    dir[0] = '\0';
}

const char *fx_path(const char *name)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", fx_dir(), name);
    return b;
}

int fx_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd - 32, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd - 32)
        return -1;
    strcat(cmd, " >/dev/null 2>&1");
    int rc = system(cmd);
    if (rc == -1)
        return -1;
    return WEXITSTATUS(rc);
}

int fx_have(const char *program)
{
    return fx_sh("command -v '%s'", program) == 0;
}

int fx_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

void *fx_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *len = (size_t)size;
    return buf;
}

double fx_mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (uint64_t)abs((int)a[i] - (int)b[i]);
    return n ? (double)sum / (double)n : 0.0;
}

uint32_t fx_crc32(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

lp_media_limits fx_limits(int thumbnail_size, int preview_size)
{
    lp_media_limits l = {
        .image_max_pixels = 1000000000,
        .image_pyramid_pixels = 25000000,
        .thumbnail_size = thumbnail_size,
        .preview_size = preview_size,
        .video_max_duration_ms = 3600000,
        .video_max_frames = 100000,
        .video_max_pixels = 35389440,
    };
    return l;
}
