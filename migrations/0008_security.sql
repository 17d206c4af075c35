-- Security: per-team external storage locations, upload expiry bookkeeping.
-- (docs/SECURITY.md)

-- Where a team's external objects may come from (register-external): a bucket
-- and a key prefix. A prefix belongs to one team: no two teams hold
-- overlapping prefixes in one bucket (checked under a lock by
-- src/db/storage_locations_sql.c), so a key registered by one team can never
-- be registered by another.
CREATE TABLE storage_locations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    slug       text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    bucket     text NOT NULL CHECK (length(bucket) BETWEEN 1 AND 255),
    prefix     text NOT NULL CHECK (length(prefix) BETWEEN 2 AND 1024 AND right(prefix, 1) = '/'),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    UNIQUE (team_id, slug)
);
CREATE INDEX storage_locations_bucket_prefix_idx ON storage_locations (bucket, prefix);

-- The slot status an upload found, so that an abandoned upload can put the
-- slot back as it was (upload_abandon_after).
ALTER TABLE uploads ADD COLUMN slot_status_before text;
CREATE INDEX uploads_pending_idx ON uploads (created_at) WHERE state = 'pending';

-- Invitations: adding someone to a team never enrols an existing account
-- without its owner's consent, and answers the same whether the email has an
-- account or not. The inviter gets a token (only its SHA-256 is stored) to
-- pass on; the invitee accepts with it and their password (a new account is
-- made with that password when the email has none).
CREATE TABLE invitations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email       text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    name        text,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'annotator', 'reviewer', 'viewer')),
    token_hash  text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    invited_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz(3) NOT NULL DEFAULT now(),
    expires_at  timestamptz(3) NOT NULL,
    accepted_at timestamptz(3),
    accepted_by uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX invitations_team_idx ON invitations (team_id, created_at);
