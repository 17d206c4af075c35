/* Fuzzes the ZIP reader behind archive imports (src/formats/unzip.c): the
 * input is the archive (read through a memfd, as from an uploaded file);
 * every member that opens is inflated. Invariants: no member name passes
 * that the name check refuses, and no member yields more bytes than the caps. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "loupe/formats/unzip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ud, const void *p, size_t n, lp_error *err)
{
    (void)p;
    (void)err;
    *(uint64_t *)ud += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lp_unzip_limits lim = {.max_members = 64, .max_member_bytes = 1 << 20,
                                        .max_total_bytes = 4 << 20, .max_ratio = 200};
    static int fd = -1;
    lp_error err;
    if (fd < 0 && (fd = memfd_create("unzip_fuzz", MFD_CLOEXEC)) < 0)
        return 0;
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    lp_error_clear(&err);
    lp_unzip *z = lp_unzip_open(fd, size, &lim, &err);
    if (!z)
        return 0;
    for (size_t i = 0; i < lp_unzip_count(z); i++) {
        const lp_unzip_member *m = lp_unzip_at(z, i);
        uint64_t got = 0;
        lp_error_clear(&err);
        if (lp_unzip_name_check(m->name, strlen(m->name), &err) != 0)
            abort();
        lp_error_clear(&err);
        if (!m->folder && lp_unzip_read(z, i, count, &got, &err) == 0 && (got != m->size || got > lim.max_member_bytes))
            abort();
    }
    lp_unzip_free(z);
    return 0;
}
