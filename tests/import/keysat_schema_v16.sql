-- The tables and columns a Keysat 0.2.x database has after its migration 16 (before merchant
-- profiles: one BTCPay store and one Zaprite account in singleton tables), written from the
-- facts of Keysat's licensing-service/migrations/ (our own text, not a copy), for the fixture
-- generator of `keysat-migrate import-keysat` (keysat_fixture.cpp). Timestamps are RFC 3339 TEXT
-- (chrono's to_rfc3339, e.g. 2026-05-12T14:31:00.123456789+00:00; rows made by migration 20 use
-- SQLite's datetime('now')); ids are UUID v4 TEXT (rows made by migration 20 use 32 hex digits).
-- Applied migrations are rows of sqlx's _sqlx_migrations (version 1-16).

CREATE TABLE _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_sats INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    metadata_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    price_currency TEXT NOT NULL DEFAULT 'SAT',         -- 10
    price_value INTEGER NOT NULL DEFAULT 0,              -- 10: smallest unit of price_currency
    entitlements_catalog_json TEXT                      -- 14
);

CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id),
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL DEFAULT 0,        -- 0: perpetual
    grace_seconds INTEGER NOT NULL DEFAULT 0,
    max_machines INTEGER NOT NULL DEFAULT 1,
    is_trial INTEGER NOT NULL DEFAULT 0,
    price_sats_override INTEGER,                        -- smallest unit of the product's currency
    entitlements_json TEXT NOT NULL DEFAULT '[]',
    metadata_json TEXT NOT NULL DEFAULT '{}',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    tip_recipient TEXT,                                 -- 6
    tip_pct_bps INTEGER NOT NULL DEFAULT 0,             -- 6
    tip_label TEXT,                                     -- 6
    public INTEGER NOT NULL DEFAULT 1,                  -- 7
    price_currency_override TEXT,                       -- 10 (unused by Keysat's code)
    price_value_override INTEGER,                       -- 10 (unused by Keysat's code)
    is_recurring INTEGER NOT NULL DEFAULT 0,            -- 11
    renewal_period_days INTEGER,                        -- 11
    grace_period_days INTEGER NOT NULL DEFAULT 7,       -- 11
    trial_days INTEGER NOT NULL DEFAULT 0,              -- 11
    tier_rank INTEGER,                                  -- 13
    archived_at TEXT,                                   -- 15
    UNIQUE (product_id, slug)
);

CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    btcpay_invoice_id TEXT NOT NULL UNIQUE,             -- the provider's invoice or order id
    product_id TEXT NOT NULL REFERENCES products (id),
    status TEXT NOT NULL,                               -- pending, settled, expired, invalid
    buyer_email TEXT,
    buyer_note TEXT,
    amount_sats INTEGER NOT NULL,                       -- what was charged, in sats
    checkout_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    policy_id TEXT REFERENCES policies (id),            -- 7
    listed_currency TEXT,                               -- 10
    listed_value INTEGER,                               -- 10
    exchange_rate_centibps INTEGER,                     -- 10: listed units per BTC x 10^4
    exchange_rate_source TEXT                           -- 10
);

CREATE TABLE licenses (
    id TEXT PRIMARY KEY,                                -- the LIC1 payload's license id
    product_id TEXT NOT NULL REFERENCES products (id),
    invoice_id TEXT UNIQUE REFERENCES invoices (id),
    status TEXT NOT NULL,                               -- active, revoked, suspended
    fingerprint TEXT,
    bound_identity TEXT,
    issued_at TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT,
    metadata_json TEXT NOT NULL DEFAULT '{}',
    policy_id TEXT REFERENCES policies (id),            -- 3
    expires_at TEXT,                                    -- 3
    grace_seconds INTEGER NOT NULL DEFAULT 0,           -- 3
    max_machines INTEGER NOT NULL DEFAULT 1,            -- 3
    suspended_at TEXT,                                  -- 3
    suspension_reason TEXT,                             -- 3
    entitlements_json TEXT NOT NULL DEFAULT '[]',       -- 3: in LIC1 order
    is_trial INTEGER NOT NULL DEFAULT 0,                -- 3: LIC1 flag 0x02
    nostr_npub TEXT,                                    -- 3
    buyer_email TEXT                                    -- 3
);
-- The key text is not stored: Keysat signs it again from the row (payload v2: version 2, flags,
-- product id, license id, issued_at and expires_at as u64 seconds, a zero fingerprint hash,
-- the entitlements), and Ed25519 is deterministic.

CREATE TABLE machines (                                 -- 3
    id TEXT PRIMARY KEY,
    license_id TEXT NOT NULL REFERENCES licenses (id),
    fingerprint TEXT NOT NULL,
    fingerprint_hash TEXT NOT NULL,                     -- hex SHA-256 of fingerprint
    hostname TEXT,
    platform TEXT,
    ip_last_seen TEXT,
    activated_at TEXT NOT NULL,
    last_heartbeat_at TEXT,
    deactivated_at TEXT,
    deactivation_reason TEXT
);
CREATE UNIQUE INDEX machines_active ON machines (license_id, fingerprint_hash)
    WHERE deactivated_at IS NULL;

CREATE TABLE validation_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    license_id TEXT,
    product_id TEXT,
    fingerprint TEXT,
    result TEXT NOT NULL,
    client_ip TEXT,
    user_agent TEXT,
    occurred_at TEXT NOT NULL,
    machine_id TEXT,                                    -- 3
    reason_detail TEXT                                  -- 3
);

CREATE TABLE server_keys (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    algorithm TEXT NOT NULL,                            -- ed25519
    public_key_pem TEXT NOT NULL,                       -- SPKI PEM
    private_key_pem TEXT NOT NULL,                      -- unencrypted PKCS#8 PEM
    created_at TEXT NOT NULL
);

