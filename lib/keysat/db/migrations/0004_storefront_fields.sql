-- Version 4: what Keysat keeps about a policy for its buy page and its admin tools, which version
-- 1 did not: a description, whether the tier is highlighted, where its marketing bullets stand,
-- the rest of the metadata object the admin tools send, and the grace days of a recurring
-- policy's subscription, and when it was archived; a description of each outbound webhook endpoint.

ALTER TABLE policies ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE policies ADD COLUMN highlighted INTEGER NOT NULL DEFAULT 0 CHECK (highlighted IN (0, 1));
ALTER TABLE policies ADD COLUMN marketing_bullets_position TEXT NOT NULL DEFAULT 'above'
    CHECK (marketing_bullets_position IN ('above', 'below'));
ALTER TABLE policies ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE policies ADD COLUMN grace_period_days INTEGER NOT NULL DEFAULT 7
    CHECK (grace_period_days BETWEEN 0 AND 90);
ALTER TABLE policies ADD COLUMN archived_at INTEGER;
UPDATE policies SET archived_at = updated_at WHERE archived = 1;

ALTER TABLE webhook_endpoints ADD COLUMN description TEXT NOT NULL DEFAULT '';
