/* Running a registered model on a slot's image, in a worker: what the
 * models.run job (batch) and live inference share (docs/MODELS.md).
 *
 *   the model   read from the registry, its spec checked again, its .onnx
 *               file fetched from storage and loaded into an ONNX Runtime
 *               session (loupe/infer/onnx.h), or its model server asked
 *               about it (runtime http, loupe/infer/http.h) — kept per
 *               process, by model id and version, for the next item and the
 *               next job
 *   the image   the slot's smallest derived image that still holds what
 *               the model needs, else its original
 *               (lp_model_infer_source), decoded in the sandbox
 *               (lp_decoder_pixels, longest side model_image_max_side,
 *               and no larger than the model's input box needs: JPEGs
 *               shrink while they are decoded)
 *   the tensor  fit and packing of loupe/models/tensor.h; several images
 *               in one run when the model's input takes a batch
 *   the shapes  the model's decoder (loupe/models/detect.h, shapes.h), in
 *               the slot's pixels; keypoints named after the skeleton of
 *               their class (read when the model is loaded)
 *
 * ONNX Runtime runs with infer_threads threads (0: one per core, less one
 * for the decoder when there are more than two), its idle threads asleep.
 *
 * DESIGN (threads): one caller at a time (the worker runs one job at a
 * time); a loaded model stays valid until the next lp_model_infer_load.
 * lp_model_infer_slots decodes on a thread of its own, ahead of the model,
 * and joins it before it returns. */
#ifndef LOUPE_JOBS_MODEL_INFER_H
#define LOUPE_JOBS_MODEL_INFER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/items_sql.h"
#include "loupe/media/image.h"
#include "loupe/models/detect.h"
#include "loupe/models/spec.h"

typedef struct lp_model_loaded lp_model_loaded;

/* The team's model model_id, ready to run (borrowed; see DESIGN). Errors:
 * LP_E_NOT_FOUND (no such live model), LP_E_INVALID (no file uploaded, a
 * decoder not run yet, a file the runtime refuses, a model server whose
 * model does not fit the spec), LP_E_UNAVAILABLE ("onnx runtime not
 * installed: …", a model server that cannot be reached), LP_E_TIMEOUT. */
int lp_model_infer_load(lp_db *db, const lp_config *cfg, const char *team_id, const char *model_id,
                        lp_model_loaded **out, lp_error *err);

/* The loaded model's spec (borrowed). */
const lp_model_spec *lp_model_infer_spec(const lp_model_loaded *m);

/* An item's embedding (active learning's novelty): the model's
 * output.names.embedding tensor, else the built-in image descriptor
 * (loupe/models/score.h); L2-normalised. */
typedef struct lp_model_embedding {
    float *v;       /* dims values (arena) */
    size_t dims;
    int from_model; /* 1: the model's, 0: the descriptor */
} lp_model_embedding;

/* Most images one model run takes (infer_batch is at most this). */
#define LP_MODEL_INFER_BATCH_MAX 64

/* One image of lp_model_infer_slots. */
typedef struct lp_model_infer_item {
    const lp_slot_row *slot;  /* in (borrowed): an image slot whose original is stored */
    int embed;                /* in: 1 to have its embedding in emb */
    lp_model_det *dets;       /* out: its detections (in the arena; their probs copied there too), in the
                               * slot's pixels */
    size_t n;                 /* out */
    lp_model_embedding emb;   /* out, when embed: an embedding over model_embedding_max values, or a named
                               * embedding output the model lacks, is LP_E_INVALID in err */
    lp_error err;             /* out: LP_OK, or why it has none (LP_E_TIMEOUT past the deadline,
                               * LP_E_INVALID when the slot has no image to run on) */
    int width, height;        /* out: the size of the image as decoded for the model */
} lp_model_infer_item;

/* Where the time of lp_model_infer_slots went, in microseconds (added to). */
typedef struct lp_model_infer_stats {
    int64_t images;           /* run and decoded */
    int64_t runs;             /* model runs (batches) */
    int64_t fetch_us;         /* originals copied from storage   } on the decoding thread, */
    int64_t decode_us;        /* sandboxed decode and shrink     } beside the model's */
    int64_t wait_us;          /* the model waiting for decoded images */
    int64_t pack_us;          /* input tensors */
    int64_t run_us;           /* ONNX Runtime */
    int64_t outputs_us;       /* output decoding */
} lp_model_infer_stats;

