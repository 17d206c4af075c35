-- Items made for a DICOM series beyond the first (docs/VOLUMES.md, "Several series in one upload")
-- carry metadata.series_of {item, slot, rank}: the next upload into that slot finds each one by
-- its slot and rank within the source item's dataset, whatever it has been renamed to since, and
-- replaces its media instead of making another item. Only those items are indexed.
CREATE INDEX items_series_of_idx ON items (dataset_id, (metadata->'series_of'->>'slot'),
                                           (metadata->'series_of'->>'rank'))
    WHERE metadata ? 'series_of';
