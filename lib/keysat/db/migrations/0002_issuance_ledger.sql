-- Version 2: where each license came from, so that issuance and ledger imports are idempotent.
-- id_key is the idempotency key of `keysat-issue bulk` (one license per key); source says which
-- path recorded the license.

ALTER TABLE licenses ADD COLUMN id_key TEXT;
ALTER TABLE licenses ADD COLUMN source TEXT NOT NULL DEFAULT 'server'
    CHECK (source IN ('server', 'issue', 'ledger'));
CREATE UNIQUE INDEX licenses_id_key ON licenses (id_key) WHERE id_key IS NOT NULL;

CREATE TABLE ledger_imports (
    id INTEGER PRIMARY KEY,
    file_sha256 TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    records INTEGER NOT NULL,
    inserted INTEGER NOT NULL
) STRICT;
