-- Version 9: the admin invoice list, and what retention keeps.
--
-- The admin invoice list (GET /v1/admin/invoices, the console's invoices page) is newest first
-- across every status. An index by creation time lets the first page read only its own rows;
-- with a status, invoices_status (status, created_at) serves the same order.
CREATE INDEX invoices_created ON invoices (created_at);

-- Validation-log rows are kept for validation_log_days; before they go, they are counted here
-- per UTC day, product, license and result, kept for good ('' for a key that named no license).
-- validation_daily (version 8) counts every row as it is written, so a prune changes no total.
CREATE TABLE validation_rollup (
    day INTEGER NOT NULL,                        -- days since 1970-01-01, UTC
    product_id TEXT NOT NULL,
    license_id TEXT NOT NULL,
    result TEXT NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, product_id, license_id, result)
) STRICT, WITHOUT ROWID;

-- Delivered webhook deliveries are kept for webhook_log_days: found by their delivery time.
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at)
    WHERE delivered_at IS NOT NULL;

-- Rate-limit buckets untouched for a day (full again, whatever their rate) are removed.
CREATE INDEX rate_limit_buckets_updated ON rate_limit_buckets (updated_at);
