-- Delivered and failed webhook deliveries, counted as they change instead of
-- by a count of the whole of webhook_deliveries at every /metrics refresh
-- (docs/WEBHOOKS.md, "Totals").
--
-- A row is a change of the totals: each statement that moves deliveries into
-- or out of delivered or failed appends one (the sender recording a batch of
-- attempts, a redelivery, the deletion of subscriptions), and the totals are
-- the sums of the table. Appending, never updating one shared row, keeps
-- senders recording at once from waiting on each other's row lock; the
-- metrics reader folds the rows into one now and then
-- (lp_db_ops_webhooks_fold), so that the sums stay a read of a few rows.
CREATE TABLE webhook_delivery_totals (
    delivered bigint NOT NULL,
    failed    bigint NOT NULL
);
INSERT INTO webhook_delivery_totals (delivered, failed)
SELECT count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'failed')
  FROM webhook_deliveries;

-- As in 0028, and the deleted deliveries leave the totals.
CREATE OR REPLACE FUNCTION webhooks_delete_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone uuid[];
BEGIN
    WITH d AS (DELETE FROM webhook_deliveries d USING old_webhooks o WHERE d.webhook_id = o.id
               RETURNING d.id, d.status),
    t AS (INSERT INTO webhook_delivery_totals (delivered, failed)
          SELECT -count(*) FILTER (WHERE status = 'delivered'), -count(*) FILTER (WHERE status = 'failed')
            FROM d HAVING count(*) FILTER (WHERE status <> 'pending') > 0)
    SELECT array_agg(d.id) INTO gone FROM d;
    DELETE FROM webhook_attempts WHERE delivery_id = ANY (gone);
    RETURN NULL;
END
$$;
