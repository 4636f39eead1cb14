#include "keysat/store/subscription_store.hpp"

#include <fmt/format.h>

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

constexpr const char* k_columns =
    "id, license_id, policy_id, product_id, status, period_days, listed_currency, listed_value, "
    "grace_days, started_at, current_period_start, current_period_end, provider_id, "
    "pending_policy_id, cancelled_at, cancellation_reason, lapsed_at, consecutive_failures, "
    "last_renewal_attempt_at, zaprite_payment_profile_id, created_at, updated_at";

constexpr const char* k_tier_columns =
    "id, license_id, from_policy_id, to_policy_id, invoice_id, created_at, direction, "
    "listed_currency, proration_charge_value, effective_at, actor, reason, status";

SubscriptionRow read_subscription(const db::Statement& s) {
    SubscriptionRow r;
    r.id = s.column_text(0);
    r.license_id = s.column_text(1);
    r.policy_id = s.column_text(2);
    r.product_id = s.column_text(3);
    r.status = s.column_text(4);
    r.period_days = s.column_int(5);
    r.listed_currency = s.column_text(6);
    r.listed_value = s.column_int(7);
    r.grace_days = s.column_int(8);
    r.started_at = s.column_int(9);
    r.current_period_start = s.column_int(10);
    r.current_period_end = s.column_int(11);
    r.provider_id = opt_text(s, 12);
    r.pending_policy_id = opt_text(s, 13);
    r.cancelled_at = opt_int(s, 14);
    r.cancellation_reason = opt_text(s, 15);
    r.lapsed_at = opt_int(s, 16);
    r.consecutive_failures = s.column_int(17);
    r.last_renewal_attempt_at = opt_int(s, 18);
    r.zaprite_payment_profile_id = opt_text(s, 19);
    r.created_at = s.column_int(20);
    r.updated_at = s.column_int(21);
    return r;
}

// Binds every column from index 1 in k_columns' order.
void bind_subscription(db::Statement& s, const SubscriptionRow& r) {
    s.bind(1, r.id)
        .bind(2, r.license_id)
        .bind(3, r.policy_id)
        .bind(4, r.product_id)
        .bind(5, r.status)
        .bind(6, r.period_days)
        .bind(7, r.listed_currency)
        .bind(8, r.listed_value)
        .bind(9, r.grace_days)
        .bind(10, r.started_at)
        .bind(11, r.current_period_start)
        .bind(12, r.current_period_end)
        .bind(13, r.provider_id)
        .bind(14, r.pending_policy_id)
        .bind(15, r.cancelled_at)
        .bind(16, r.cancellation_reason)
        .bind(17, r.lapsed_at)
        .bind(18, r.consecutive_failures)
        .bind(19, r.last_renewal_attempt_at)
        .bind(20, r.zaprite_payment_profile_id)
        .bind(21, r.created_at)
        .bind(22, r.updated_at);
}

TierChangeRow read_tier(const db::Statement& s) {
    TierChangeRow t;
    t.id = s.column_text(0);
    t.license_id = s.column_text(1);
    t.from_policy_id = opt_text(s, 2);
    t.to_policy_id = s.column_text(3);
    t.invoice_id = opt_text(s, 4);
    t.created_at = s.column_int(5);
    t.direction = s.column_text(6);
    t.listed_currency = s.column_text(7);
    t.proration_charge_value = s.column_int(8);
    t.effective_at = opt_int(s, 9);
    t.actor = s.column_text(10);
    t.reason = opt_text(s, 11);
    t.status = s.column_text(12);
    return t;
}

} // namespace

Expected<void> SubscriptionStore::create(const SubscriptionRow& r) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("INSERT INTO subscriptions ({}) VALUES (?, ?, "
                                                   "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                                   "?, ?, ?, ?, ?)",
                                                   k_columns)));
    bind_subscription(s, r);
    return s.run();
}

Expected<std::optional<SubscriptionRow>> SubscriptionStore::find(const std::string& id) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("SELECT {} FROM subscriptions WHERE id = ?", k_columns)));
    s.bind(1, id);
    return read_first<SubscriptionRow>(s, read_subscription);
}

Expected<std::optional<SubscriptionRow>>
SubscriptionStore::find_by_license(const std::string& license_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM subscriptions WHERE "
                                                   "license_id = ?",
                                                   k_columns)));
    s.bind(1, license_id);
    return read_first<SubscriptionRow>(s, read_subscription);
}

