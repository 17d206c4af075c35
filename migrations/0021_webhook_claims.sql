-- Webhook deliveries are claimed by loupe-worker straight from
-- webhook_deliveries (the due ones, FOR UPDATE SKIP LOCKED, a
-- batch per statement); a message of the "webhooks" queue only wakes a worker
-- up (docs/WEBHOOKS.md). The fan-out queues one message per transaction that
-- made deliveries instead of one per delivery.

-- The claim's scan: pending deliveries by the time they are due.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

-- As in 0011, but the outbox message is a wake-up {"v": 1}, written once per
-- transaction (the transaction-local setting loupe.webhooks_woken remembers
-- it; a rolled-back savepoint forgets both).
CREATE OR REPLACE FUNCTION events_webhook_fanout() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    made bigint;
BEGIN
    INSERT INTO webhook_deliveries (team_id, webhook_id, event_id, event_seq, event_type)
    SELECT e.team_id, w.id, e.id, e.seq, e.type
      FROM new_events e
      JOIN webhooks w ON w.team_id = e.team_id AND w.active
     WHERE CASE WHEN e.type = 'webhook.test' THEN w.id::text = e.data->>'webhook_id'
                ELSE loupe_webhook_matches(w.events, e.type) END
     ORDER BY e.seq;
    GET DIAGNOSTICS made = ROW_COUNT;
    IF made > 0 AND current_setting('loupe.webhooks_woken', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO outbox (exchange, routing_key, body) VALUES ('loupe.jobs', 'webhooks', '{"v": 1}');
        PERFORM set_config('loupe.webhooks_woken', 'on', true);
    END IF;
    RETURN NULL;
END
$$;
