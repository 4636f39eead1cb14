-- Version 5: audit rows name their actor by API key id ('master' for the master key) and keep an
-- HMAC-SHA256 of the credential under the server's secret (server.secret in the data directory)
-- instead of a plain SHA-256. The plain hash equalled api_keys.key_sha256 and let anyone with
-- audit:read test a guessed credential offline, so it is erased from every existing row; old
-- rows keep their actor id, found through that hash, and have no HMAC.

ALTER TABLE audit_log ADD COLUMN actor_id TEXT;
ALTER TABLE audit_log ADD COLUMN actor_hmac TEXT;
UPDATE audit_log SET actor_id = 'master' WHERE actor_kind = 'master';
UPDATE audit_log
    SET actor_id = (SELECT id FROM api_keys WHERE api_keys.key_sha256 = audit_log.actor_sha256)
    WHERE actor_kind = 'api_key';
UPDATE audit_log SET actor_sha256 = NULL;
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
