-- Classes and annotations (docs/ANNOTATIONS.md).
-- A class belongs to one team; an annotation to one item's slot and one class.
-- Foreign keys are kept to what integrity needs (the item, for cascading
-- deletes, and the class): every key checked costs an index probe per row,
-- and a batch inserts thousands of rows. team_id is the item's team (the
-- write code takes it from the item); created_by and updated_by are history,
-- like audit_log's actor, and may outlive the user.
-- Geometry is stored compactly (geom: little-endian float64 coordinates, the
-- layout is in docs/ANNOTATIONS.md) beside a small jsonb of everything else,
-- because parsing jsonb dominated the cost of saving and loading shapes.

CREATE TABLE classes (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id          uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) > 0),
    annotation_types text[] NOT NULL CHECK (cardinality(annotation_types) > 0),
    color            text NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
    description      text NOT NULL DEFAULT '',
    properties       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(properties) = 'array'),
    skeleton         jsonb,                       -- {nodes: [{name}], edges: [[i, j]]}
    sub_types        text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz(3) NOT NULL DEFAULT now(),
    updated_at       timestamptz(3) NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)                        -- also the list order
);

-- One row per annotation. type is the Darwin key of its geometry
-- ("polygon", …, "raster_layer"). A video or volume annotation has ranges
-- (flat [start0, end0, start1, end1, …], end exclusive) and its per-frame
-- data in annotation_frames; geom is NULL for it and for tags and text.
CREATE TABLE annotations (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL,
    item_id     uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    slot        text NOT NULL,
    class_id    uuid NOT NULL REFERENCES classes (id),
    type        text NOT NULL,
    geom        bytea,
    data        jsonb NOT NULL DEFAULT '{}',     -- validated sub-types: instance_id, text, attributes, properties, …
    extra       jsonb,                           -- unknown keys, returned unchanged
    z           integer,
    source      text NOT NULL DEFAULT 'human' CHECK (source IN ('human', 'model', 'import')),
    confidence  double precision CHECK (confidence >= 0 AND confidence <= 1),
    ranges      integer[],
    hidden      integer[],
    version     integer NOT NULL DEFAULT 1,
    created_by  uuid,
    updated_by  uuid,
    created_at  timestamptz(3) NOT NULL DEFAULT now(),
    updated_at  timestamptz(3) NOT NULL DEFAULT now()
);
-- Loading an item's annotations (optionally one slot) in a stable order.
CREATE INDEX annotations_item_idx ON annotations (item_id, slot, id);
-- "Is this class in use?" and deleting a class with its annotations.
CREATE INDEX annotations_class_idx ON annotations (class_id);
-- One raster layer per slot, like Darwin's __raster_layer__.
CREATE UNIQUE INDEX annotations_raster_layer_idx ON annotations (item_id, slot) WHERE type = 'raster_layer';

-- Frames of video and volume annotations: keyframes and any frames stored
-- as sent (imports), each with its geometry and per-frame sub-types.
CREATE TABLE annotation_frames (
    annotation_id uuid NOT NULL REFERENCES annotations (id) ON DELETE CASCADE,
    frame         integer NOT NULL CHECK (frame >= 0),
    keyframe      boolean NOT NULL,
    geom          bytea,
    data          jsonb NOT NULL DEFAULT '{}',
    extra         jsonb,
    PRIMARY KEY (annotation_id, frame)
);

-- The version of each item's annotation set, exposed as the ETag of
-- GET /items/{id}/annotations. The row is locked by every batch write, which
-- serialises writers of one item and makes If-Match exact.
CREATE TABLE item_annotation_versions (
    item_id uuid PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    version bigint NOT NULL DEFAULT 0
);

-- Idempotency-Key of writes: the first successful answer is kept for 24 hours
-- and replayed for a retry with the same key and the same request.
CREATE TABLE idempotency_keys (
    team_id      uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash text NOT NULL,                  -- SHA-256 (hex) of method, path and body
    status       integer NOT NULL,
    etag         text,
    response     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
