/* The part of ONNX Runtime's C API (onnxruntime_c_api.h) this area calls,
 * declared by position: OrtApi is a table of function pointers that only
 * ever grows (a function keeps its index in every later version), so the
 * indexes below hold for every library that hands out the table at
 * LP_ONNX_API_VERSION. Objects are opaque. */
#ifndef LOUPE_INFER_ORT_API_INT_H
#define LOUPE_INFER_ORT_API_INT_H

#include <stddef.h>
#include <stdint.h>

typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtAllocator OrtAllocator;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtTypeInfo OrtTypeInfo;
typedef struct OrtCUDAProviderOptionsV2 OrtCUDAProviderOptionsV2;

typedef struct OrtApiBase {
    const void *(*GetApi)(uint32_t version);  /* the table (void *const *), NULL when too new */
    const char *(*GetVersionString)(void);
} OrtApiBase;

/* Values of the C API's enums. */
enum {
    ORT_LOGGING_LEVEL_ERROR = 3,
    ORT_ENABLE_ALL = 99,
    ORT_ARENA_ALLOCATOR = 1,
    ORT_MEM_TYPE_DEFAULT = 0,
    ORT_TENSOR_FLOAT = 1,
    ORT_TENSOR_UINT8 = 2,
    ORT_TENSOR_INT32 = 6,
    ORT_TENSOR_INT64 = 7,
    ORT_TENSOR_DOUBLE = 11
};

/* Index in the table, and the function's type. */
#define ORT_FN_GetErrorMessage 2
typedef const char *(*ort_GetErrorMessage)(const OrtStatus *);
#define ORT_FN_CreateEnv 3
typedef OrtStatus *(*ort_CreateEnv)(int level, const char *logid, OrtEnv **out);
#define ORT_FN_DisableTelemetryEvents 6
typedef OrtStatus *(*ort_DisableTelemetryEvents)(const OrtEnv *);
#define ORT_FN_CreateSessionFromArray 8
typedef OrtStatus *(*ort_CreateSessionFromArray)(const OrtEnv *, const void *data, size_t len,
                                                 const OrtSessionOptions *, OrtSession **out);
#define ORT_FN_Run 9
typedef OrtStatus *(*ort_Run)(OrtSession *, const void *run_options, const char *const *input_names,
                              const OrtValue *const *inputs, size_t ninputs, const char *const *output_names,
                              size_t noutputs, OrtValue **outputs);
#define ORT_FN_CreateSessionOptions 10
typedef OrtStatus *(*ort_CreateSessionOptions)(OrtSessionOptions **out);
#define ORT_FN_SetSessionGraphOptimizationLevel 23
typedef OrtStatus *(*ort_SetSessionGraphOptimizationLevel)(OrtSessionOptions *, int level);
#define ORT_FN_SetIntraOpNumThreads 24
typedef OrtStatus *(*ort_SetIntraOpNumThreads)(OrtSessionOptions *, int n);
#define ORT_FN_SessionGetInputCount 30
#define ORT_FN_SessionGetOutputCount 31
typedef OrtStatus *(*ort_SessionGetCount)(const OrtSession *, size_t *out);
#define ORT_FN_SessionGetInputTypeInfo 33
typedef OrtStatus *(*ort_SessionGetInputTypeInfo)(const OrtSession *, size_t index, OrtTypeInfo **out);
#define ORT_FN_SessionGetInputName 36
#define ORT_FN_SessionGetOutputName 37
typedef OrtStatus *(*ort_SessionGetName)(const OrtSession *, size_t index, OrtAllocator *, char **out);
#define ORT_FN_CreateTensorWithDataAsOrtValue 49
typedef OrtStatus *(*ort_CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo *, void *data, size_t bytes,
                                                         const int64_t *shape, size_t ndims, int type, OrtValue **out);
#define ORT_FN_GetTensorMutableData 51
typedef OrtStatus *(*ort_GetTensorMutableData)(OrtValue *, void **out);
#define ORT_FN_CastTypeInfoToTensorInfo 55
typedef OrtStatus *(*ort_CastTypeInfoToTensorInfo)(const OrtTypeInfo *, const OrtTensorTypeAndShapeInfo **out);
#define ORT_FN_GetTensorElementType 60
typedef OrtStatus *(*ort_GetTensorElementType)(const OrtTensorTypeAndShapeInfo *, int *out);
#define ORT_FN_GetDimensionsCount 61
typedef OrtStatus *(*ort_GetDimensionsCount)(const OrtTensorTypeAndShapeInfo *, size_t *out);
#define ORT_FN_GetDimensions 62
typedef OrtStatus *(*ort_GetDimensions)(const OrtTensorTypeAndShapeInfo *, int64_t *out, size_t n);
#define ORT_FN_GetTensorShapeElementCount 64
typedef OrtStatus *(*ort_GetTensorShapeElementCount)(const OrtTensorTypeAndShapeInfo *, size_t *out);
#define ORT_FN_GetTensorTypeAndShape 65
typedef OrtStatus *(*ort_GetTensorTypeAndShape)(const OrtValue *, OrtTensorTypeAndShapeInfo **out);
#define ORT_FN_CreateCpuMemoryInfo 69
typedef OrtStatus *(*ort_CreateCpuMemoryInfo)(int allocator_type, int mem_type, OrtMemoryInfo **out);
#define ORT_FN_AllocatorFree 76
typedef OrtStatus *(*ort_AllocatorFree)(OrtAllocator *, void *p);
#define ORT_FN_GetAllocatorWithDefaultOptions 78
typedef OrtStatus *(*ort_GetAllocatorWithDefaultOptions)(OrtAllocator **out);
#define ORT_FN_ReleaseEnv 92
#define ORT_FN_ReleaseStatus 93
#define ORT_FN_ReleaseMemoryInfo 94
#define ORT_FN_ReleaseSession 95
#define ORT_FN_ReleaseValue 96
#define ORT_FN_ReleaseTypeInfo 98
#define ORT_FN_ReleaseTensorTypeAndShapeInfo 99
#define ORT_FN_ReleaseSessionOptions 100
#define ORT_FN_ReleaseCUDAProviderOptions 208
typedef void (*ort_Release)(void *);
#define ORT_FN_GetAvailableProviders 125
typedef OrtStatus *(*ort_GetAvailableProviders)(char ***out, int *n);
#define ORT_FN_ReleaseAvailableProviders 126
typedef OrtStatus *(*ort_ReleaseAvailableProviders)(char **list, int n);
#define ORT_FN_AddSessionConfigEntry 130
typedef OrtStatus *(*ort_AddSessionConfigEntry)(OrtSessionOptions *, const char *key, const char *value);
#define ORT_FN_SessionOptionsAppendExecutionProvider_CUDA_V2 204
typedef OrtStatus *(*ort_AppendCudaV2)(OrtSessionOptions *, const OrtCUDAProviderOptionsV2 *);
#define ORT_FN_CreateCUDAProviderOptions 205
typedef OrtStatus *(*ort_CreateCUDAProviderOptions)(OrtCUDAProviderOptionsV2 **out);

/* The function at index i of table t, as type T. */
typedef void (*ort_fn)(void);
#define ORT_FN(t, T, i) ((T)(t)[i])

#endif
