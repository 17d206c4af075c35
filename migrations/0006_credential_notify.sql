-- Credential change notifications: every louped node caches accepted API
-- keys and sessions (with the member's role and profile) and LISTENs on
-- loupe_credentials; these triggers announce every change that must reach
-- those caches, in the changing transaction, so they are delivered when it
-- commits (and never if it rolls back). Payloads:
--   key <api_keys.id>            revoked, expiry or role changed, deleted
--   session <sessions.id>        signed out, expiry changed, deleted
--   member <team_id> <user_id>   role changed, member removed
--   user <users.id>              email or name changed, user deleted
--   team <teams.id>              name or slug changed, team deleted
-- Updates that change nothing a cache holds (last_used_at) stay silent.

CREATE FUNCTION loupe_notify_credential() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    IF TG_TABLE_NAME = 'api_keys' THEN
        PERFORM pg_notify('loupe_credentials', 'key ' || r.id);
    ELSIF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('loupe_credentials', 'session ' || r.id);
    ELSIF TG_TABLE_NAME = 'memberships' THEN
        PERFORM pg_notify('loupe_credentials', 'member ' || r.team_id || ' ' || r.user_id);
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('loupe_credentials', 'user ' || r.id);
    ELSIF TG_TABLE_NAME = 'teams' THEN
        PERFORM pg_notify('loupe_credentials', 'team ' || r.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_notify_update AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.role IS DISTINCT FROM NEW.role OR OLD.key_hash IS DISTINCT FROM NEW.key_hash)
    EXECUTE FUNCTION loupe_notify_credential();
CREATE TRIGGER api_keys_notify_delete AFTER DELETE ON api_keys FOR EACH ROW
    EXECUTE FUNCTION loupe_notify_credential();

CREATE TRIGGER sessions_notify_update AFTER UPDATE ON sessions FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.csrf_token IS DISTINCT FROM NEW.csrf_token)
    EXECUTE FUNCTION loupe_notify_credential();
CREATE TRIGGER sessions_notify_delete AFTER DELETE ON sessions FOR EACH ROW
    EXECUTE FUNCTION loupe_notify_credential();

CREATE TRIGGER memberships_notify_update AFTER UPDATE ON memberships FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION loupe_notify_credential();
CREATE TRIGGER memberships_notify_delete AFTER DELETE ON memberships FOR EACH ROW
    EXECUTE FUNCTION loupe_notify_credential();

CREATE TRIGGER users_notify_update AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.email IS DISTINCT FROM NEW.email OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION loupe_notify_credential();
CREATE TRIGGER users_notify_delete AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION loupe_notify_credential();

CREATE TRIGGER teams_notify_update AFTER UPDATE ON teams FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.slug IS DISTINCT FROM NEW.slug)
    EXECUTE FUNCTION loupe_notify_credential();
CREATE TRIGGER teams_notify_delete AFTER DELETE ON teams FOR EACH ROW
    EXECUTE FUNCTION loupe_notify_credential();
