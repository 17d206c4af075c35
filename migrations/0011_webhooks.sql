-- Webhooks: subscriptions, deliveries and their attempts; the events that
-- items, annotations and jobs record; the fan-out of every event to the
-- deliveries of the subscriptions that match it; inbound integrations
-- (docs/WEBHOOKS.md, docs/EVENTS.md).

-- Outbound subscriptions of a team. secret is the Standard Webhooks
-- whsec_ secret; during a rotation previous_secret stays valid (and is
-- signed with too) until previous_secret_expires_at.
CREATE TABLE webhooks (
    id                          uuid PRIMARY KEY DEFAULT loupe_uuid_v7(),
    team_id                     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    url                         text NOT NULL,
    events                      text[] NOT NULL CHECK (cardinality(events) > 0),
    active                      boolean NOT NULL DEFAULT true,
    ordered                     boolean NOT NULL DEFAULT false,
    description                 text NOT NULL DEFAULT '',
    secret                      text NOT NULL,
    previous_secret             text,
    previous_secret_expires_at  timestamptz(3),
    disabled_reason             text,
    failing_since               timestamptz(3),
    created_by                  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at                  timestamptz(3) NOT NULL DEFAULT now(),
    updated_at                  timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_team_idx ON webhooks (team_id, id);

-- One event for one subscription. webhook-id of every attempt is the
-- delivery's id. attempts - retry_base is the position in the retry schedule
-- (a redelivery starts the schedule again).
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT loupe_uuid_v7(),
    team_id         uuid NOT NULL,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_seq       bigint NOT NULL,
    event_type      text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    retry_base      integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error      text,
    created_at      timestamptz(3) NOT NULL DEFAULT now(),
    updated_at      timestamptz(3) NOT NULL DEFAULT now(),
    delivered_at    timestamptz(3)
);
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (webhook_id, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    delivery_id     uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n               integer NOT NULL,
    started_at      timestamptz(3) NOT NULL,
    response_code   integer,
    duration_ms     integer NOT NULL,
    response_body   text,
    error           text,
    PRIMARY KEY (delivery_id, n)
);

-- Inbound integrations: a third party signs what it pushes with secret.
CREATE TABLE integrations (
    id          uuid PRIMARY KEY DEFAULT loupe_uuid_v7(),
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name        text NOT NULL,
    secret      text NOT NULL,
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX integrations_team_idx ON integrations (team_id, id);

-- Every webhook-id an integration sent, with the answer it got: a replay
-- answers the same and writes nothing.
CREATE TABLE integration_messages (
    integration_id uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    message_id     text NOT NULL,
    status         integer NOT NULL,
    answer         jsonb NOT NULL,
    created_at     timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, message_id)
);

-- Files an inbound integration names by URL are fetched by a worker.
ALTER TABLE uploads DROP CONSTRAINT uploads_kind_check,
    ADD CONSTRAINT uploads_kind_check CHECK (kind IN ('direct', 'presigned', 'external', 'fetch'));

-- 1 if an event type matches one of a subscription's patterns: "*", an
-- exact type, or "area.*" (every type starting with "area.").
CREATE FUNCTION loupe_webhook_matches(patterns text[], event_type text) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT EXISTS (SELECT 1 FROM unnest(patterns) p
                    WHERE p = '*' OR p = event_type
                       OR (right(p, 2) = '.*' AND starts_with(event_type, left(p, -1))))
$$;

-- The fan-out: every event, whoever inserts it, becomes one delivery per
-- active subscription of its team that matches it, and one outbox message
-- per delivery (exchange loupe.jobs, queue "webhooks"), in the same
-- transaction. A webhook.test event goes to the one subscription named in
-- its data. This is the whole contract for other areas: insert into events.
CREATE FUNCTION events_webhook_fanout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH d AS (
        INSERT INTO webhook_deliveries (team_id, webhook_id, event_id, event_seq, event_type)
        SELECT e.team_id, w.id, e.id, e.seq, e.type
          FROM new_events e
          JOIN webhooks w ON w.team_id = e.team_id AND w.active
         WHERE CASE WHEN e.type = 'webhook.test' THEN w.id::text = e.data->>'webhook_id'
                    ELSE loupe_webhook_matches(w.events, e.type) END
         ORDER BY e.seq
        RETURNING id)
    INSERT INTO outbox (exchange, routing_key, body)
    SELECT 'loupe.jobs', 'webhooks', jsonb_build_object('v', 1, 'delivery_id', d.id) FROM d;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_webhook_fanout AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_webhook_fanout();

