-- Time-ordered ids: lists sorted by (created_at, id) keep the order in which rows were made.
--
-- created_at is the transaction's start in milliseconds, so rows made in the same millisecond
-- (or by one statement) tie on it, and random ids (gen_random_uuid) then sorted them at random:
-- "oldest first" could disagree with the order of creation. loupe_uuid_v7() makes UUIDv7 ids
-- (RFC 9562) that sort in creation order:
--   bits 0-47   Unix time in ms (clock_timestamp(): when the row is made, not the transaction)
--   bits 48-51  version 7
--   bits 52-63  creation counter, high 12 bits    (counter: the sequence loupe_id_seq, 32 bits,
--   bits 64-65  variant 10                          so ids made in one millisecond still sort
--   bits 66-85  creation counter, low 20 bits       in the order they were made)
--   bits 86-87  zero
--   bits 88-127 random (40 bits)
-- Every table whose id the database makes uses it; a new table uses DEFAULT loupe_uuid_v7().

CREATE SEQUENCE loupe_id_seq AS bigint MINVALUE 0 MAXVALUE 4294967295 START 0 CYCLE;

CREATE FUNCTION loupe_uuid_v7() RETURNS uuid
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);
    n  bigint := nextval('loupe_id_seq');
BEGIN
    RETURN encode(substring(int8send(ms) FROM 3 FOR 6)
                  || substring(int4send((28672 | ((n >> 20) & 4095))::int) FROM 3 FOR 2)  -- 0x7000
                  || substring(int4send((8388608 | ((n & 1048575) << 2))::int) FROM 2 FOR 3) -- 0x800000
                  || substring(uuid_send(gen_random_uuid()) FROM 12 FOR 5),
                  'hex')::uuid;
END
$$;

ALTER TABLE teams     ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
ALTER TABLE users     ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
ALTER TABLE api_keys  ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
ALTER TABLE sessions  ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
ALTER TABLE jobs      ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
ALTER TABLE datasets  ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
ALTER TABLE items     ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
ALTER TABLE slots     ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
ALTER TABLE classes   ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
ALTER TABLE uploads   ALTER COLUMN id SET DEFAULT loupe_uuid_v7();
