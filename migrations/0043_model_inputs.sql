-- Images sent to live inference (POST /api/v1/models/{id}/infer with an image body; docs/MODELS.md
-- "Running a model"). louped notes each one here before it writes the image to storage
-- (models/<team>/inputs/<id>) and removes the row once it has deleted the object. A row left
-- behind names an object that a louped stopped in the middle of a request left in storage:
-- the sweep of every louped deletes the objects of rows older than model_input_max_age, then
-- the rows. No foreign key: the row must outlive its team until its object is gone.
CREATE TABLE model_inputs (
    id         uuid PRIMARY KEY,
    team_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_inputs_created_idx ON model_inputs (created_at);
