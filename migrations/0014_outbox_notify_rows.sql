-- The outbox relay is woken only by inserts that added rows. The statement
-- trigger of 0002 fired for every INSERT into outbox, zero rows included, and
-- the event fan-out (0011) runs such an INSERT for every event, matched by a
-- webhook or not: every transaction that recorded an event then sent a
-- notification, and PostgreSQL serialises the commits of notifying
-- transactions, so task claims and submits queued behind one another.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_outbox) THEN
        PERFORM pg_notify('loupe_outbox', '');
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    REFERENCING NEW TABLE AS new_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