Expected<bool> SubscriptionStore::save(const SubscriptionRow& r,
                                       const std::string& expected_status) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare("UPDATE subscriptions SET policy_id = ?3, product_id = ?4, status = ?5, "
                         "period_days = ?6, listed_currency = ?7, listed_value = ?8, grace_days "
                         "= ?9, current_period_start = ?11, current_period_end = ?12, "
                         "provider_id = ?13, pending_policy_id = ?14, cancelled_at = ?15, "
                         "cancellation_reason = ?16, lapsed_at = ?17, consecutive_failures = "
                         "?18, last_renewal_attempt_at = ?19, zaprite_payment_profile_id = ?20, "
                         "updated_at = ?22 WHERE id = ?1 AND status = ?23"));
    bind_subscription(s, r);
    s.bind(23, expected_status);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<void> SubscriptionStore::record_failure(const std::string& id, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE subscriptions SET consecutive_failures = "
                                       "consecutive_failures + 1, last_renewal_attempt_at = ?1, "
                                       "updated_at = ?1 WHERE id = ?2"));
    s.bind(1, now).bind(2, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    (void)n;
    return {};
}

Expected<void> SubscriptionStore::record_attempt(const std::string& id, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE subscriptions SET last_renewal_attempt_at = ?1, "
                                       "updated_at = ?1 WHERE id = ?2"));
    s.bind(1, now).bind(2, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    (void)n;
    return {};
}

Expected<bool> SubscriptionStore::keep_payment_profile(const std::string& id,
                                                       const std::string& profile,
                                                       std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE subscriptions SET zaprite_payment_profile_id = ?1, "
                                       "updated_at = ?2 WHERE id = ?3 AND "
                                       "zaprite_payment_profile_id IS NULL"));
    s.bind(1, profile).bind(2, now).bind(3, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::int64_t> SubscriptionStore::running_for_profile(const std::string& profile_id,
                                                              bool is_default) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("SELECT count(*) FROM subscriptions s JOIN products p ON "
                                       "p.id = s.product_id WHERE s.status IN ('trialing', "
                                       "'active', 'past_due') AND (p.merchant_profile_id = ?1 OR "
                                       "(?2 = 1 AND p.merchant_profile_id IS NULL))"));
    s.bind(1, profile_id).bind(2, std::int64_t{is_default});
    auto n = read_first<std::int64_t>(s, [](const db::Statement& r) { return r.column_int(0); });
    if (!n)
        return std::unexpected(n.error());
    return n->value_or(0);
}

Expected<std::vector<SubscriptionRow>>
SubscriptionStore::list(const std::optional<std::string>& status,
                        const std::optional<std::string>& product_id, int limit) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM subscriptions WHERE (?1 IS NULL "
                                                   "OR status = ?1) AND (?2 IS NULL OR "
                                                   "product_id = ?2) ORDER BY started_at DESC, id "
                                                   "LIMIT ?3",
                                                   k_columns)));
    s.bind(1, status).bind(2, product_id).bind(3, static_cast<std::int64_t>(limit));
    return read_all<SubscriptionRow>(s, read_subscription);
}

Expected<std::vector<SubscriptionRow>>
SubscriptionStore::due_for_invoice(std::int64_t horizon, std::int64_t now, int limit) {
    // One status at a time keeps each scan on the (status, current_period_end) index.
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format(
               "SELECT {} FROM subscriptions s WHERE s.status IN ('trialing', 'active', "
               "'past_due') AND s.current_period_end <= ?1 AND s.consecutive_failures < ?3 AND "
               "(s.last_renewal_attempt_at IS NULL OR s.last_renewal_attempt_at + CASE "
               "s.consecutive_failures WHEN 0 THEN 86400 WHEN 1 THEN 300 WHEN 2 THEN 1800 WHEN 3 "
               "THEN 7200 ELSE 21600 END <= ?2) AND NOT EXISTS (SELECT 1 FROM invoices i WHERE "
               "i.license_id = s.license_id AND i.period_end = s.current_period_end AND "
               "i.purpose = 'renewal' AND i.status IN ('new', 'processing', 'settled')) "
               "ORDER BY s.current_period_end, s.id LIMIT ?4",
               k_columns)));
    s.bind(1, horizon)
        .bind(2, now)
        .bind(3, k_max_renewal_failures)
        .bind(4, static_cast<std::int64_t>(limit));
    return read_all<SubscriptionRow>(s, read_subscription);
}

