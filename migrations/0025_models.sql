-- Models (docs/MODELS.md): the team's registry of models that annotate, and the predictions they
-- store apart from annotations.
--
-- A model's spec is its description as the API takes it (input, output decoder, labels,
-- class_map, thresholds), checked by the C reader before it is stored; name, task, runtime and
-- queue are columns because workers and lists select on them. version counts the changes
-- (the ETag). An onnx model's file lives in storage under file_key once uploaded.

CREATE TABLE models (
    id          uuid PRIMARY KEY DEFAULT loupe_uuid_v7(),
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) > 0),
    task        text NOT NULL CHECK (task IN ('detect', 'segment', 'classify', 'keypoints', 'text_detect')),
    runtime     text NOT NULL CHECK (runtime IN ('onnx', 'http')),
    queue       text NOT NULL DEFAULT 'cpu' CHECK (queue IN ('cpu', 'gpu')),
    spec        jsonb NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
    version     bigint NOT NULL DEFAULT 1,
    file_key    text,
    file_size   bigint CHECK (file_size >= 0),
    file_sha256 text CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    uploaded_at timestamptz(3),
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz(3) NOT NULL DEFAULT now(),
    updated_at  timestamptz(3) NOT NULL DEFAULT now(),
    deleted_at  timestamptz(3),
    UNIQUE (id, team_id)
);
CREATE INDEX models_team_idx ON models (team_id, id) WHERE deleted_at IS NULL;

-- What a model found on an item's slot: the geometry in the annotations' compact form (type +
-- geom), the model's label and the Loupe class it maps to (NULL when class_map has none), the
-- score, the per-class probabilities when the model gives them (in labels order) and an
-- embedding when it exposes one. run_id is the batch run's job (NULL for live inference kept).
-- A run stores each item's predictions once: (run_id, item_id, slot, ordinal) is unique, so a
-- redelivered message cannot store them twice.
CREATE TABLE predictions (
    id            uuid PRIMARY KEY DEFAULT loupe_uuid_v7(),
    team_id       uuid NOT NULL,
    item_id       uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    slot          text NOT NULL,
    model_id      uuid NOT NULL,
    run_id        uuid REFERENCES jobs (id) ON DELETE SET NULL,
    ordinal       integer NOT NULL CHECK (ordinal >= 0),
    label         text NOT NULL,
    class_id      uuid REFERENCES classes (id) ON DELETE SET NULL,
    type          text NOT NULL,
    geom          bytea,
    data          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    score         real NOT NULL CHECK (score >= 0 AND score <= 1),
    probabilities real[],
    embedding     real[],
    created_at    timestamptz(3) NOT NULL DEFAULT now(),
    FOREIGN KEY (model_id, team_id) REFERENCES models (id, team_id) ON DELETE CASCADE
);
CREATE INDEX predictions_item_idx ON predictions (item_id, id);
CREATE UNIQUE INDEX predictions_run_once_idx ON predictions (run_id, item_id, slot, ordinal) WHERE run_id IS NOT NULL;
CREATE INDEX predictions_model_idx ON predictions (model_id);
