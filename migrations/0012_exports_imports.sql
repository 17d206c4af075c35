-- Exports (docs/FORMATS.md, docs/API.md "Exports"): an archive of a team's annotations in one
-- format, written by an exports.write job straight into storage. The export's state, progress
-- and ETA are its job's; the row keeps what was asked and, once done, where the archive is and
-- what the writer counted (items, and per annotation type: written, converted, dropped).

CREATE TABLE exports (
    id          uuid PRIMARY KEY DEFAULT loupe_uuid_v7(),
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    job_id      uuid REFERENCES jobs (id) ON DELETE SET NULL,
    format      text NOT NULL CHECK (format IN ('darwin', 'coco', 'voc', 'yolo', 'cvat', 'mask')),
    variant     text,
    filters     jsonb NOT NULL DEFAULT '{}',
    storage_key text,
    size_bytes  bigint CHECK (size_bytes >= 0),
    sha256      text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    stats       jsonb,
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX exports_team_idx ON exports (team_id, id DESC);
