-- /metrics counts the jobs that finished since it last looked, by kind and
-- status, with their durations (docs/OPERATIONS.md, "Observability"): this
-- index answers that window without reading the whole jobs table.
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
