-- What Darwin JSON 2.0 holds, Loupe keeps (docs/ANNOTATIONS.md).
--
-- Annotation ids are unique per item, not across the database: a Darwin
-- file keeps its ids, and the same file can be imported into two items (or a
-- copied item keeps its ids, so a raster layer's mask_annotation_ids_mapping
-- still names its masks). Frames carry their item to reference (item, id).
-- An id is a UUID (lower-case) or, as Darwin files and the reference client
-- allow, 1 to 64 characters of A-Z a-z 0-9 . _ : - (nothing to escape in
-- JSON, XML, CSV or COPY text).
ALTER TABLE annotation_frames ADD COLUMN item_id uuid;
UPDATE annotation_frames f SET item_id = a.item_id FROM annotations a WHERE a.id = f.annotation_id;
ALTER TABLE annotation_frames ALTER COLUMN item_id SET NOT NULL;
ALTER TABLE annotation_frames DROP CONSTRAINT annotation_frames_annotation_id_fkey;
ALTER TABLE annotation_frames DROP CONSTRAINT annotation_frames_pkey;
ALTER TABLE annotations DROP CONSTRAINT annotations_pkey;
ALTER TABLE annotations ALTER COLUMN id TYPE text;
ALTER TABLE annotations ADD CONSTRAINT annotations_id_check CHECK (id ~ '^[A-Za-z0-9._:-]{1,64}$');
ALTER TABLE annotation_frames ALTER COLUMN annotation_id TYPE text;
ALTER TABLE annotations ADD PRIMARY KEY (item_id, id);
ALTER TABLE annotation_frames ADD PRIMARY KEY (item_id, annotation_id, frame);
ALTER TABLE annotation_frames ADD FOREIGN KEY (item_id, annotation_id)
    REFERENCES annotations (item_id, id) ON DELETE CASCADE;

-- A video annotation sent without "ranges" gets its default range stored
-- (for frames on demand) but not returned. Rows written before kept theirs.
ALTER TABLE annotations ADD COLUMN ranges_given boolean NOT NULL DEFAULT true;

-- Darwin's "name" and "slot_names" are derived from the class and the slot
-- on every read; copies kept among the unknown keys would be stale.
UPDATE annotations SET extra = nullif(extra - 'name' - 'slot_names', '{}'::jsonb)
    WHERE extra ?| ARRAY['name', 'slot_names'];

-- Item-level properties (Darwin's top-level "properties", class properties
-- with granularity "item"): [{name, value, …}] as sent, checked like an
-- annotation's.
CREATE TABLE item_properties (
    item_id    uuid PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    properties jsonb NOT NULL CHECK (jsonb_typeof(properties) = 'array')
);

-- Darwin class colours: "rgba(r,g,b,a)" is kept as written beside "#rrggbb".
ALTER TABLE classes DROP CONSTRAINT classes_color_check;
ALTER TABLE classes ADD CONSTRAINT classes_color_check
    CHECK (color ~ '^#[0-9a-f]{6}$' OR color ~ '^rgba?\([0-9., ]+\)$');

-- Slots of Darwin's other kinds, stored and served even where Loupe cannot
-- render them yet.
ALTER TABLE slots DROP CONSTRAINT slots_type_check;
ALTER TABLE slots ADD CONSTRAINT slots_type_check
    CHECK (type IN ('image', 'video', 'volume', 'dicom', 'pdf', 'audio'));