CREATE TABLE btcpay_authorize_state (
    state_token TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE webhook_endpoints (                        -- 3
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,                               -- plain text; integrators hold it
    event_types TEXT NOT NULL DEFAULT '["*"]',
    active INTEGER NOT NULL DEFAULT 1,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (                       -- 3
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_type TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE audit_log (                                -- 3
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_kind TEXT NOT NULL,
    actor_hash TEXT,                                    -- hex SHA-256 of the credential
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    request_ip TEXT,
    user_agent TEXT,
    details_json TEXT NOT NULL DEFAULT '{}',
    occurred_at TEXT NOT NULL
);

CREATE TABLE rate_buckets (                             -- 3
    bucket_kind TEXT NOT NULL,
    bucket_key TEXT NOT NULL,
    tokens_remaining REAL NOT NULL,
    capacity REAL NOT NULL,
    refill_per_second REAL NOT NULL,
    last_refill_at TEXT NOT NULL,
    PRIMARY KEY (bucket_kind, bucket_key)
);

CREATE TABLE discount_codes (                           -- 4, rebuilt by 9
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,                          -- upper case
    kind TEXT NOT NULL CHECK (kind IN ('percent', 'fixed_sats', 'set_price', 'free_license')),
    amount INTEGER NOT NULL CHECK (amount >= 0),        -- basis points, or discount_currency units
    max_uses INTEGER,
    used_count INTEGER NOT NULL DEFAULT 0 CHECK (used_count >= 0),
    expires_at TEXT,
    applies_to_product_id TEXT REFERENCES products (id),
    applies_to_policy_id TEXT REFERENCES policies (id),
    referrer_label TEXT,
    description TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    discount_currency TEXT NOT NULL DEFAULT 'SAT'       -- 10
);

CREATE TABLE discount_redemptions (                     -- 4, rebuilt by 9
    id TEXT PRIMARY KEY,
    code_id TEXT NOT NULL REFERENCES discount_codes (id),
    invoice_id TEXT NOT NULL UNIQUE REFERENCES invoices (id),
    license_id TEXT REFERENCES licenses (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'redeemed', 'cancelled')),
    discount_applied_sats INTEGER NOT NULL,
    base_price_sats INTEGER NOT NULL,
    final_price_sats INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE settings (                                 -- 5
    key TEXT PRIMARY KEY,                               -- operator_name, web_ui_password_hash...
    value TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE tip_attempts (                             -- 6
    id TEXT PRIMARY KEY,
    license_id TEXT NOT NULL REFERENCES licenses (id),
    policy_id TEXT NOT NULL REFERENCES policies (id),
    recipient TEXT NOT NULL,
    amount_sats INTEGER NOT NULL,
    pct_bps INTEGER NOT NULL,
    label TEXT,
    status TEXT NOT NULL,
    detail TEXT,
    payment_hash TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (                                 -- 8
    token TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT
);

CREATE TABLE subscriptions (                            -- 11
    id TEXT PRIMARY KEY,
    license_id TEXT NOT NULL UNIQUE REFERENCES licenses (id),
    policy_id TEXT NOT NULL REFERENCES policies (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    period_days INTEGER NOT NULL CHECK (period_days > 0),
    listed_currency TEXT NOT NULL,
    listed_value INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'past_due', 'cancelled', 'lapsed')),
    started_at TEXT NOT NULL,
    next_renewal_at TEXT,
    cancelled_at TEXT,
    cancellation_reason TEXT,
    last_renewal_attempt_at TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE subscription_invoices (                    -- 11
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    cycle_number INTEGER NOT NULL CHECK (cycle_number >= 1),
    cycle_start_at TEXT NOT NULL,
    cycle_end_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (subscription_id, cycle_number)
);

CREATE TABLE tier_changes (                             -- 13
    id TEXT PRIMARY KEY,
    license_id TEXT NOT NULL REFERENCES licenses (id),
    from_policy_id TEXT NOT NULL REFERENCES policies (id),
    to_policy_id TEXT NOT NULL REFERENCES policies (id),
    direction TEXT NOT NULL CHECK (direction IN ('upgrade', 'downgrade')),
    listed_currency TEXT NOT NULL,
    proration_charge_value INTEGER NOT NULL DEFAULT 0 CHECK (proration_charge_value >= 0),
    invoice_id TEXT REFERENCES invoices (id),
    effective_at TEXT NOT NULL,
    actor TEXT NOT NULL CHECK (actor IN ('buyer', 'admin')),
    reason TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE scoped_api_keys (                          -- 16
    id TEXT PRIMARY KEY NOT NULL,
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,                    -- hex SHA-256 of "ks_" + 43 characters
    role TEXT NOT NULL CHECK (role IN ('read-only', 'license-issuer', 'support', 'full-admin')),
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE btcpay_config (                            -- 2: dropped by 20
    id INTEGER PRIMARY KEY CHECK (id = 1),
    base_url TEXT NOT NULL,
    api_key TEXT NOT NULL,
    store_id TEXT NOT NULL,
    webhook_id TEXT,
    webhook_secret TEXT NOT NULL,                       -- BTCPay posts to /v1/btcpay/webhook
    connected_at TEXT NOT NULL
);

CREATE TABLE zaprite_config (                           -- 12: dropped by 20
    id INTEGER PRIMARY KEY CHECK (id = 1),
    api_key TEXT NOT NULL,
    base_url TEXT NOT NULL DEFAULT 'https://api.zaprite.com',
    webhook_id TEXT,                                    -- Zaprite posts to /v1/zaprite/webhook
    connected_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
