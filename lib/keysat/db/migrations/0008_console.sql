-- Version 8: the operator console's sessions. The browser's cookie holds a random session id;
-- only its SHA-256 is stored, so a copy of the database signs nobody in. A session belongs to
-- the master password or to a scoped API key (whose scopes are read again at each request, so
-- revoking the key ends its sessions). It ends when idle too long (last_seen_at), at its absolute
-- end (expires_at), at sign-out, or when the password changes. The CSRF token goes into every
-- form of the session; it is useless without the cookie.

CREATE TABLE console_sessions (
    id_sha256 TEXT PRIMARY KEY NOT NULL CHECK (length(id_sha256) = 64),
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('master', 'api_key')),
    actor_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
    ip TEXT,
    user_agent TEXT
) STRICT;

CREATE INDEX console_sessions_actor ON console_sessions (actor_kind, actor_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
