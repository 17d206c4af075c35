/* ONNX Runtime through its C API, loaded at run time (dlopen): a process
 * without the library runs, and only running an onnx model fails, with
 * "onnx runtime not installed". The library path is the onnx_runtime_path
 * setting; any ONNX Runtime from 1.16 on serves (the API table is asked for
 * at version LP_ONNX_API_VERSION, and newer libraries keep every earlier
 * version's table).
 *
 * A session is one loaded model: CPU execution provider, or CUDA when asked
 * and the library has it. Inputs and outputs are float tensors; integer
 * outputs (class indexes) are converted to float.
 *
 * DESIGN (threads): an lp_onnx and its sessions may be used from any
 * thread, one run per session at a time (the worker runs one job at a
 * time). */
#ifndef LOUPE_INFER_ONNX_H
#define LOUPE_INFER_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/error.h"

#define LP_ONNX_API_VERSION 16
#define LP_ONNX_DIMS_MAX 8

typedef struct lp_onnx lp_onnx;
typedef struct lp_onnx_session lp_onnx_session;

/* One output tensor, owned by whoever asked for it (lp_onnx_tensors_free). */
typedef struct lp_onnx_tensor {
    char *name;
    float *data;                     /* count floats */
    size_t count;
    int64_t shape[LP_ONNX_DIMS_MAX];
    size_t ndims;
} lp_onnx_tensor;

/* Loads the library at path (a file name searched like dlopen does, or a
 * path) with intra_threads threads per run (0: the library's choice).
 * NULL with LP_E_UNAVAILABLE ("onnx runtime not installed: …") when the
 * library cannot be loaded or is older than LP_ONNX_API_VERSION. */
lp_onnx *lp_onnx_load(const char *path, int intra_threads, lp_error *err);
void lp_onnx_free(lp_onnx *rt);

/* 1 when the library was built with the CUDA execution provider. */
int lp_onnx_has_cuda(const lp_onnx *rt);

/* Whether sessions made from now on keep their intra-op threads spinning
 * between runs (the library's default, spin = 1: lowest latency when the
 * process has the cores to itself) or let them sleep (0: the cores stay
 * free for other work, e.g. decoding the next images). */
void lp_onnx_set_spinning(lp_onnx *rt, int spin);

/* Loads a model from memory (model: len bytes, copied by the library); with
 * cuda, on the CUDA execution provider (device 0). LP_E_INVALID when the
 * bytes are not a model this library runs. */
lp_onnx_session *lp_onnx_session_new(lp_onnx *rt, const void *model, size_t len, int cuda, lp_error *err);
void lp_onnx_session_free(lp_onnx_session *s);

/* The first dimension of the model's first input: the batch it takes.
 * > 0 when the model fixes it (BlazeFace: 1), -1 when any batch runs. */
int64_t lp_onnx_session_batch(const lp_onnx_session *s);

/* The session's output names in order (borrowed; n set). */
const char *const *lp_onnx_session_outputs(const lp_onnx_session *s, size_t *n);

/* Runs the model on one float input: input_name NULL = the model's first
 * input; shape (ndims entries) e.g. {batch, 3, height, width} (a batch of
 * several images one after the other in input). Fills
 * outs[0..n) with every output in order (n = lp_onnx_session_outputs);
 * free them with lp_onnx_tensors_free. LP_E_INVALID when the library
 * refuses the input (wrong name or shape). */
int lp_onnx_run(lp_onnx_session *s, const char *input_name, const float *input, const int64_t *shape, size_t ndims,
                lp_onnx_tensor *outs, lp_error *err);
void lp_onnx_tensors_free(lp_onnx_tensor *outs, size_t n);

/* The tensor of outs[0..n) called name; NULL when none. */
const lp_onnx_tensor *lp_onnx_tensor_find(const lp_onnx_tensor *outs, size_t n, const char *name);

#endif
