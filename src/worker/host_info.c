/* Host facts a worker announces. See loupe/worker/host_info.h. */
#include "loupe/worker/host_info.h"

#include <dlfcn.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"

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

/* NVML, declared here with the few types we use (the header is not needed at
 * build time; the library is optional at run time). */
typedef int nvml_return;
typedef void *nvml_device;
typedef struct nvml_memory {
    unsigned long long total, free, used;
} nvml_memory;

static void read_gpus(lp_host_info *out)
{
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    nvml_return (*count)(unsigned *);
    nvml_return (*by_index)(unsigned, nvml_device *);
    nvml_return (*get_name)(nvml_device, char *, unsigned);
    nvml_return (*get_memory)(nvml_device, nvml_memory *);
    unsigned n = 0;

    if (!lib)
        return;
    /* dlsym returns void *; copying the pointer converts it to a function pointer without a cast ISO C forbids. */
#define LOAD(var, sym)                                                                                              \
    do {                                                                                                             \
        void *p_ = dlsym(lib, sym);                                                                                  \
        memcpy(&var, &p_, sizeof(var));                                                                              \
    } while (0)
    LOAD(init, "nvmlInit_v2");
    LOAD(shutdown, "nvmlShutdown");
    LOAD(count, "nvmlDeviceGetCount_v2");
    LOAD(by_index, "nvmlDeviceGetHandleByIndex_v2");
    LOAD(get_name, "nvmlDeviceGetName");
    LOAD(get_memory, "nvmlDeviceGetMemoryInfo");
#undef LOAD
    if (!init || !shutdown || !count || !by_index || !get_name || !get_memory || init() != 0) {
        LP_DEBUG("worker", "NVML present but unusable; reporting no GPUs");
        dlclose(lib);
        return;
    }
    if (count(&n) == 0) {
        for (unsigned i = 0; i < n && out->ngpus < LP_HOST_GPUS_MAX; i++) {
            nvml_device dev;
            nvml_memory mem;
            lp_gpu_info *g = &out->gpus[out->ngpus];
            memset(g, 0, sizeof(*g));
            if (by_index(i, &dev) != 0)
                continue;
            g->index = i;
            if (get_name(dev, g->name, sizeof(g->name)) != 0)
                snprintf(g->name, sizeof(g->name), "GPU %u", i);
            g->name[sizeof(g->name) - 1] = '\0';
            if (get_memory(dev, &mem) == 0)
                g->memory_bytes = (int64_t)mem.total;
            out->ngpus++;
        }
    }
    shutdown();
    dlclose(lib);
}

void lp_host_info_read(lp_host_info *out)
{
    long cpus;
    memset(out, 0, sizeof(*out));
    if (gethostname(out->host, sizeof(out->host) - 1) != 0)
        lp_strlcpy(out->host, "unknown", sizeof(out->host));
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    out->cpus = cpus > 0 ? (int)cpus : 0;
    out->memory_bytes = read_memory();
    read_gpus(out);
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
        json_t *g = json_pack("{s:i, s:s, s:I}", "index", (int)h->gpus[i].index, "name",
                              lp_utf8_valid(name, strlen(name)) ? name : "?", "memory_bytes",
                              (json_int_t)h->gpus[i].memory_bytes);
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
