/* A stand-in for NVML (libnvidia-ml.so.1) built for nvml_test.c: the six functions loupe-worker
 * calls, answering for two GPUs. Device 0 reads "Fake GPU A100" with 16 GiB of which 1 MiB more is
 * used at every read (so a test sees memory read again); device 1 has no readable name or memory.
 * Exported with C linkage and the driver's names; not a test itself. */
#include <string.h>

typedef struct fake_memory {
    unsigned long long total, free, used;
} fake_memory;

#define MIB (1024ULL * 1024)
#define GIB (1024 * MIB)

static int initialised;
static unsigned long long reads;

int nvmlInit_v2(void);
int nvmlShutdown(void);
int nvmlDeviceGetCount_v2(unsigned *count);
int nvmlDeviceGetHandleByIndex_v2(unsigned index, void **device);
int nvmlDeviceGetName(void *device, char *name, unsigned length);
int nvmlDeviceGetMemoryInfo(void *device, fake_memory *memory);

static int devices[2];

int nvmlInit_v2(void)
{
    initialised = 1;
    return 0;
}

int nvmlShutdown(void)
{
    initialised = 0;
    return 0;
}

int nvmlDeviceGetCount_v2(unsigned *count)
{
    if (!initialised)
        return 1; /* NVML_ERROR_UNINITIALIZED */
    *count = 2;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned index, void **device)
{
    if (!initialised || index > 1)
        return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *device = &devices[index];
    return 0;
}

int nvmlDeviceGetName(void *device, char *name, unsigned length)
{
    if (device != &devices[0] || length < 16)
        return 3; /* NVML_ERROR_NOT_SUPPORTED */
    strcpy(name, "Fake GPU A100");
    return 0;
}

int nvmlDeviceGetMemoryInfo(void *device, fake_memory *memory)
{
    if (device != &devices[0])
        return 3;
    reads++;
    memory->total = 16 * GIB;
    memory->used = reads * MIB;
    memory->free = memory->total - memory->used;
    return 0;
}
