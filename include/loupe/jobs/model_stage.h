/* Workflow model stages (docs/WORKFLOWS.md, "model"): the tasks that come
 * to rest on one start a batch run of its model over their items — a
 * models.run job like POST /api/v1/models/{id}/runs, its payload holding
 * "stage": {"workflow_id", "stage_id"} — and that run moves them on through
 * the stage's port done once their predictions are stored.
 *
 *   start   in the transaction that places the tasks: one job per batch of
 *           tasks (per LP_ITEMS_IDS_MAX), and a model_stage_tasks row per
 *           task naming it (loupe/db/model_stage_sql.h)
 *   finish  at the end of the run, in one transaction: the tasks it names
 *           that still rest on the stage are locked, their predictions
 *           scoring at least min_score accepted into annotations when the
 *           stage says accept, the tasks moved on (history action "model"),
 *           the rows deleted — so a run delivered again after its worker
 *           died moves nothing twice.
 * A run that fails for good leaves its tasks on the stage; the task shows
 * the run (GET /api/v1/tasks/{id}, "model_run"), and a manager may send it
 * on (POST /api/v1/tasks/{id}/continue). */
#ifndef LOUPE_JOBS_MODEL_STAGE_H
#define LOUPE_JOBS_MODEL_STAGE_H

#include <jansson.h>
#include <stddef.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/annotation/annotation.h"
#include "loupe/db/db.h"
#include "loupe/db/predictions_sql.h"
#include "loupe/jobs/job.h"
#include "loupe/workflow/engine.h"

/* Predictions rows[0..n) (read with their shapes) as new annotations of
 * their slot and class: source model, confidence = score, no id yet (in
 * a). NULL with err. */
lp_ann *lp_predictions_as_annotations(lp_arena *a, const lp_prediction_row *rows, size_t n, lp_error *err);

/* The job kind that runs a model of queue ("cpu" or "gpu"). */
const char *lp_model_run_kind(const char *queue);

/* The engine's starter (lp_wf_set_model_starter): see above. 0 or -1. */
int lp_model_stage_start(lp_db *db, lp_arena *a, const lp_wf *wf, const lp_wf_stage *stage,
                         const char *const *task_ids, size_t n, const char *actor_id, lp_error *err);

/* Checks the "stage" member of a models.run payload (field errors "stage.…"). 0 or -1. */
int lp_model_stage_payload_check(const json_t *stage, lp_error *err);

/* The end of a models.run job (ctx) whose payload names a stage: see
 * above. 0, or -1 with ctx->err. */
int lp_model_stage_finish(lp_job_ctx *ctx);

#endif
