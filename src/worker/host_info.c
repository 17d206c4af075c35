/* Host facts a worker announces. See loupe/worker/host_info.h. */
#include "loupe/worker/host_info.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"
#include "loupe/worker/nvml.h"

#define MEMINFO_MAX 16384

int64_t lp_meminfo_total(const char *text)
{
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, "MemTotal:", 9) == 0) {
            char *end;
            long long kib;
            p += 9;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p < '0' || *p > '9')
                return -1;
            kib = strtoll(p, &end, 10);
            while (*end == ' ' || *end == '\t')
                end++;
            if (strncmp(end, "kB", 2) != 0 || kib < 0 || kib > INT64_MAX / 1024)
                return -1;
            return (int64_t)kib * 1024;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static int64_t read_memory(void)
{
    char buf[MEMINFO_MAX];
    size_t n;
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    int64_t total = lp_meminfo_total(buf);
    return total < 0 ? 0 : total;
}

void lp_host_info_read(lp_host_info *out, const char *nvml_library)
{
    lp_nvml *nvml;
    long cpus;
    memset(out, 0, sizeof(*out));
    if (gethostname(out->host, sizeof(out->host) - 1) != 0)
        lp_strlcpy(out->host, "unknown", sizeof(out->host));
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    out->cpus = cpus > 0 ? (int)cpus : 0;
    out->memory_bytes = read_memory();
    nvml = lp_nvml_open(nvml_library);
    out->ngpus = lp_nvml_read(nvml, out->gpus, LP_HOST_GPUS_MAX);
    lp_nvml_close(nvml);
}

int lp_host_gpus_json(const lp_host_info *h, char *out, size_t cap)
{
    json_t *arr = json_array();
    size_t need;
    int rc = -1;

    if (!arr)
        return -1;
    for (size_t i = 0; i < h->ngpus; i++) {
        const char *name = h->gpus[i].name;
        json_t *g = json_pack("{s:i, s:s, s:I, s:I, s:I}", "index", (int)h->gpus[i].index, "name",
                              lp_utf8_valid(name, strlen(name)) ? name : "?", "memory_bytes",
                              (json_int_t)h->gpus[i].memory_bytes, "memory_used_bytes",
                              (json_int_t)h->gpus[i].memory_used_bytes, "memory_free_bytes",
                              (json_int_t)h->gpus[i].memory_free_bytes);
        if (!g || json_array_append_new(arr, g) != 0)
            goto cleanup;
    }
    need = json_dumpb(arr, out, cap, JSON_COMPACT);
    if (need == 0 || need >= cap)
        goto cleanup;
    out[need] = '\0';
    rc = (int)need;
cleanup:
    json_decref(arr);
    return rc;
}
