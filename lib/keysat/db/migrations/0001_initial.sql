-- Version 1: the whole product's state. Times are unix seconds (INTEGER); ids are UUID text;
-- money is an integer in the currency's smallest unit; JSON arrays are TEXT holding JSON.

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    key_id TEXT PRIMARY KEY NOT NULL,          -- minisign key id, 16 upper-case hex digits
    public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),
    encrypted_secret TEXT,                     -- minisign secret key file text, or NULL (verify-only)
    created_at INTEGER NOT NULL,
    retired_at INTEGER
) STRICT;

CREATE TABLE products (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_amount INTEGER NOT NULL DEFAULT 0 CHECK (price_amount >= 0),
    currency TEXT NOT NULL DEFAULT 'SAT' CHECK (currency IN ('SAT', 'USD', 'EUR')),
    entitlements TEXT NOT NULL DEFAULT '[]',
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE policies (
    id TEXT PRIMARY KEY NOT NULL,
    product_id TEXT NOT NULL REFERENCES products (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    duration_days INTEGER CHECK (duration_days IS NULL OR duration_days > 0),  -- NULL: perpetual
    grace_days INTEGER NOT NULL DEFAULT 0 CHECK (grace_days >= 0),
    max_machines INTEGER NOT NULL DEFAULT 0 CHECK (max_machines >= 0),          -- 0: unlimited
    entitlements TEXT NOT NULL DEFAULT '[]',
    hidden_entitlements TEXT NOT NULL DEFAULT '[]',
    is_trial INTEGER NOT NULL DEFAULT 0 CHECK (is_trial IN (0, 1)),
    trial_days INTEGER,
    recurring_period TEXT CHECK (recurring_period IS NULL OR recurring_period IN ('month', 'year')),
    price_override INTEGER CHECK (price_override IS NULL OR price_override >= 0),
    tier_rank INTEGER NOT NULL DEFAULT 0,
    public INTEGER NOT NULL DEFAULT 1 CHECK (public IN (0, 1)),
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    marketing_bullets TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (product_id, slug)
) STRICT;

CREATE TABLE merchant_profiles (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    contact_email TEXT,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE payment_providers (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('btcpay', 'zaprite')),
    merchant_profile_id TEXT REFERENCES merchant_profiles (id),
    base_url TEXT NOT NULL,
    store_id TEXT,
    api_key TEXT,                 -- needed to call the provider; never logged
    webhook_id TEXT,
    webhook_secret TEXT,
    status TEXT NOT NULL DEFAULT 'connected' CHECK (status IN ('pending', 'connected', 'disconnected')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE invoices (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT REFERENCES payment_providers (id),
    provider_invoice_id TEXT,
    product_id TEXT NOT NULL REFERENCES products (id),
    policy_id TEXT REFERENCES policies (id),
    status TEXT NOT NULL CHECK (status IN ('new', 'processing', 'settled', 'expired', 'invalid')),
    base_amount INTEGER NOT NULL CHECK (base_amount >= 0),
    discount_amount INTEGER NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    currency TEXT NOT NULL CHECK (currency IN ('SAT', 'USD', 'EUR')),
    buyer_email TEXT,
    buyer_note TEXT,
    discount_code_id TEXT REFERENCES discount_codes (id),
    checkout_url TEXT,
    redirect_url TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    settled_at INTEGER,
    UNIQUE (provider_id, provider_invoice_id)
) STRICT;
CREATE INDEX invoices_status ON invoices (status, created_at);

CREATE TABLE licenses (
    id TEXT PRIMARY KEY NOT NULL,
    -- Not a foreign key: keys signed on an air-gapped machine may name a product before the
    -- catalog here knows it.
    product_id TEXT NOT NULL,
    policy_id TEXT REFERENCES policies (id),
    invoice_id TEXT UNIQUE REFERENCES invoices (id),   -- one license per invoice
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'revoked')),
    buyer_email TEXT,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER,                                -- NULL: perpetual
    grace_days INTEGER NOT NULL DEFAULT 0 CHECK (grace_days >= 0),
    max_machines INTEGER NOT NULL DEFAULT 0 CHECK (max_machines >= 0),
    entitlements TEXT NOT NULL DEFAULT '[]',
    is_trial INTEGER NOT NULL DEFAULT 0 CHECK (is_trial IN (0, 1)),
    fingerprint_sha256 TEXT,
    license_key TEXT NOT NULL UNIQUE,
    signing_key_id TEXT NOT NULL REFERENCES signing_keys (key_id),
    suspension_reason TEXT,
    revocation_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX licenses_email ON licenses (buyer_email COLLATE NOCASE);
CREATE INDEX licenses_product ON licenses (product_id, issued_at);

CREATE TABLE machines (
    id TEXT PRIMARY KEY NOT NULL,
    license_id TEXT NOT NULL REFERENCES licenses (id),
    fingerprint TEXT NOT NULL,
    fingerprint_sha256 TEXT NOT NULL,
    hostname TEXT,
    platform TEXT,
    activated_at INTEGER NOT NULL,
    last_heartbeat_at INTEGER,
    deactivated_at INTEGER,
    deactivation_reason TEXT
) STRICT;
CREATE UNIQUE INDEX machines_one_active ON machines (license_id, fingerprint_sha256)
    WHERE deactivated_at IS NULL;

CREATE TABLE discount_codes (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL CHECK (kind IN ('percent', 'fixed_sats', 'set_price', 'free_license')),
    value INTEGER NOT NULL DEFAULT 0 CHECK (value >= 0),   -- basis points, sats or price
    max_uses INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
    uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    expires_at INTEGER,
    product_ids TEXT NOT NULL DEFAULT '[]',                -- empty: every product
    policy_ids TEXT NOT NULL DEFAULT '[]',
    featured INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0, 1)),
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK (max_uses IS NULL OR uses <= max_uses)
) STRICT;

CREATE TABLE discount_redemptions (
    id TEXT PRIMARY KEY NOT NULL,
    discount_code_id TEXT NOT NULL REFERENCES discount_codes (id),
    invoice_id TEXT NOT NULL UNIQUE REFERENCES invoices (id),   -- one redemption per invoice
    status TEXT NOT NULL CHECK (status IN ('reserved', 'used', 'released')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    license_id TEXT NOT NULL UNIQUE REFERENCES licenses (id),
    policy_id TEXT NOT NULL REFERENCES policies (id),
    status TEXT NOT NULL CHECK (status IN ('active', 'past_due', 'lapsed', 'cancelled')),
    current_period_end INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE tier_changes (
    id TEXT PRIMARY KEY NOT NULL,
    license_id TEXT NOT NULL REFERENCES licenses (id),
    from_policy_id TEXT REFERENCES policies (id),
    to_policy_id TEXT NOT NULL REFERENCES policies (id),
    invoice_id TEXT REFERENCES invoices (id),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL DEFAULT '[]',          -- empty: every event
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,                         -- serialized once; the same bytes on every retry
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_status INTEGER,
    last_error TEXT,
    delivered_at INTEGER,
    dead INTEGER NOT NULL DEFAULT 0 CHECK (dead IN (0, 1)),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND dead = 0;

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    key_sha256 TEXT NOT NULL UNIQUE,            -- the key itself is shown once, never stored
    scopes TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_sha256 TEXT,                          -- hash of the credential, never the credential
    action TEXT NOT NULL,
    target TEXT,
    request_ip TEXT,
    details TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_log_action ON audit_log (action, at);

CREATE TABLE rate_limit_buckets (
    bucket TEXT PRIMARY KEY NOT NULL,
    tokens REAL NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE validation_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    license_id TEXT,
    result TEXT NOT NULL,
    fingerprint_sha256 TEXT,
    request_ip TEXT
) STRICT;
CREATE INDEX validation_log_license ON validation_log (license_id, at);
