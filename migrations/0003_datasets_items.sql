-- Datasets, items and slots (docs/DATA_MODEL.md).
-- Timestamps keep millisecond precision: what the API shows is exactly what
-- is stored, so a list cursor made from a shown timestamp round-trips.
-- A dataset belongs to one team; an item to one dataset (and, denormalised
-- for scoping, to the same team); a slot is one named file of an item.

CREATE TABLE datasets (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    slug       text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    name       text NOT NULL CHECK (length(name) > 0),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    deleted_at timestamptz,              -- soft delete; a job removes the contents
    UNIQUE (id, team_id)                 -- target of items' (dataset_id, team_id) key
);
-- A slug is unique among the team's live datasets: a deleted one frees it.
CREATE UNIQUE INDEX datasets_team_slug_idx ON datasets (team_id, slug) WHERE deleted_at IS NULL;
-- The list: live datasets of a team in (created_at, id) order.
CREATE INDEX datasets_team_created_idx ON datasets (team_id, created_at, id) WHERE deleted_at IS NULL;

-- name and path compare byte-wise (COLLATE "C"): sorting is deterministic on
-- every server locale, and a path prefix is an index range.
-- path is a folder: "/" or "/a/b" (no trailing slash, no empty segment).
-- annotation_count and class_ids summarise the item's annotations; the
-- annotation write code (migration 0004's tables) keeps them current in the
-- same transaction as the annotations themselves.
CREATE TABLE items (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id          uuid NOT NULL,
    dataset_id       uuid NOT NULL,
    name             text COLLATE "C" NOT NULL CHECK (length(name) > 0 AND position('/' IN name) = 0),
    path             text COLLATE "C" NOT NULL DEFAULT '/'
                     CHECK (path = '/' OR (path ~ '^(/[^/]+)+$')),
    status           text NOT NULL DEFAULT 'registered'
                     CHECK (status IN ('registered', 'uploading', 'processing', 'ready', 'error')),
    error            text,
    priority         integer NOT NULL DEFAULT 0,
    metadata         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    annotation_count integer NOT NULL DEFAULT 0 CHECK (annotation_count >= 0),
    class_ids        uuid[] NOT NULL DEFAULT '{}',  -- distinct class ids among its annotations
    created_at       timestamptz(3) NOT NULL DEFAULT now(),
    updated_at       timestamptz(3) NOT NULL DEFAULT now(),
    FOREIGN KEY (dataset_id, team_id) REFERENCES datasets (id, team_id) ON DELETE CASCADE,
    -- Also serves the path-prefix filter: (dataset_id, path range).
    CONSTRAINT items_dataset_path_name_key UNIQUE (dataset_id, path, name)
);
-- One index per sort order of the list, each ending in id for the keyset
-- cursor; the created index also drives the bulk job's batches.
CREATE INDEX items_dataset_name_idx     ON items (dataset_id, name, id);
CREATE INDEX items_dataset_created_idx  ON items (dataset_id, created_at, id);
CREATE INDEX items_dataset_priority_idx ON items (dataset_id, priority, id);
-- has_class: class_ids @> ARRAY[$n].
CREATE INDEX items_class_ids_idx ON items USING gin (class_ids);

CREATE TABLE slots (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    item_id     uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) > 0),
    type        text NOT NULL CHECK (type IN ('image', 'video', 'volume')),
    width       integer CHECK (width > 0),
    height      integer CHECK (height > 0),
    frame_count integer CHECK (frame_count > 0),
    fps         double precision CHECK (fps > 0),
    rotation    integer NOT NULL DEFAULT 0 CHECK (rotation IN (0, 90, 180, 270)),
    format      text,                       -- "jpeg", "mp4", "nifti", … once known
    storage     jsonb NOT NULL DEFAULT '{}',-- storage keys of the original and derived files
    metadata    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    position    integer NOT NULL CHECK (position >= 0),  -- order within the item
    UNIQUE (item_id, name)                  -- also the item -> slots lookup
);
