-- An annotation's version counts its updates; like the item's version
-- (item_annotation_versions.version) it is a bigint, so the number the API
-- returns is the one stored, with no 32-bit wrap.
ALTER TABLE annotations ALTER COLUMN version TYPE bigint;
