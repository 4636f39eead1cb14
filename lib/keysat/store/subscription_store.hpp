#pragma once
// Repository of subscriptions and tier changes: the buyers' recurring plans, what the renewal
// worker finds due, and the moves between tiers.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::store {

struct SubscriptionRow {
    std::string id;
    std::string license_id;
    std::string policy_id;
    std::string product_id;
    std::string status = "active"; // trialing, active, past_due, lapsed, cancelled
    std::int64_t period_days = 30;
    std::string listed_currency = "SAT";
    std::int64_t listed_value = 0; // a period's price, in the currency's smallest unit
    std::int64_t grace_days = 7;
    std::int64_t started_at = 0;
    std::int64_t current_period_start = 0;
    std::int64_t current_period_end = 0; // the license's expiry while it follows the plan
    std::optional<std::string> provider_id;
    std::optional<std::string> pending_policy_id; // a downgrade waiting for the next renewal
    std::optional<std::int64_t> cancelled_at;
    std::optional<std::string> cancellation_reason;
    std::optional<std::int64_t> lapsed_at;
    std::int64_t consecutive_failures = 0;
    std::optional<std::int64_t> last_renewal_attempt_at;
    std::optional<std::string> zaprite_payment_profile_id;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    // Not stored: the length of the period a renewal starts when it differs from period_days
    // (a downgrade that waits for that period to begin).
    std::optional<std::int64_t> period_days_next;
};

struct TierChangeRow {
    std::string id;
    std::string license_id;
    std::optional<std::string> from_policy_id;
    std::string to_policy_id;
    std::optional<std::string> invoice_id;
    std::int64_t created_at = 0;
    std::string direction = "upgrade"; // upgrade, downgrade
    std::string listed_currency = "SAT";
    std::int64_t proration_charge_value = 0;
    std::optional<std::int64_t> effective_at;
    std::string actor = "admin"; // buyer, admin, system
    std::optional<std::string> reason;
    std::string status = "applied"; // pending, applied, cancelled
};

// The renewal worker stops asking a provider after this many failures in a row.
inline constexpr std::int64_t k_max_renewal_failures = 5;

class SubscriptionStore {
  public:
    explicit SubscriptionStore(db::Database& db) : m_db(&db) {}

    Expected<void> create(const SubscriptionRow& s);
    Expected<std::optional<SubscriptionRow>> find(const std::string& id);
    Expected<std::optional<SubscriptionRow>> find_by_license(const std::string& license_id);
    // Writes every field but id, license_id, started_at and created_at, when the row's status
    // is still `expected_status` (a compare-and-swap: of two writers that read the same row,
    // one wins); true when it wrote.
    Expected<bool> save(const SubscriptionRow& s, const std::string& expected_status);
    // Column updates that touch nothing else (no stale row is written back): a failed renewal
    // attempt (failures + 1), an announced one (the time, which backs off reopening an invoice
    // that expired unpaid to once a day), and the saved payment profile when none is kept.
    Expected<void> record_failure(const std::string& id, std::int64_t now);
    Expected<void> record_attempt(const std::string& id, std::int64_t now);
    Expected<bool> keep_payment_profile(const std::string& id, const std::string& profile,
                                        std::int64_t now);
    // Plans still running (trialing, active, past due) of products sold under merchant profile
    // `profile_id` (`is_default`: and of products that name no profile).
    Expected<std::int64_t> running_for_profile(const std::string& profile_id, bool is_default);
    // Newest start first; `status` and `product_id` filter when set.
    Expected<std::vector<SubscriptionRow>> list(const std::optional<std::string>& status,
                                                const std::optional<std::string>& product_id,
                                                int limit);
    // Subscriptions a renewal invoice is due for: trialing, active or past due, the period
    // ending at or before `horizon`, no open or settled renewal invoice for that period, fewer
    // than k_max_renewal_failures failures and past the back-off of the last attempt (a day
    // after an announced invoice that expired unpaid; 5 minutes, 30 minutes, 2 hours, 6 hours
    // after failures). Soonest end first.
    Expected<std::vector<SubscriptionRow>> due_for_invoice(std::int64_t horizon, std::int64_t now,
                                                           int limit);
    // Open plans with a scheduled downgrade whose renewed period began at or before `now` (a
    // settled renewal invoice extended the period that now runs).
    Expected<std::vector<SubscriptionRow>> downgrades_due(std::int64_t now, int limit);
    // Trialing or active subscriptions whose period ended at or before `now`.
    Expected<std::vector<SubscriptionRow>> ended(std::int64_t now, int limit);
    // Past-due subscriptions whose grace ended at or before `now`.
    Expected<std::vector<SubscriptionRow>> out_of_grace(std::int64_t now, int limit);

    Expected<void> record_tier_change(const TierChangeRow& t);
    Expected<std::optional<TierChangeRow>> find_tier_change(const std::string& id);
    // The pending change an upgrade invoice pays for.
    Expected<std::optional<TierChangeRow>> pending_change_of_invoice(const std::string& invoice_id);
    // A license's pending downgrade, if any.
    Expected<std::optional<TierChangeRow>> pending_downgrade(const std::string& license_id);
    // Moves a change from pending to `status` (applied, cancelled); true when it moved.
    Expected<bool> finish_tier_change(const std::string& id, const std::string& status,
                                      std::int64_t effective_at);
    // A license's tier changes, oldest first.
    Expected<std::vector<TierChangeRow>> tier_changes(const std::string& license_id);

  private:
    db::Database* m_db;
};

} // namespace keysat::store
