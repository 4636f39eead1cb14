-- Version 3: the discount code fields of Keysat's admin API that version 1 did not keep: a
-- description, a referrer label for tracking, and the currency of fixed and set-price amounts.

ALTER TABLE discount_codes ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE discount_codes ADD COLUMN referrer_label TEXT;
ALTER TABLE discount_codes ADD COLUMN currency TEXT NOT NULL DEFAULT 'SAT'
    CHECK (currency IN ('SAT', 'USD', 'EUR'));
