-- NIfTI label maps: exports of volume slots may name the format nifti
-- (docs/FORMATS.md, NIfTI). The check of 0012 is replaced by one that
-- lists it too.
ALTER TABLE exports DROP CONSTRAINT exports_format_check;
ALTER TABLE exports ADD CONSTRAINT exports_format_check
    CHECK (format IN ('darwin', 'coco', 'voc', 'yolo', 'cvat', 'mask', 'nifti'));
