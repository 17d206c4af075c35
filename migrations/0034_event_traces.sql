-- The trace of the change that raised an event: the W3C traceparent of the
-- transaction that wrote it (louped and loupe-worker set loupe.traceparent
-- with the BEGIN of each transaction made while a trace is current: an HTTP
-- request's, a job's). Webhook deliveries of the event carry it on, as a
-- span of their own (docs/WEBHOOKS.md). NULL when the change had no trace.
ALTER TABLE events ADD COLUMN traceparent text
    DEFAULT nullif(current_setting('loupe.traceparent', true), '');
