-- Version 6: what selling needs beyond version 1. The single-use states of BTCPay's authorize
-- round trip (and, when the authorized key sees several stores, the key until the operator picks
-- one); a merchant profile's storefront fields and which profile is the default; the profile a
-- product is sold under; a payment provider's label.

CREATE TABLE provider_connect_states (
    state TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('btcpay')),
    merchant_profile_id TEXT REFERENCES merchant_profiles (id),
    label TEXT NOT NULL DEFAULT '',
    actor_kind TEXT NOT NULL,        -- who started the connect (its audit row names them)
    actor_id TEXT NOT NULL,
    api_key TEXT,                    -- set only while the operator picks one of several stores
    created_at INTEGER NOT NULL
) STRICT;

ALTER TABLE merchant_profiles ADD COLUMN legal_name TEXT;
ALTER TABLE merchant_profiles ADD COLUMN support_url TEXT;
ALTER TABLE merchant_profiles ADD COLUMN support_email TEXT;
ALTER TABLE merchant_profiles ADD COLUMN brand_color TEXT;
ALTER TABLE merchant_profiles ADD COLUMN post_purchase_redirect_url TEXT;
ALTER TABLE merchant_profiles ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0
    CHECK (is_default IN (0, 1));
ALTER TABLE merchant_profiles ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE merchant_profiles SET support_email = contact_email, updated_at = created_at;
CREATE UNIQUE INDEX merchant_profiles_one_default ON merchant_profiles (is_default)
    WHERE is_default = 1;

ALTER TABLE products ADD COLUMN merchant_profile_id TEXT REFERENCES merchant_profiles (id);

ALTER TABLE payment_providers ADD COLUMN label TEXT NOT NULL DEFAULT '';
-- One connected provider of each kind per profile (two connects racing cannot both win).
CREATE UNIQUE INDEX payment_providers_one_per_profile ON payment_providers (merchant_profile_id, kind)
    WHERE status = 'connected' AND merchant_profile_id IS NOT NULL;

-- Which provider takes a rail (lightning, onchain, card) for a profile when several could.
CREATE TABLE merchant_rail_preferences (
    merchant_profile_id TEXT NOT NULL REFERENCES merchant_profiles (id),
    rail TEXT NOT NULL CHECK (rail IN ('lightning', 'onchain', 'card')),
    payment_provider_id TEXT NOT NULL REFERENCES payment_providers (id),
    PRIMARY KEY (merchant_profile_id, rail)
) STRICT;
