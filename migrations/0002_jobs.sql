-- Jobs: long-running work done by loupe-worker processes, the append-only
-- history of every attempt, the transactional outbox that carries work to
-- RabbitMQ, and the fleet of workers (docs/JOBS.md).

CREATE TABLE jobs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id      uuid REFERENCES teams (id) ON DELETE CASCADE,  -- NULL: a system job
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    queue        text NOT NULL CHECK (queue ~ '^[a-z0-9_-]+$'),
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress     real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL CHECK (max_attempts >= 1),
    payload      jsonb NOT NULL DEFAULT '{}',
    result       jsonb,
    error        text,
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,       -- start of the current (or last) attempt
    finished_at  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz        -- last sign of life of the running attempt
);
CREATE INDEX jobs_team_created_idx ON jobs (team_id, created_at DESC);
CREATE INDEX jobs_active_idx ON jobs (status, updated_at) WHERE status IN ('queued', 'running');

-- One row per transition of an attempt: started, succeeded, failed (an
-- attempt abandoned by a worker that died), retry (failed, will run again),
-- dead (failed for good). Rows are never changed.
CREATE TABLE job_events (
    id      bigserial PRIMARY KEY,
    job_id  uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL DEFAULT now(),
    event   text NOT NULL CHECK (event IN ('started', 'succeeded', 'failed', 'retry', 'dead')),
    attempt integer NOT NULL CHECK (attempt >= 1),
    detail  jsonb
);
CREATE INDEX job_events_job_idx ON job_events (job_id, id);

CREATE FUNCTION job_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'job_events is append-only';
END
$$;
CREATE TRIGGER job_events_no_update BEFORE UPDATE ON job_events
    FOR EACH ROW EXECUTE FUNCTION job_events_append_only();

-- Messages written in the same transaction as the rows they announce; the
-- outbox relay in louped publishes them with publisher confirms and stamps
-- published_at (rows published more than a day ago are pruned).
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    exchange     text NOT NULL,
    routing_key  text NOT NULL,
    body         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('loupe_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Every loupe-worker process upserts its row at each heartbeat.
CREATE TABLE workers (
    id             text PRIMARY KEY,     -- host:pid:start time
    host           text NOT NULL,
    pid            integer NOT NULL,
    queues         text[] NOT NULL,
    cpus           integer NOT NULL,
    memory_bytes   bigint NOT NULL,
    gpus           jsonb NOT NULL DEFAULT '[]',
    version        text NOT NULL,
    current_job_id uuid,
    started_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workers_last_seen_idx ON workers (last_seen_at);
