-- Inbound message ids are kept for integration_message_keep, then pruned by
-- louped (the outbox relay's periodic maintenance): the prune looks them up
-- by age.
CREATE INDEX integration_messages_created_idx ON integration_messages (created_at);
