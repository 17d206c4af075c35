-- Identity: teams, users, memberships with roles, API keys, browser sessions,
-- and the audit trail every feature writes to.
-- Public ids are UUIDs (gen_random_uuid() is built into PostgreSQL 13+).

CREATE TABLE teams (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (length(name) > 0),
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Emails are stored lower-cased (compared without case, no citext needed).
CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL UNIQUE CHECK (email = lower(email) AND position('@' IN email) > 1),
    name          text NOT NULL DEFAULT '',
    password_hash text,                -- argon2id PHC string; NULL: API keys only
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('owner', 'admin', 'annotator', 'reviewer', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- A key belongs to one member of one team: removing the member removes the
-- key. Only the SHA-256 (hex) of the key is stored; prefix finds the row.
-- role may limit the key below its user's role; the effective role is the
-- lower of the two, computed at every request.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id      uuid NOT NULL,
    user_id      uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) > 0),
    prefix       text NOT NULL UNIQUE,
    key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'annotator', 'reviewer', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    FOREIGN KEY (team_id, user_id) REFERENCES memberships (team_id, user_id) ON DELETE CASCADE
);
CREATE INDEX api_keys_team_idx ON api_keys (team_id, created_at);

-- Browser sessions: the cookie carries a random token, the table its SHA-256.
CREATE TABLE sessions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL,
    team_id    uuid NOT NULL,
    token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    FOREIGN KEY (team_id, user_id) REFERENCES memberships (team_id, user_id) ON DELETE CASCADE
);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    team_id     uuid REFERENCES teams (id) ON DELETE CASCADE,
    user_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    action      text NOT NULL,          -- "member.add", "api_key.revoke", …
    object_type text NOT NULL,          -- "membership", "api_key", "team", …
    object_id   text,
    data        jsonb NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_team_at_idx ON audit_log (team_id, at);
