/* What a worker announces about its machine: host name, CPUs, memory and
 * NVIDIA GPUs. GPUs are read through NVML (loupe/worker/nvml.h), loaded at
 * run time with dlopen (nvml_library, "libnvidia-ml.so.1"); without the
 * library (or without a driver) the list is empty — never an error. */
#ifndef LOUPE_WORKER_HOST_INFO_H
#define LOUPE_WORKER_HOST_INFO_H

#include <stddef.h>
#include <stdint.h>

#define LP_HOST_GPUS_MAX 16

typedef struct lp_gpu_info {
    unsigned index;
    char name[96];
    int64_t memory_bytes;      /* total */
    int64_t memory_used_bytes; /* when read */
    int64_t memory_free_bytes;
} lp_gpu_info;

typedef struct lp_host_info {
    char host[256];
    int cpus;                /* online CPUs */
    int64_t memory_bytes;    /* MemTotal; 0 if unknown */
    size_t ngpus;
    lp_gpu_info gpus[LP_HOST_GPUS_MAX];
} lp_host_info;

/* Fills out (fields that cannot be read stay 0 / empty); GPUs through the
 * NVML library nvml_library (NULL or "": none). */
void lp_host_info_read(lp_host_info *out, const char *nvml_library);

/* MemTotal of a /proc/meminfo text in bytes, or -1 when absent or malformed. */
int64_t lp_meminfo_total(const char *text);

/* GPUs as a JSON array [{"index":0,"name":"…","memory_bytes":…,
 * "memory_used_bytes":…,"memory_free_bytes":…}] into out (cap bytes).
 * Returns the length, or -1 if it does not fit. */
int lp_host_gpus_json(const lp_host_info *h, char *out, size_t cap);

#endif
