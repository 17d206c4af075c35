/* ONNX Runtime loaded with dlopen. See loupe/infer/onnx.h. */
#include "loupe/infer/onnx.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ort_api_int.h"

struct lp_onnx {
    void *lib;
    const ort_fn *api;
    OrtEnv *env;
    OrtMemoryInfo *cpu;
    int threads;
    int spin;                /* intra-op threads spin between runs (the library's default) */
    int cuda;
};

struct lp_onnx_session {
    lp_onnx *rt;
    OrtSession *session;
    char *input0;            /* the first input's name */
    char **outputs;          /* names, in order */
    size_t noutputs;
    int64_t batch;           /* the first input's first dimension: > 0 fixed, -1 free */
};

#define API(rt, name) ORT_FN((rt)->api, ort_##name, ORT_FN_##name)
#define RELEASE(rt, name, p) ORT_FN((rt)->api, ort_Release, ORT_FN_Release##name)(p)

/* Turns a status into err (code, with what) and releases it. 0 when st is NULL (success). */
static int check(const lp_onnx *rt, OrtStatus *st, int code, const char *what, lp_error *err)
{
    if (!st)
        return 0;
    lp_error_set(err, code, "onnx runtime: %s: %s", what,
                 ORT_FN(rt->api, ort_GetErrorMessage, ORT_FN_GetErrorMessage)(st));
    RELEASE(rt, Status, st);
    return -1;
}

static int find_cuda(lp_onnx *rt)
{
    char **list = NULL;
    int n = 0, found = 0;
    OrtStatus *st = ORT_FN(rt->api, ort_GetAvailableProviders, ORT_FN_GetAvailableProviders)(&list, &n);
    if (st) {
        RELEASE(rt, Status, st);
        return 0;
    }
    for (int i = 0; i < n; i++)
        found |= strcmp(list[i], "CUDAExecutionProvider") == 0;
    st = ORT_FN(rt->api, ort_ReleaseAvailableProviders, ORT_FN_ReleaseAvailableProviders)(list, n);
    if (st)
        RELEASE(rt, Status, st);
    return found;
}