-- Item events, one per item, from the statement that changed it. A row of a
-- team being deleted records nothing (its team is gone by then).
CREATE FUNCTION items_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (team_id, type, item_id, data)
    SELECT n.team_id, 'item.created', n.id,
           jsonb_build_object('dataset_id', n.dataset_id, 'name', n.name, 'path', n.path, 'status', n.status)
      FROM new_items n
     ORDER BY n.created_at, n.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER items_events_insert AFTER INSERT ON items
    REFERENCING NEW TABLE AS new_items
    FOR EACH STATEMENT EXECUTE FUNCTION items_events_insert();

-- Row by row, and only for rows whose status became ready or error: the
-- many other updates of items (counts, metadata) cost nothing.
CREATE FUNCTION items_events_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (team_id, type, item_id, data)
    VALUES (NEW.team_id, 'item.' || NEW.status, NEW.id,
            jsonb_strip_nulls(jsonb_build_object('dataset_id', NEW.dataset_id, 'name', NEW.name, 'path', NEW.path,
                                                 'status', NEW.status, 'error', NEW.error)));
    RETURN NULL;
END
$$;
CREATE TRIGGER items_events_status AFTER UPDATE OF status ON items
    FOR EACH ROW WHEN (NEW.status IN ('ready', 'error') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION items_events_status();

CREATE FUNCTION items_events_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (team_id, type, item_id, data)
    SELECT o.team_id, 'item.deleted', o.id,
           jsonb_build_object('dataset_id', o.dataset_id, 'name', o.name, 'path', o.path)
      FROM old_items o JOIN teams t ON t.id = o.team_id
     ORDER BY o.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER items_events_delete AFTER DELETE ON items
    REFERENCING OLD TABLE AS old_items
    FOR EACH STATEMENT EXECUTE FUNCTION items_events_delete();

-- Annotation events: one per item and statement (a batch), listing the ids.
-- Annotations deleted with their item record nothing (item.deleted says it).
CREATE FUNCTION annotations_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO events (team_id, type, item_id, data)
        SELECT o.team_id, 'annotation.deleted', o.item_id,
               jsonb_build_object('annotation_ids', jsonb_agg(o.id ORDER BY o.id), 'count', count(*))
          FROM old_rows o JOIN items i ON i.id = o.item_id
         GROUP BY o.team_id, o.item_id;
    ELSE
        INSERT INTO events (team_id, type, item_id, data)
        SELECT n.team_id, CASE TG_OP WHEN 'INSERT' THEN 'annotation.created' ELSE 'annotation.updated' END,
               n.item_id, jsonb_build_object('annotation_ids', jsonb_agg(n.id ORDER BY n.id), 'count', count(*))
          FROM new_rows n
         GROUP BY n.team_id, n.item_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER annotations_events_insert AFTER INSERT ON annotations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_events();
CREATE TRIGGER annotations_events_update AFTER UPDATE ON annotations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_events();
CREATE TRIGGER annotations_events_delete AFTER DELETE ON annotations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_events();

-- Job events: a team's job that finished (system jobs have no team), row by
-- row and only on that change (progress updates cost nothing).
CREATE FUNCTION jobs_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (team_id, type, data)
    SELECT NEW.team_id, CASE NEW.status WHEN 'succeeded' THEN 'job.completed' ELSE 'job.failed' END,
           jsonb_strip_nulls(jsonb_build_object('job_id', NEW.id, 'kind', NEW.kind, 'status', NEW.status,
                                                'attempts', NEW.attempts, 'error', NEW.error))
      FROM teams t WHERE t.id = NEW.team_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_events AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.team_id IS NOT NULL AND NEW.status IN ('succeeded', 'failed')
                       AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION jobs_events();
