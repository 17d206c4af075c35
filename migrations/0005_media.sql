-- Media: the files of slots, how they arrived, and their normalisation state
-- (docs/MEDIA_PIPELINE.md).
--
-- A slot's original and derived files are named in slots.storage (jsonb):
--   {"upload_id", "original", "external", "size", "sha256", "content_type",
--    "thumbnail", "preview", "pyramid", "tile_format", "index", "frames",
--    "frames_index", "mezzanine", "sprite", "sprite_layout"}
-- The derived keys are content-addressed ("derived/<sha256 of the original>/…"),
-- so a retried normalisation rewrites equal bytes under equal keys.

-- Per-slot state; items.status is recomputed from its slots after every change
-- (src/db/media_sql.c, lp_db_media_item_refresh).
ALTER TABLE slots
    ADD COLUMN status text NOT NULL DEFAULT 'empty'
        CHECK (status IN ('empty', 'uploading', 'processing', 'ready', 'error')),
    ADD COLUMN error text;

-- One row per attempt to give a slot its file.
--   direct:    PUT /api/v1/items/{id}/slots/{slot}/file, streamed into storage
--   presigned: POST …/upload issued a URL; POST …/confirm checks the object
--   external:  an object that already was in the bucket (never written or deleted)
CREATE TABLE uploads (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id      uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    item_id      uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    slot_id      uuid NOT NULL REFERENCES slots (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('direct', 'presigned', 'external')),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 1024),
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stored', 'failed')),
    size         bigint CHECK (size >= 0),
    sha256       text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text,
    job_id       uuid,                    -- the media.normalize job it enqueued
    error        text,                    -- why a failed upload failed
    expires_at   timestamptz(3),          -- presigned: when the upload URL stops working
    created_at   timestamptz(3) NOT NULL DEFAULT now(),
    stored_at    timestamptz(3)
);
-- The latest upload of a slot (confirm without an upload_id; the slot view).
CREATE INDEX uploads_slot_created_idx ON uploads (slot_id, created_at DESC);
