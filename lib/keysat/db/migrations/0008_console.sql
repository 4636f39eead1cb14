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

-- The dashboard's figures without scanning what grows without end. validation_log gets a row
-- per check (tens of millions in a busy shop): validation_daily counts them per UTC day and
-- result ("ok" or the refusal's reason), kept by a trigger so that every writer (the server's
-- background writer, an import) counts alike, and filled here from the rows already logged.
-- Deleting old log rows leaves the counts.
CREATE TABLE validation_daily (
    day INTEGER NOT NULL,                        -- days since 1970-01-01, UTC
    result TEXT NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, result)
) STRICT, WITHOUT ROWID;

INSERT INTO validation_daily (day, result, count)
    SELECT at / 86400, result, count(*) FROM validation_log GROUP BY at / 86400, result;

CREATE TRIGGER validation_log_daily AFTER INSERT ON validation_log
BEGIN
    INSERT INTO validation_daily (day, result, count) VALUES (NEW.at / 86400, NEW.result, 1)
        ON CONFLICT (day, result) DO UPDATE SET count = count + 1;
END;

-- Licenses per issued day and revenue per settled day, product and currency: rollups kept by
-- triggers (a million licenses issue over a hundred thousand a quarter; counting them per request
-- took most of the dashboard's time), filled here.
CREATE TABLE licenses_daily (
    day INTEGER PRIMARY KEY NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0)
) STRICT;

INSERT INTO licenses_daily (day, count)
    SELECT issued_at / 86400, count(*) FROM licenses GROUP BY issued_at / 86400;

CREATE TRIGGER licenses_daily_insert AFTER INSERT ON licenses
BEGIN
    INSERT INTO licenses_daily (day, count) VALUES (NEW.issued_at / 86400, 1)
        ON CONFLICT (day) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER licenses_daily_delete AFTER DELETE ON licenses
BEGIN
    UPDATE licenses_daily SET count = count - 1 WHERE day = OLD.issued_at / 86400;
END;

CREATE TABLE revenue_daily (
    day INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    invoices INTEGER NOT NULL CHECK (invoices >= 0),
    PRIMARY KEY (day, product_id, currency)
) STRICT, WITHOUT ROWID;

INSERT INTO revenue_daily (day, product_id, currency, amount, invoices)
    SELECT coalesce(settled_at, updated_at) / 86400, product_id, currency, sum(amount), count(*)
    FROM invoices WHERE status = 'settled'
    GROUP BY coalesce(settled_at, updated_at) / 86400, product_id, currency;

-- An invoice is settled once (settled is final): by an update, or already when written (a zero
-- price, an import).
CREATE TRIGGER revenue_daily_insert AFTER INSERT ON invoices WHEN NEW.status = 'settled'
BEGIN
    INSERT INTO revenue_daily (day, product_id, currency, amount, invoices)
        VALUES (coalesce(NEW.settled_at, NEW.updated_at) / 86400, NEW.product_id, NEW.currency,
                NEW.amount, 1)
        ON CONFLICT (day, product_id, currency)
        DO UPDATE SET amount = amount + excluded.amount, invoices = invoices + 1;
END;

CREATE TRIGGER revenue_daily_settle AFTER UPDATE OF status ON invoices
    WHEN NEW.status = 'settled' AND OLD.status != 'settled'
BEGIN
    INSERT INTO revenue_daily (day, product_id, currency, amount, invoices)
        VALUES (coalesce(NEW.settled_at, NEW.updated_at) / 86400, NEW.product_id, NEW.currency,
                NEW.amount, 1)
        ON CONFLICT (day, product_id, currency)
        DO UPDATE SET amount = amount + excluded.amount, invoices = invoices + 1;
END;

-- Invoices awaiting payment, counted through this index.
CREATE INDEX invoices_settled ON invoices (status, settled_at);
-- Deliveries that gave up, counted and listed without reading the delivered ones.
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (dead, created_at);

-- Active machines, counted as they change (a count over the machines table reads every active
-- row: half a million in a big shop). Triggers keep it for every writer; filled here.
CREATE TABLE dashboard_counts (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO dashboard_counts (name, value)
    SELECT 'active_machines', count(*) FROM machines WHERE deactivated_at IS NULL;

CREATE TRIGGER machines_count_insert AFTER INSERT ON machines WHEN NEW.deactivated_at IS NULL
BEGIN
    UPDATE dashboard_counts SET value = value + 1 WHERE name = 'active_machines';
END;

CREATE TRIGGER machines_count_update AFTER UPDATE OF deactivated_at ON machines
    WHEN (OLD.deactivated_at IS NULL) != (NEW.deactivated_at IS NULL)
BEGIN
    UPDATE dashboard_counts
        SET value = value + CASE WHEN NEW.deactivated_at IS NULL THEN 1 ELSE -1 END
        WHERE name = 'active_machines';
END;

CREATE TRIGGER machines_count_delete AFTER DELETE ON machines WHEN OLD.deactivated_at IS NULL
BEGIN
    UPDATE dashboard_counts SET value = value - 1 WHERE name = 'active_machines';
END;

-- A license's (or any row's) audit trail, read by its target.
CREATE INDEX audit_log_target ON audit_log (target, at);
