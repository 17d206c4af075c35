-- Imports (docs/FORMATS.md "Imports", docs/API.md "Imports"): annotations brought in from a file
-- in one format (Darwin JSON, COCO, …) into one dataset. The row keeps what was asked (format,
-- options, dry run), where the uploaded file is in storage, and, once its imports.run job is
-- done, what the import counted and every problem it found. Its state is its job's.

CREATE TABLE imports (
    id             uuid PRIMARY KEY DEFAULT loupe_uuid_v7(),
    team_id        uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    dataset_id     uuid NOT NULL,
    job_id         uuid REFERENCES jobs (id) ON DELETE SET NULL,
    format         text NOT NULL,
    options        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
    dry_run        boolean NOT NULL DEFAULT false,
    storage_key    text,                      -- the uploaded file (or the object named at creation)
    size_bytes     bigint CHECK (size_bytes >= 0),
    sha256         text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    uploaded_at    timestamptz,               -- set once storage_key holds the file
    counts         jsonb,                     -- items matched/created, annotations created/replaced/removed, skipped
    problems       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(problems) = 'array'),
    problems_total bigint NOT NULL DEFAULT 0, -- problems found (at most import_max_problems are kept)
    written        boolean,                   -- once done: whether anything was written
    created_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    FOREIGN KEY (dataset_id, team_id) REFERENCES datasets (id, team_id) ON DELETE CASCADE
);
CREATE INDEX imports_team_idx ON imports (team_id, id DESC);
