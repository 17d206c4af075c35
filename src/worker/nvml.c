/* NVIDIA GPUs through NVML loaded with dlopen. See loupe/worker/nvml.h. */
#include "loupe/worker/nvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/log.h"

/* NVML's types, as far as they are used (nvml.h: nvmlReturn_t is an enum, 0 success;
 * nvmlMemory_t is {total, free, used} in bytes). */
typedef int nvml_return;
typedef void *nvml_device;
typedef struct nvml_memory {
    unsigned long long total, free, used;
} nvml_memory;

struct lp_nvml {
    void *lib;
    nvml_return (*shutdown)(void);
    nvml_return (*count)(unsigned *);
    nvml_return (*by_index)(unsigned, nvml_device *);
    nvml_return (*get_name)(nvml_device, char *, unsigned);
    nvml_return (*get_memory)(nvml_device, nvml_memory *);
};

/* dlsym returns void *; copying the pointer converts it to a function pointer without a cast ISO C forbids. */
#define LOAD(var, sym)                                                                                              \
    do {                                                                                                             \
        void *p_ = dlsym(n->lib, sym);                                                                               \
        memcpy(&(var), &p_, sizeof(var));                                                                            \
    } while (0)

lp_nvml *lp_nvml_open(const char *library)
{
    lp_nvml *n;
    nvml_return (*init)(void) = NULL;

    if (!library || !*library || !(n = calloc(1, sizeof *n)))
        return NULL;
    if (!(n->lib = dlopen(library, RTLD_NOW | RTLD_LOCAL))) {
        LP_DEBUG("worker", "no NVML (%s): reporting no GPUs", dlerror());
        free(n);
        return NULL;
    }
    LOAD(init, "nvmlInit_v2");
    LOAD(n->shutdown, "nvmlShutdown");
    LOAD(n->count, "nvmlDeviceGetCount_v2");
    LOAD(n->by_index, "nvmlDeviceGetHandleByIndex_v2");
    LOAD(n->get_name, "nvmlDeviceGetName");
    LOAD(n->get_memory, "nvmlDeviceGetMemoryInfo");
    if (!init || !n->shutdown || !n->count || !n->by_index || !n->get_name || !n->get_memory || init() != 0) {
        LP_DEBUG("worker", "NVML at %s is present but unusable; reporting no GPUs", library);
        dlclose(n->lib);
        free(n);
        return NULL;
    }
    return n;
}
#undef LOAD

size_t lp_nvml_read(lp_nvml *n, lp_gpu_info *gpus, size_t cap)
{
    unsigned count = 0;
    size_t got = 0;

    if (!n || n->count(&count) != 0)
        return 0;
    for (unsigned i = 0; i < count && got < cap; i++) {
        nvml_device dev;
        nvml_memory mem;
        lp_gpu_info *g = &gpus[got];
        memset(g, 0, sizeof *g);
        if (n->by_index(i, &dev) != 0)
            continue;
        g->index = i;
        if (n->get_name(dev, g->name, sizeof g->name) != 0)
            snprintf(g->name, sizeof g->name, "GPU %u", i);
        g->name[sizeof g->name - 1] = '\0';
        if (n->get_memory(dev, &mem) == 0) {
            g->memory_bytes = (int64_t)mem.total;
            g->memory_used_bytes = (int64_t)mem.used;
            g->memory_free_bytes = (int64_t)mem.free;
        }
        got++;
    }
    return got;
}

void lp_nvml_close(lp_nvml *n)
{
    if (!n)
        return;
    n->shutdown();
    dlclose(n->lib);
    free(n);
}
