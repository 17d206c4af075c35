-- Failed sign-ins and failed API key look-ups, counted where every louped
-- node sees them (docs/SECURITY.md, "Brute force"). One row per (scope, key):
-- scope names the counter ('signin_pair', 'signin_address', 'signin_account',
-- 'api_key_address'), key what it counts (a client address, an email, both).
-- The policy in force at the last failure is kept beside the count so one
-- set-based statement can update rows of different policies. UNLOGGED: after
-- a crash the counters start afresh, which costs an attacker's budget at most.
CREATE UNLOGGED TABLE auth_failures (
    scope           text        NOT NULL,
    key             text        NOT NULL,
    failures        integer     NOT NULL,
    free_failures   integer     NOT NULL,
    max_wait_ms     bigint      NOT NULL,
    last_failure_at timestamptz NOT NULL,
    blocked_until   timestamptz,
    PRIMARY KEY (scope, key)
);
CREATE INDEX auth_failures_last ON auth_failures (last_failure_at);