/* Runs m on the images of items[0..n): a second thread fetches and decodes
 * them in order, at most two batches ahead of the model, which runs them a
 * batch at a time (the model's fixed batch, the rest of it blank; else up
 * to infer_batch). A model whose outputs turn out not to follow the batch
 * is run one image at a time from then on. Each item's result or error is
 * in it (an image past deadline_ms: LP_E_TIMEOUT). 0, or -1 with err when
 * nothing could be run (out of memory). stats must not be NULL. */
int lp_model_infer_slots(const lp_config *cfg, lp_model_loaded *m, lp_model_infer_item *items, size_t n, lp_arena *a,
                         int64_t deadline_ms, lp_model_infer_stats *stats, lp_error *err);

/* The stored file a model decodes for an image slot of width × height
 * (upright): of the derived images the ingest made (storage members
 * "thumbnail" and "preview": upright 8-bit sRGB JPEGs, sized by media's
 * thumbnail_width/height and preview_width/height), the smallest whose
 * longest side still holds the lp_image_fit_side(width, height, max_side,
 * fit) pixels the model needs and is shorter than the original's — fewer
 * pixels to decode, the same picture; else storage's "original". An image
 * with alpha (media.has_alpha: derived images are flattened on white, the
 * model's pixels on black) or of unknown size decodes its original. NULL
 * when storage names no original. Borrowed from storage; media may be NULL.
 * Pure. */
const char *lp_model_infer_source(const json_t *storage, const json_t *media, int64_t width, int64_t height,
                                  int max_side, const lp_image_fit *fit);

/* ONNX Runtime's threads per run: setting (infer_threads) when > 0, else
 * the worker's cpus, less one (left to the decoder) when more than two. */
int lp_model_infer_threads(int64_t setting, long cpus);

/* One detection as a prediction row of lp_db_predictions_insert: {"item_id",
 * "slot", "ordinal", "label", "class_id", "type", "geom" (hex blob),
 * "score", "<type>": <the shape as annotations show it>, "probabilities"?:
 * [one per label] (when the model gives them)}. New reference, NULL out of
 * memory. */
json_t *lp_model_infer_det_json(const lp_model_loaded *m, const char *item_id, const char *slot, int ordinal,
                                const lp_model_det *d);

/* Live inference (POST /api/v1/models/{id}/infer): the request louped
 * sends over RabbitMQ to the model's queue, and the worker's answer.
 *
 *   request {"v": 1, "rpc": "models.infer", "team_id", "model_id",
 *            "model_version"?, "item_id", "slot", "slot_id"?, "width"?,
 *            "height"?, "storage"?, "media"?, "expires_at_ms"}
 *           (wall-clock ms) — the model's version and the slot's row
 *           (its id, size, storage object and metadata.media) as louped
 *           read them: a worker that holds the model at that version reads
 *           neither row again (without them it reads both);
 *           or, for an image sent with the request, "image_id" instead of
 *           item_id and slot: the image louped stored at
 *           lp_storage_key_model_input(team_id, image_id)
 *   answer  {"predictions": [{"label", "class_id", "score",
 *            "<type>": <shape>}], "infer_ms",  (e.g. "bounding_box": {x, y, w, h})
 *            "stages_ms": {"lookup", "fetch", "decode", "model"},
 *            "image": {width, height}}   (image: for an image_id only — the
 *           decoded image the shapes are in)
 *           or {"error": {"code": "<lp_code_name>", "message"}}
 *
 * lp_model_infer_is_request: 1 when body (len bytes) is such a request.
 * lp_model_infer_answer: the answer to req (NULL when it expired: nobody
 * waits for it any more); new reference. */
#define LP_MODEL_INFER_RPC "models.infer"
int lp_model_infer_is_request(const char *body, size_t len);
json_t *lp_model_infer_answer(lp_db *db, const lp_config *cfg, lp_arena *a, const char *body, size_t len);

#endif
