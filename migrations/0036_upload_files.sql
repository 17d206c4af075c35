-- Multi-file uploads into one slot (docs/MEDIA_PIPELINE.md, "A DICOM series as separate files"):
-- an upload of kind 'files' declares how many files it takes; each is stored on its own until
-- the upload is completed, when they become one archive, the slot's original.
ALTER TABLE uploads DROP CONSTRAINT uploads_kind_check,
    ADD CONSTRAINT uploads_kind_check CHECK (kind IN ('direct', 'presigned', 'external', 'fetch', 'files'));
ALTER TABLE uploads ADD COLUMN files integer CHECK (files BETWEEN 1 AND 100000),
    ADD CONSTRAINT uploads_files_kind CHECK ((kind = 'files') = (files IS NOT NULL));
