-- Workflow model stages and hard-example mining (docs/WORKFLOWS.md "model", docs/MODELS.md
-- "Disagreement").
--
-- model_stage_tasks: the tasks resting on a model stage and the run (a models.run job) that
-- will move them on. Written in the transaction that places the tasks there, with the job and
-- its outbox message; the run deletes its rows in the transaction that moves its tasks on, so
-- a run that is delivered again moves nothing twice. A task that left the stage and came back
-- has a new row (task_id is the key). Rows of deleted tasks are harmless: the run joins tasks.
CREATE TABLE model_stage_tasks (
    task_id     uuid PRIMARY KEY,
    job_id      uuid NOT NULL,
    team_id     uuid NOT NULL,
    workflow_id uuid NOT NULL,
    stage       text NOT NULL,
    created_at  timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX model_stage_tasks_job_idx ON model_stage_tasks (job_id);

-- How far a run's predictions and an item's human annotations disagree: 1 - F1 of their
-- shapes matched per class at IoU >= 0.5, with the matched, missed and extra shapes in detail;
-- NULL while the item has no human shape to compare (a row per item the run processed, so
-- that annotations made after the run make it stale and it is computed again).
-- annotation_version is the item's annotation version it was computed from
-- (item_annotation_versions): once the annotations change the row is stale, and the
-- statements that filter or rank by it leave stale rows out until they are computed again.
CREATE TABLE item_disagreements (
    item_id            uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    run_id             uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    team_id            uuid NOT NULL,
    model_id           uuid NOT NULL,
    annotation_version bigint NOT NULL,
    disagreement       real CHECK (disagreement >= 0 AND disagreement <= 1),
    detail             jsonb NOT NULL CHECK (jsonb_typeof(detail) = 'object'),
    computed_at        timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (item_id, run_id)
);
CREATE INDEX item_disagreements_run_idx ON item_disagreements (run_id, disagreement DESC, item_id);
