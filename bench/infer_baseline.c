/* infer_bench.sh's baseline: the same model on the same files, run by a minimal C program with
 * ONNX Runtime and nothing around it — each file decoded with libvips (upright sRGB, longest side
 * at most 2048, as model_image_max_side), packed into the input tensor, run, decoded — no
 * database, queue, storage or sandbox.
 *
 *   infer_baseline LIBONNXRUNTIME MODEL.onnx SPEC.json FILE…
 * Prints {"images": n, "seconds": s, "images_per_s": r, "model_ms_p50": m, "detections": d}:
 * model_ms is ONNX Runtime's run alone. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#include "loupe/core/util.h"
#include "loupe/infer/onnx.h"
#include "loupe/models/detect.h"
#include "loupe/models/tensor.h"

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    lp_error err;
    json_error_t jerr;
    lp_model_spec spec;
    size_t nfiles = argc > 4 ? (size_t)(argc - 4) : 0, nouts, dets_total = 0;
    FILE *f;
    if (argc < 5 || VIPS_INIT(argv[0])) {
        fprintf(stderr, "usage: infer_baseline LIBONNXRUNTIME MODEL.onnx SPEC.json FILE...\n");
        return 2;
    }
    lp_error_clear(&err);
    json_t *doc = json_load_file(argv[3], 0, &jerr);
    lp_onnx *rt = lp_onnx_load(argv[1], 0, &err);
    if (!doc || lp_model_spec_read(doc, 1000, &spec, &err) != 0 || !rt || !(f = fopen(argv[2], "rb"))) {
        fprintf(stderr, "infer_baseline: %s\n", err.message[0] ? err.message : "cannot read the spec or the model");
        return 1;
    }
    static char model[64 << 20];
    size_t mlen = fread(model, 1, sizeof model, f);
    fclose(f);
    lp_onnx_session *s = lp_onnx_session_new(rt, model, mlen, 0, &err);
    if (!s) {
        fprintf(stderr, "infer_baseline: %s\n", err.message);
        return 1;
    }
    lp_onnx_session_outputs(s, &nouts);
    lp_onnx_tensor *outs = calloc(nouts, sizeof *outs);
    float *tensor = malloc(lp_model_tensor_len(&spec.input) * sizeof *tensor);
    double *model_ms = calloc(nfiles, sizeof *model_ms);
    const lp_model_output *o = &spec.output;
    int64_t shape[4] = {1, spec.input.height, spec.input.width, 3};
    if (spec.input.layout == LP_MODEL_NCHW)
        shape[1] = 3, shape[2] = spec.input.height, shape[3] = spec.input.width;
    int64_t start = lp_now_mono_us();
    for (size_t i = 0; i < nfiles; i++) {
        VipsImage *img = NULL, *rgb = NULL;
        size_t len;
        lp_model_fit fit;
        if (vips_thumbnail(argv[4 + i], &img, 2048, "height", 2048, "size", VIPS_SIZE_DOWN, NULL) ||
            vips_colourspace(img, &rgb, VIPS_INTERPRETATION_sRGB, NULL)) {
            fprintf(stderr, "infer_baseline: %s: %s\n", argv[4 + i], vips_error_buffer());
            return 1;
        }
        if (rgb->Bands != 3 || rgb->BandFmt != VIPS_FORMAT_UCHAR) {
            fprintf(stderr, "infer_baseline: %s: not 8-bit RGB (use JPEGs)\n", argv[4 + i]);
            return 1;
        }
        unsigned char *px = vips_image_write_to_memory(rgb, &len);
        lp_model_fit_compute(&spec.input, rgb->Xsize, rgb->Ysize, &fit, &err);
        lp_model_tensor_pack(&spec.input, &fit, px, (size_t)rgb->Xsize * (size_t)rgb->Bands, tensor);
        int64_t t0 = lp_now_mono_us();
        if (lp_onnx_run(s, spec.input.name, tensor, shape, 4, outs, &err) != 0) {
            fprintf(stderr, "infer_baseline: %s\n", err.message);
            return 1;
        }
        model_ms[i] = (double)(lp_now_mono_us() - t0) / 1000.0;
        /* ssd_anchors with outputs split per stride, as BlazeFace gives them */
        size_t nb = 0, ns = 0;
        for (size_t k = 0; k < o->nboxes_parts; k++)
            nb += lp_onnx_tensor_find(outs, nouts, o->boxes_parts[k])->count;
        for (size_t k = 0; k < o->nscores_parts; k++)
            ns += lp_onnx_tensor_find(outs, nouts, o->scores_parts[k])->count;
        float *boxes = malloc(nb * sizeof *boxes), *scores = malloc(ns * sizeof *scores);
        lp_model_det *dets = malloc(ns * sizeof *dets);
        for (size_t k = 0, at = 0; k < o->nboxes_parts; k++) {
            const lp_onnx_tensor *t = lp_onnx_tensor_find(outs, nouts, o->boxes_parts[k]);
            memcpy(boxes + at, t->data, t->count * sizeof *boxes);
            at += t->count;
        }
        for (size_t k = 0, at = 0; k < o->nscores_parts; k++) {
            const lp_onnx_tensor *t = lp_onnx_tensor_find(outs, nouts, o->scores_parts[k]);
            memcpy(scores + at, t->data, t->count * sizeof *scores);
            at += t->count;
        }
        long n = lp_model_decode_ssd(&spec, &fit, boxes, nb / ns, scores, ns, dets, &err);
        dets_total += n > 0 ? (size_t)n : 0;
        free(boxes);
        free(scores);
        free(dets);
        lp_onnx_tensors_free(outs, nouts);
        g_free(px);
        g_object_unref(rgb);
        g_object_unref(img);
    }
    double secs = (double)(lp_now_mono_us() - start) / 1e6;
    qsort(model_ms, nfiles, sizeof *model_ms, by_value);
    printf("{\"images\": %zu, \"seconds\": %.3f, \"images_per_s\": %.1f, \"model_ms_p50\": %.2f, \"detections\": %zu}\n",
           nfiles, secs, (double)nfiles / secs, model_ms[nfiles / 2], dets_total);
    free(model_ms);
    free(tensor);
    free(outs);
    lp_onnx_session_free(s);
    lp_onnx_free(rt);
    json_decref(doc);
    return 0;
}
