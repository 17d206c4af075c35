/* NVIDIA GPUs through NVML (the driver's management library), loaded at run
 * time with dlopen: a worker without the library — or without a driver —
 * has no GPU, which is never an error. Only the few functions below are
 * called, declared here (no NVML header at build time):
 * nvmlInit_v2, nvmlShutdown, nvmlDeviceGetCount_v2,
 * nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetName, nvmlDeviceGetMemoryInfo.
 *
 * DESIGN (threads): an lp_nvml is used by one thread at a time. */
#ifndef LOUPE_WORKER_NVML_H
#define LOUPE_WORKER_NVML_H

#include <stddef.h>

#include "loupe/worker/host_info.h"

typedef struct lp_nvml lp_nvml;

/* Loads library (a file name the dynamic loader searches, or a path; NULL
 * or "" for none) and initialises NVML. NULL when the library is missing,
 * lacks a function above or does not initialise (no driver). */
lp_nvml *lp_nvml_open(const char *library);

/* The GPUs now, at most cap of them, into gpus[0..): index, name, memory
 * total, used and free (bytes). Returns how many (0 when n is NULL). A GPU
 * that cannot be read is left out; a name that cannot be read is "GPU i". */
size_t lp_nvml_read(lp_nvml *n, lp_gpu_info *gpus, size_t cap);

/* Shuts NVML down and unloads the library. NULL is a no-op. */
void lp_nvml_close(lp_nvml *n);

#endif
