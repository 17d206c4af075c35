/* What a registered model says about itself (docs/MODELS.md): its task, its
 * runtime, how an image becomes its input tensor and how its output tensors
 * become shapes. One reader checks a JSON body against all of it, names
 * every offending member ("output.names.boxes", "input.mean[2]") and fills
 * the struct the inference code runs from. Pure: no database, no I/O. */
#ifndef LOUPE_MODELS_SPEC_H
#define LOUPE_MODELS_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "loupe/core/error.h"

/* A model's name and each of its labels: the settings model_name_max and
 * model_label_max (these are their defaults, which lp_model_spec_read uses),
 * never more than LP_MODEL_NAME_CEIL. Tensor names are a fixed bound: they
 * are held in fixed buffers and in the URLs of a model server's calls. */
#define LP_MODEL_NAME_MAX 200
#define LP_MODEL_LABEL_MAX 200
#define LP_MODEL_NAME_CEIL 4096
#define LP_MODEL_URL_MAX 2048
#define LP_MODEL_TENSOR_NAME_MAX 128
#define LP_MODEL_SIDE_MAX 8192
#define LP_MODEL_STRIDES_MAX 8

typedef enum lp_model_task {
    LP_MODEL_DETECT = 0,
    LP_MODEL_SEGMENT,
    LP_MODEL_CLASSIFY,
    LP_MODEL_KEYPOINTS,
    LP_MODEL_TEXT_DETECT
} lp_model_task;

typedef enum lp_model_runtime { LP_MODEL_ONNX = 0, LP_MODEL_HTTP } lp_model_runtime;
typedef enum lp_model_protocol { LP_MODEL_KSERVE_V2 = 0, LP_MODEL_V7_BYOM } lp_model_protocol;
typedef enum lp_model_layout { LP_MODEL_NCHW = 0, LP_MODEL_NHWC } lp_model_layout;
typedef enum lp_model_resize { LP_MODEL_LETTERBOX = 0, LP_MODEL_STRETCH } lp_model_resize;
typedef enum lp_model_queue { LP_MODEL_CPU = 0, LP_MODEL_GPU } lp_model_queue;

typedef enum lp_model_decoder {
    LP_DEC_BOXES_SCORES_CLASSES = 0,
    LP_DEC_SSD_ANCHORS,
    LP_DEC_MASKS,
    LP_DEC_KEYPOINTS,
    LP_DEC_TEXT_POLYGONS,
    LP_DEC_LOGITS
} lp_model_decoder;

typedef enum lp_model_box_format { LP_BOX_XYXY = 0, LP_BOX_XYXY_NORM, LP_BOX_CXCYWH_NORM } lp_model_box_format;

/* What a masks decoder's masks cover: the whole input tensor, each instance's box, or the input
 * tensor through prototypes mixed by per-instance coefficients (YOLO-seg). */
typedef enum lp_model_mask_layout { LP_MASK_IMAGE = 0, LP_MASK_BOX, LP_MASK_PROTOTYPES } lp_model_mask_layout;

/* The names of the choices, NULL-terminated, indexed by the enums above. */
extern const char *const lp_model_task_names[];
extern const char *const lp_model_runtime_names[];
extern const char *const lp_model_protocol_names[];
extern const char *const lp_model_layout_names[];
extern const char *const lp_model_resize_names[];
extern const char *const lp_model_queue_names[];
extern const char *const lp_model_decoder_names[];
extern const char *const lp_model_box_format_names[];
extern const char *const lp_model_mask_layout_names[];

typedef struct lp_model_input {
    int width, height;
    lp_model_layout layout;
    lp_model_resize resize;
    double scale;      /* pixel value (0..255) × scale … */
    double mean[3];    /* … minus mean[channel] … */
    double std[3];     /* … divided by std[channel] */
    const char *name;  /* the input tensor's name; NULL = the model's first input (borrowed) */
} lp_model_input;

/* The output side. Tensor names are borrowed from the JSON document; NULL
 * where the decoder's default (the model's outputs in order) applies. */
typedef struct lp_model_output {
    lp_model_decoder decoder;
    const char *boxes, *scores, *classes, *masks, *prototypes, *keypoints, *probability_map, *logits, *embedding;
    lp_model_box_format box_format;
    int max_detections;           /* boxes_scores_classes, ssd_anchors, masks, keypoints */
    int strides[LP_MODEL_STRIDES_MAX]; /* ssd_anchors: one feature map per stride */
    int anchors_per_cell[LP_MODEL_STRIDES_MAX];
    size_t nstrides;
    double box_scale;             /* ssd_anchors: offsets are in pixels of a box_scale side (0 = input width) */
    int score_sigmoid;            /* ssd_anchors: scores are logits */
    /* ssd_anchors: boxes and scores split in one tensor per stride (names.boxes and names.scores
     * given as arrays), concatenated in stride order; boxes/scores then name the first. */
    const char *boxes_parts[LP_MODEL_STRIDES_MAX], *scores_parts[LP_MODEL_STRIDES_MAX];
    size_t nboxes_parts, nscores_parts;
    double mask_threshold;        /* masks: a mask pixel is the instance's at or over it */
    lp_model_mask_layout mask_layout; /* masks */
    int mask_sigmoid;             /* masks: mask values are logits */
    int keypoints_count;          /* keypoints */
    double keypoint_threshold;    /* keypoints: a point scored under it is occluded */
    double binary_threshold, unclip_ratio; /* text_polygons */
    int min_size;                 /* text_polygons: smallest side kept, in pixels of the map */
    int softmax;                  /* logits: apply softmax first */
    int top_k;                    /* logits: labels kept, best first */
} lp_model_output;

typedef struct lp_model_spec {
    const char *name; /* borrowed */
    lp_model_task task;
    lp_model_runtime runtime;
    lp_model_protocol protocol;                /* runtime http */
    const char *endpoint_url, *endpoint_model; /* runtime http; borrowed */
    lp_model_input input;
    lp_model_output output;
    const json_t *labels;    /* array of strings (borrowed) */
    const json_t *class_map; /* object label → class id; NULL when none (borrowed) */
    double score_threshold, nms_iou;
    lp_model_queue queue;
} lp_model_spec;

/* Reads doc (a model as POST /api/v1/models takes it) into out, every
 * default applied; out borrows doc's strings. labels_max bounds labels.
 * Unknown members, wrong types, out-of-range values, options a decoder does
 * not have, a decoder unfit for the task, class_map keys not among labels
 * and class_map values that are not UUIDs are LP_E_INVALID field errors
 * ("input.layout", "output.strides[1]", "class_map.face"), all of them
 * reported at once. 0, or -1 with err set. */
int lp_model_spec_read(const json_t *doc, size_t labels_max, lp_model_spec *out, lp_error *err);

/* The bounds a spec is read under (the settings model_labels_max,
 * model_name_max and model_label_max). */
typedef struct lp_model_spec_limits {
    size_t labels_max; /* most labels */
    size_t name_max;   /* longest name, in bytes */
    size_t label_max;  /* longest label, in bytes */
} lp_model_spec_limits;

/* lp_model_spec_read under lim; an over-long name or label is refused
 * naming the setting ("… over the limit of 200 (model_name_max)"). */
int lp_model_spec_read_limits(const json_t *doc, const lp_model_spec_limits *lim, lp_model_spec *out, lp_error *err);

/* The spec as the API shows it and the registry stores it: every member,
 * defaults written out. New reference, or NULL out of memory. */
json_t *lp_model_spec_json(const lp_model_spec *s);

#endif
