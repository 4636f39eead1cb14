-- Version 7: subscriptions that the license follows, renewal invoices and tier changes.
--
-- A recurring policy's period is a number of days (Keysat's renewal_period_days, 1 to 1830);
-- recurring_period stays as the label of the common lengths. A subscription gains a trialing
-- state, its price and period as sold, the period it is in, the provider that bills it, a
-- downgrade waiting for the next renewal, why and when it was cancelled or lapsed, and the
-- renewal worker's failure count (the table is rebuilt: a CHECK cannot be altered). An invoice
-- says what it pays for (a purchase, a renewal of a license's period, a tier change); at most
-- one open or settled renewal invoice exists per license and period, which is what keeps two
-- renewal workers from billing a period twice. A tier change records its direction, charge,
-- actor and whether it is applied yet.

ALTER TABLE policies ADD COLUMN renewal_period_days INTEGER
    CHECK (renewal_period_days IS NULL OR renewal_period_days BETWEEN 1 AND 1830);
UPDATE policies SET renewal_period_days = CASE recurring_period
    WHEN 'month' THEN 30 WHEN 'year' THEN 365 END;

CREATE TABLE subscriptions_v7 (
    id TEXT PRIMARY KEY NOT NULL,
    license_id TEXT NOT NULL UNIQUE REFERENCES licenses (id),
    policy_id TEXT NOT NULL REFERENCES policies (id),
    product_id TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('trialing', 'active', 'past_due', 'lapsed', 'cancelled')),
    period_days INTEGER NOT NULL CHECK (period_days > 0),
    listed_currency TEXT NOT NULL CHECK (listed_currency IN ('SAT', 'USD', 'EUR')),
    listed_value INTEGER NOT NULL CHECK (listed_value >= 0),
    grace_days INTEGER NOT NULL DEFAULT 7 CHECK (grace_days >= 0),
    started_at INTEGER NOT NULL,
    current_period_start INTEGER NOT NULL,
    current_period_end INTEGER NOT NULL,           -- Keysat's next_renewal_at
    provider_id TEXT REFERENCES payment_providers (id),
    pending_policy_id TEXT REFERENCES policies (id), -- a downgrade applied at the next renewal
    cancelled_at INTEGER,
    cancellation_reason TEXT,
    lapsed_at INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    last_renewal_attempt_at INTEGER,
    zaprite_payment_profile_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

INSERT INTO subscriptions_v7 (id, license_id, policy_id, product_id, status, period_days,
    listed_currency, listed_value, grace_days, started_at, current_period_start,
    current_period_end, created_at, updated_at)
SELECT s.id, s.license_id, s.policy_id, p.product_id, s.status,
    COALESCE(p.renewal_period_days, 30), pr.currency,
    COALESCE(p.price_override, pr.price_amount), p.grace_period_days, s.created_at,
    MAX(s.created_at, s.current_period_end - COALESCE(p.renewal_period_days, 30) * 86400),
    s.current_period_end, s.created_at, s.updated_at
FROM subscriptions s JOIN policies p ON p.id = s.policy_id JOIN products pr ON pr.id = p.product_id;

DROP TABLE subscriptions;
ALTER TABLE subscriptions_v7 RENAME TO subscriptions;
CREATE INDEX subscriptions_due ON subscriptions (status, current_period_end);

ALTER TABLE invoices ADD COLUMN purpose TEXT NOT NULL DEFAULT 'purchase'
    CHECK (purpose IN ('purchase', 'renewal', 'upgrade'));
ALTER TABLE invoices ADD COLUMN license_id TEXT REFERENCES licenses (id);
ALTER TABLE invoices ADD COLUMN period_end INTEGER;  -- a renewal: the period end it extends
CREATE UNIQUE INDEX invoices_one_renewal ON invoices (license_id, period_end)
    WHERE purpose = 'renewal' AND status IN ('new', 'processing', 'settled');
CREATE INDEX invoices_license ON invoices (license_id) WHERE license_id IS NOT NULL;

ALTER TABLE tier_changes ADD COLUMN direction TEXT NOT NULL DEFAULT 'upgrade'
    CHECK (direction IN ('upgrade', 'downgrade'));
ALTER TABLE tier_changes ADD COLUMN listed_currency TEXT NOT NULL DEFAULT 'SAT';
ALTER TABLE tier_changes ADD COLUMN proration_charge_value INTEGER NOT NULL DEFAULT 0
    CHECK (proration_charge_value >= 0);
ALTER TABLE tier_changes ADD COLUMN effective_at INTEGER;
ALTER TABLE tier_changes ADD COLUMN actor TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE tier_changes ADD COLUMN reason TEXT;
ALTER TABLE tier_changes ADD COLUMN status TEXT NOT NULL DEFAULT 'applied'
    CHECK (status IN ('pending', 'applied', 'cancelled'));
CREATE INDEX tier_changes_license ON tier_changes (license_id, created_at);