Expected<std::vector<SubscriptionRow>> SubscriptionStore::downgrades_due(std::int64_t now,
                                                                         int limit) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format(
               "SELECT {} FROM subscriptions s WHERE s.pending_policy_id IS NOT NULL AND "
               "s.status IN ('trialing', 'active', 'past_due') AND s.current_period_start <= ?1 "
               "AND EXISTS (SELECT 1 FROM invoices i WHERE i.license_id = s.license_id AND "
               "i.purpose = 'renewal' AND i.status = 'settled' AND i.period_end = "
               "s.current_period_start) ORDER BY s.current_period_start, s.id LIMIT ?2",
               k_columns)));
    s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
    return read_all<SubscriptionRow>(s, read_subscription);
}

Expected<std::vector<SubscriptionRow>> SubscriptionStore::ended(std::int64_t now, int limit) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM subscriptions WHERE status IN "
                                                   "('trialing', 'active') AND "
                                                   "current_period_end <= ? ORDER BY "
                                                   "current_period_end, id LIMIT ?",
                                                   k_columns)));
    s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
    return read_all<SubscriptionRow>(s, read_subscription);
}

Expected<std::vector<SubscriptionRow>> SubscriptionStore::out_of_grace(std::int64_t now,
                                                                       int limit) {
    // The grace is at most 90 days: the index narrows the scan, the second test decides.
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM subscriptions WHERE status = "
                                                   "'past_due' AND current_period_end <= ?1 AND "
                                                   "current_period_end + grace_days * 86400 <= "
                                                   "?1 ORDER BY current_period_end, id LIMIT ?2",
                                                   k_columns)));
    s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
    return read_all<SubscriptionRow>(s, read_subscription);
}

Expected<void> SubscriptionStore::record_tier_change(const TierChangeRow& t) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("INSERT INTO tier_changes ({}) VALUES (?, ?, ?, "
                                                   "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                                   k_tier_columns)));
    s.bind(1, t.id)
        .bind(2, t.license_id)
        .bind(3, t.from_policy_id)
        .bind(4, t.to_policy_id)
        .bind(5, t.invoice_id)
        .bind(6, t.created_at)
        .bind(7, t.direction)
        .bind(8, t.listed_currency)
        .bind(9, t.proration_charge_value)
        .bind(10, t.effective_at)
        .bind(11, t.actor)
        .bind(12, t.reason)
        .bind(13, t.status);
    return s.run();
}

Expected<std::optional<TierChangeRow>> SubscriptionStore::find_tier_change(const std::string& id) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("SELECT {} FROM tier_changes WHERE id = ?", k_tier_columns)));
    s.bind(1, id);
    return read_first<TierChangeRow>(s, read_tier);
}

Expected<std::optional<TierChangeRow>>
SubscriptionStore::pending_change_of_invoice(const std::string& invoice_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM tier_changes WHERE invoice_id "
                                                   "= ? AND status = 'pending' ORDER BY "
                                                   "created_at, id",
                                                   k_tier_columns)));
    s.bind(1, invoice_id);
    return read_first<TierChangeRow>(s, read_tier);
}

Expected<std::optional<TierChangeRow>>
SubscriptionStore::pending_downgrade(const std::string& license_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM tier_changes WHERE license_id "
                                                   "= ? AND status = 'pending' AND direction = "
                                                   "'downgrade' ORDER BY created_at DESC, id",
                                                   k_tier_columns)));
    s.bind(1, license_id);
    return read_first<TierChangeRow>(s, read_tier);
}

Expected<bool> SubscriptionStore::finish_tier_change(const std::string& id,
                                                     const std::string& status,
                                                     std::int64_t effective_at) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE tier_changes SET status = ?, effective_at = ? "
                                       "WHERE id = ? AND status = 'pending'"));
    s.bind(1, status).bind(2, effective_at).bind(3, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::vector<TierChangeRow>>
SubscriptionStore::tier_changes(const std::string& license_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM tier_changes WHERE license_id = "
                                                   "? ORDER BY created_at, id",
                                                   k_tier_columns)));
    s.bind(1, license_id);
    return read_all<TierChangeRow>(s, read_tier);
}

} // namespace keysat::store
