-- Fewer writes per webhook delivery (docs/WEBHOOKS.md, "Performance"), and a
-- claim that never walks past an ordered subscription's backlog.
--
-- A delivery row is written by the fan-out trigger and rewritten once when
-- its attempt is recorded; each foreign-key check and each index made both
-- dearer. What is left:
--   - the key (webhook_id, id): the delivery log lists a subscription's
--     deliveries by id, and every other lookup names the subscription too
--     (the sender finds its claimed rows by their physical address);
--   - webhook_deliveries_pending_idx (0011): an ordered subscription's
--     earliest pending delivery;
--   - webhook_deliveries_due_idx: due deliveries that any sender may claim.
-- Gone: the index on event_id (no statement looks a delivery up by its
-- event alone) and the foreign keys to events, webhooks and (from
-- webhook_attempts) webhook_deliveries. What they guaranteed now holds by
-- construction:
--   - a delivery names an existing subscription: the fan-out locks the
--     subscriptions it writes deliveries for (FOR KEY SHARE, once per
--     statement instead of once per row), so none is deleted under it, and
--     deleting a subscription deletes its deliveries and their attempts
--     (trigger webhooks_delete_deliveries);
--   - a delivery names an existing event: events are only ever deleted with
--     their team, whose subscriptions (and so deliveries) go with it;
--   - an attempt names an existing delivery: the sender writes attempts only
--     for deliveries it holds locked (FOR UPDATE, or their subscription FOR
--     NO KEY UPDATE), which therefore exist until it commits.

ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_delivery_id_fkey;
ALTER TABLE webhook_deliveries
    DROP CONSTRAINT webhook_deliveries_event_id_fkey,
    DROP CONSTRAINT webhook_deliveries_webhook_id_fkey,
    DROP CONSTRAINT webhook_deliveries_pkey;
DROP INDEX webhook_deliveries_list_idx;
DROP INDEX webhook_deliveries_event_idx;
ALTER TABLE webhook_deliveries ADD PRIMARY KEY (webhook_id, id);

-- held: the delivery's subscription is ordered, so the delivery goes out only
-- as its subscription's earliest pending one (found through
-- webhook_deliveries_pending_idx); it is never in the due index, so claims
-- of the other subscriptions do not walk past an ordered backlog. A copy of
-- webhooks.ordered, set by the fan-out and by every change of ordered (which
-- locks the subscription FOR UPDATE first, so no fan-out runs meanwhile).
ALTER TABLE webhook_deliveries ADD COLUMN held boolean NOT NULL DEFAULT false;
UPDATE webhook_deliveries d SET held = true
  FROM webhooks w WHERE w.id = d.webhook_id AND w.ordered AND d.status = 'pending';
DROP INDEX webhook_deliveries_due_idx;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending' AND NOT held;
-- The claim looks at every ordered subscription's head.
CREATE INDEX webhooks_ordered_idx ON webhooks (id) WHERE ordered;

-- Two statements: the first waits for the deliveries a sender holds, the
-- second (a new snapshot) sees the attempts that sender recorded meanwhile.
CREATE FUNCTION webhooks_delete_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone uuid[];
BEGIN
    WITH d AS (DELETE FROM webhook_deliveries d USING old_webhooks o WHERE d.webhook_id = o.id RETURNING d.id)
    SELECT array_agg(d.id) INTO gone FROM d;
    DELETE FROM webhook_attempts WHERE delivery_id = ANY (gone);
    RETURN NULL;
END
$$;
CREATE TRIGGER webhooks_delete_deliveries AFTER DELETE ON webhooks
    REFERENCING OLD TABLE AS old_webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_delete_deliveries();

-- As in 0021, and: the matched subscriptions are locked FOR KEY SHARE (one
-- lock per subscription and statement; a subscription deleted or disabled
-- meanwhile gets nothing), and each delivery copies its subscription's
-- ordered flag into held.
CREATE OR REPLACE FUNCTION events_webhook_fanout() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    made bigint;
BEGIN
    WITH m AS (
        SELECT e.team_id, w.id AS webhook_id, e.id AS event_id, e.seq, e.type
          FROM new_events e
          JOIN webhooks w ON w.team_id = e.team_id AND w.active
         WHERE CASE WHEN e.type = 'webhook.test' THEN w.id::text = e.data->>'webhook_id'
                    ELSE loupe_webhook_matches(w.events, e.type) END),
    l AS MATERIALIZED (
        SELECT w.id, w.ordered FROM webhooks w
         WHERE w.active AND w.id IN (SELECT DISTINCT webhook_id FROM m)
           FOR KEY SHARE)
    INSERT INTO webhook_deliveries (team_id, webhook_id, event_id, event_seq, event_type, held)
    SELECT m.team_id, m.webhook_id, m.event_id, m.seq, m.type, l.ordered
      FROM m JOIN l ON l.id = m.webhook_id
     ORDER BY m.seq;
    GET DIAGNOSTICS made = ROW_COUNT;
    IF made > 0 AND current_setting('loupe.webhooks_woken', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO outbox (exchange, routing_key, body) VALUES ('loupe.jobs', 'webhooks', '{"v": 1}');
        PERFORM set_config('loupe.webhooks_woken', 'on', true);
    END IF;
    RETURN NULL;
END
$$;