lp_onnx *lp_onnx_load(const char *path, int intra_threads, lp_error *err)
{
    lp_onnx *rt = calloc(1, sizeof *rt);
    const OrtApiBase *(*get_base)(void);
    const OrtApiBase *base;

    if (!rt) {
        lp_error_set(err, LP_E_NOMEM, "out of memory loading the onnx runtime");
        return NULL;
    }
    rt->threads = intra_threads;
    rt->spin = 1;
    if (!path || !*path || !(rt->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        const char *why = path && *path ? dlerror() : "onnx_runtime_path is empty";
        lp_error_set(err, LP_E_UNAVAILABLE, "onnx runtime not installed: %s", why ? why : "dlopen failed");
        goto fail;
    }
    *(void **)&get_base = dlsym(rt->lib, "OrtGetApiBase");
    if (!get_base || !(base = get_base()) || !(rt->api = base->GetApi(LP_ONNX_API_VERSION))) {
        lp_error_set(err, LP_E_UNAVAILABLE,
                     "onnx runtime not installed: %s is not an ONNX Runtime of API version %d or later", path,
                     LP_ONNX_API_VERSION);
        goto fail;
    }
    if (check(rt, API(rt, CreateEnv)(ORT_LOGGING_LEVEL_ERROR, "loupe", &rt->env), LP_E_UNAVAILABLE,
              "creating its environment", err) != 0 ||
        check(rt, API(rt, CreateCpuMemoryInfo)(ORT_ARENA_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, &rt->cpu),
              LP_E_UNAVAILABLE, "describing CPU memory", err) != 0)
        goto fail;
    OrtStatus *st = API(rt, DisableTelemetryEvents)(rt->env);
    if (st)
        RELEASE(rt, Status, st);
    rt->cuda = find_cuda(rt);
    return rt;

fail:
    lp_onnx_free(rt);
    return NULL;
}

void lp_onnx_free(lp_onnx *rt)
{
    if (!rt)
        return;
    if (rt->api) {
        if (rt->cpu)
            RELEASE(rt, MemoryInfo, rt->cpu);
        if (rt->env)
            RELEASE(rt, Env, rt->env);
    }
    /* The library stays mapped: its threads and atexit handlers may outlive
     * the environment. */
    free(rt);
}

int lp_onnx_has_cuda(const lp_onnx *rt)
{
    return rt && rt->cuda;
}

void lp_onnx_set_spinning(lp_onnx *rt, int spin)
{
    rt->spin = spin != 0;
}

static int session_options(lp_onnx *rt, int cuda, OrtSessionOptions **out, lp_error *err)
{
    OrtSessionOptions *so = NULL;
    OrtCUDAProviderOptionsV2 *co = NULL;
    if (check(rt, API(rt, CreateSessionOptions)(&so), LP_E_NOMEM, "session options", err) != 0)
        return -1;
    if (check(rt, API(rt, SetSessionGraphOptimizationLevel)(so, ORT_ENABLE_ALL), LP_E_INTERNAL, "optimization level",
              err) != 0 ||
        (rt->threads > 0 &&
         check(rt, API(rt, SetIntraOpNumThreads)(so, rt->threads), LP_E_INTERNAL, "threads", err) != 0) ||
        (!rt->spin && check(rt, API(rt, AddSessionConfigEntry)(so, "session.intra_op.allow_spinning", "0"),
                            LP_E_INTERNAL, "thread spinning", err) != 0))
        goto fail;
    if (cuda) {
        if (!rt->cuda) {
            lp_error_set(err, LP_E_UNAVAILABLE, "onnx runtime: this library has no CUDA execution provider");
            goto fail;
        }
        if (check(rt, API(rt, CreateCUDAProviderOptions)(&co), LP_E_UNAVAILABLE, "CUDA options", err) != 0)
            goto fail;
        int rc = check(rt, ORT_FN(rt->api, ort_AppendCudaV2, ORT_FN_SessionOptionsAppendExecutionProvider_CUDA_V2)(so, co),
                       LP_E_UNAVAILABLE, "CUDA execution provider", err);
        RELEASE(rt, CUDAProviderOptions, co);
        if (rc != 0)
            goto fail;
    }
    *out = so;
    return 0;

fail:
    RELEASE(rt, SessionOptions, so);
    return -1;
}

/* The first input's first dimension into s->batch (-1: free, or no dimension). */
static int input_batch(lp_onnx_session *s, lp_error *err)
{
    lp_onnx *rt = s->rt;
    OrtTypeInfo *type = NULL;
    const OrtTensorTypeAndShapeInfo *info = NULL;
    size_t ndims = 0;
    int64_t dims[LP_ONNX_DIMS_MAX];
    int rc = -1;

    s->batch = -1;
    if (check(rt, API(rt, SessionGetInputTypeInfo)(s->session, 0, &type), LP_E_INTERNAL, "input type", err) != 0)
        return -1;
    if (check(rt, API(rt, CastTypeInfoToTensorInfo)(type, &info), LP_E_INTERNAL, "input type", err) != 0)
        goto done;
    if (!info) { /* not a tensor: the run refuses it */
        rc = 0;
        goto done;
    }
    if (check(rt, API(rt, GetDimensionsCount)(info, &ndims), LP_E_INTERNAL, "input shape", err) != 0 ||
        (ndims > 0 && ndims <= LP_ONNX_DIMS_MAX &&
         check(rt, API(rt, GetDimensions)(info, dims, ndims), LP_E_INTERNAL, "input shape", err) != 0))
        goto done;
    if (ndims > 0 && ndims <= LP_ONNX_DIMS_MAX && dims[0] > 0)
        s->batch = dims[0];
    rc = 0;

done:
    RELEASE(rt, TypeInfo, type);
    return rc;
}

static int session_names(lp_onnx_session *s, lp_error *err)
{
    lp_onnx *rt = s->rt;
    OrtAllocator *al = NULL;
    size_t nin = 0;
    char *name = NULL;

    if (check(rt, API(rt, GetAllocatorWithDefaultOptions)(&al), LP_E_NOMEM, "allocator", err) != 0 ||
        check(rt, ORT_FN(rt->api, ort_SessionGetCount, ORT_FN_SessionGetInputCount)(s->session, &nin), LP_E_INTERNAL,
              "inputs", err) != 0 ||
        check(rt, ORT_FN(rt->api, ort_SessionGetCount, ORT_FN_SessionGetOutputCount)(s->session, &s->noutputs),
              LP_E_INTERNAL, "outputs", err) != 0)
        return -1;
    if (nin == 0 || s->noutputs == 0)
        return lp_error_set(err, LP_E_INVALID, "the model has no %s", nin == 0 ? "input" : "output");
    if (check(rt, ORT_FN(rt->api, ort_SessionGetName, ORT_FN_SessionGetInputName)(s->session, 0, al, &name),
              LP_E_INTERNAL, "input name", err) != 0)
        return -1;
    s->input0 = strdup(name);
    ORT_FN(rt->api, ort_AllocatorFree, ORT_FN_AllocatorFree)(al, name);
    if (input_batch(s, err) != 0)
        return -1;
    if (!s->input0 || !(s->outputs = calloc(s->noutputs, sizeof *s->outputs)))
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a model's names");
    for (size_t i = 0; i < s->noutputs; i++) {
        if (check(rt, ORT_FN(rt->api, ort_SessionGetName, ORT_FN_SessionGetOutputName)(s->session, i, al, &name),
                  LP_E_INTERNAL, "output name", err) != 0)
            return -1;
        s->outputs[i] = strdup(name);
        ORT_FN(rt->api, ort_AllocatorFree, ORT_FN_AllocatorFree)(al, name);
        if (!s->outputs[i])
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading a model's names");
    }
    return 0;
}

lp_onnx_session *lp_onnx_session_new(lp_onnx *rt, const void *model, size_t len, int cuda, lp_error *err)
{
    lp_onnx_session *s = calloc(1, sizeof *s);
    OrtSessionOptions *so = NULL;
    int rc;

    if (!s) {
        lp_error_set(err, LP_E_NOMEM, "out of memory loading a model");
        return NULL;
    }
    s->rt = rt;
    if (session_options(rt, cuda, &so, err) != 0) {
        free(s);
        return NULL;
    }
    rc = check(rt, API(rt, CreateSessionFromArray)(rt->env, model, len, so, &s->session), LP_E_INVALID,
               "loading the model", err);
    RELEASE(rt, SessionOptions, so);
    if (rc != 0 || session_names(s, err) != 0) {
        lp_onnx_session_free(s);
        return NULL;
    }
    return s;
}

void lp_onnx_session_free(lp_onnx_session *s)
{
    if (!s)
        return;
    if (s->session)
        RELEASE(s->rt, Session, s->session);
    free(s->input0);
    for (size_t i = 0; s->outputs && i < s->noutputs; i++)
        free(s->outputs[i]);
    free(s->outputs);
    free(s);
}

int64_t lp_onnx_session_batch(const lp_onnx_session *s)
{
    return s->batch;
}

const char *const *lp_onnx_session_outputs(const lp_onnx_session *s, size_t *n)
{
    *n = s->noutputs;
    return (const char *const *)s->outputs;
}

/* Copies one output value into t as floats. */
static int take_output(lp_onnx *rt, OrtValue *v, const char *name, lp_onnx_tensor *t, lp_error *err)
{
    OrtTensorTypeAndShapeInfo *info = NULL;
    void *data = NULL;
    int type = 0, rc = -1;
    size_t count = 0;

    if (check(rt, API(rt, GetTensorTypeAndShape)(v, &info), LP_E_INVALID, "an output is not a tensor", err) != 0)
        return -1;
    if (check(rt, API(rt, GetTensorElementType)(info, &type), LP_E_INTERNAL, "output type", err) != 0 ||
        check(rt, API(rt, GetDimensionsCount)(info, &t->ndims), LP_E_INTERNAL, "output shape", err) != 0)
        goto done;
    if (t->ndims > LP_ONNX_DIMS_MAX) {
        lp_error_set(err, LP_E_INVALID, "output %s has %zu dimensions (at most %d)", name, t->ndims, LP_ONNX_DIMS_MAX);
        goto done;
    }
    if (check(rt, API(rt, GetDimensions)(info, t->shape, t->ndims), LP_E_INTERNAL, "output shape", err) != 0 ||
        check(rt, API(rt, GetTensorShapeElementCount)(info, &count), LP_E_INTERNAL, "output size", err) != 0 ||
        check(rt, API(rt, GetTensorMutableData)(v, &data), LP_E_INTERNAL, "output data", err) != 0)
        goto done;
    if (type != ORT_TENSOR_FLOAT && type != ORT_TENSOR_DOUBLE && type != ORT_TENSOR_INT64 &&
        type != ORT_TENSOR_INT32 && type != ORT_TENSOR_UINT8) {
        lp_error_set(err, LP_E_INVALID, "output %s has element type %d (float, double or integers are read)", name,
                     type);
        goto done;
    }
    t->name = strdup(name);
    t->data = malloc((count ? count : 1) * sizeof(float));
    if (!t->name || !t->data) {
        lp_error_set(err, LP_E_NOMEM, "out of memory copying output %s", name);
        goto done;
    }
    t->count = count;
    for (size_t i = 0; i < count; i++) {
        switch (type) {
        case ORT_TENSOR_FLOAT: t->data[i] = ((const float *)data)[i]; break;
        case ORT_TENSOR_DOUBLE: t->data[i] = (float)((const double *)data)[i]; break;
        case ORT_TENSOR_INT64: t->data[i] = (float)((const int64_t *)data)[i]; break;
        case ORT_TENSOR_INT32: t->data[i] = (float)((const int32_t *)data)[i]; break;
        default: t->data[i] = (float)((const uint8_t *)data)[i]; break;
        }
    }
    rc = 0;

done:
    RELEASE(rt, TensorTypeAndShapeInfo, info);
    return rc;
}

int lp_onnx_run(lp_onnx_session *s, const char *input_name, const float *input, const int64_t *shape, size_t ndims,
                lp_onnx_tensor *outs, lp_error *err)
{
    lp_onnx *rt = s->rt;
    OrtValue *in = NULL, **vals = calloc(s->noutputs, sizeof *vals);
    const char *in_name = input_name ? input_name : s->input0;
    size_t count = 1;
    int rc = -1;

    memset(outs, 0, s->noutputs * sizeof *outs);
    if (!vals)
        return lp_error_set(err, LP_E_NOMEM, "out of memory running a model");
    for (size_t i = 0; i < ndims; i++)
        count *= (size_t)shape[i];
    if (check(rt,
              API(rt, CreateTensorWithDataAsOrtValue)(rt->cpu, (void *)input, count * sizeof(float), shape, ndims,
                                                      ORT_TENSOR_FLOAT, &in),
              LP_E_INVALID, "the input tensor", err) != 0)
        goto done;
    if (check(rt,
              API(rt, Run)(s->session, NULL, &in_name, (const OrtValue *const *)&in, 1,
                           (const char *const *)s->outputs, s->noutputs, vals),
              LP_E_INVALID, "running the model", err) != 0)
        goto done;
    for (size_t i = 0; i < s->noutputs; i++) {
        if (take_output(rt, vals[i], s->outputs[i], &outs[i], err) != 0)
            goto done;
    }
    rc = 0;

done:
    if (in)
        RELEASE(rt, Value, in);
    for (size_t i = 0; i < s->noutputs; i++) {
        if (vals[i])
            RELEASE(rt, Value, vals[i]);
    }
    free(vals);
    if (rc != 0)
        lp_onnx_tensors_free(outs, s->noutputs);
    return rc;
}

void lp_onnx_tensors_free(lp_onnx_tensor *outs, size_t n)
{
    for (size_t i = 0; outs && i < n; i++) {
        free(outs[i].name);
        free(outs[i].data);
        memset(&outs[i], 0, sizeof outs[i]);
    }
}

const lp_onnx_tensor *lp_onnx_tensor_find(const lp_onnx_tensor *outs, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++) {
        if (outs[i].name && strcmp(outs[i].name, name) == 0)
            return &outs[i];
    }
    return NULL;
}
