#pragma once
// Moving a license between tiers of its product (Basic, Pro, Max) without losing its id, its
// machines or its history.
//
// Direction: by tier_rank, then by price when the ranks tie; a move to the same rank and price
// is sideways and refused. What it costs now (`proration_charge_value`, in the product's
// currency's smallest unit):
//   - an open plan (active or past due) moving to another recurring tier: the rest of the
//     current period at the new rate minus the same at the old rate,
//         d      = ceil(seconds left in the period / 86400)
//         charge = floor(d × (P_to × D_from − P_from × D_to) / (D_from × D_to)), at least 0
//     where P_from is what the plan pays per D_from-day period and P_to the target's price per
//     D_to-day period (equal periods: floor(d × (P_to − P_from) / D)). A started day counts
//     whole; the amount rounds down. The new tier applies at once when paid; the next renewal
//     bills P_to for D_to days.
//   - a trialing plan moving to a recurring tier: nothing; the change applies at once and the
//     first renewal bills it.
//   - no open plan (a perpetual or fixed-term license, or a plan that ended) moving to a
//     recurring tier: the target's full price, and a new plan starts when it is paid.
//   - moving to a non-recurring tier: the target's list price minus what the current period is
//     worth (the plan's price while its period is paid; nothing for a trial, an unpaid or ended
//     period; the current tier's list price for a license without a plan), at least 0; an open
//     plan ends (cancelled, reason tier_change) and the license takes the target's term.
// Hidden (non-public) tiers are the admin's to move licenses to. An upgrade invoice records the
// plan period it was priced for; paid after the license changed tier or the plan's period moved
// (renewed, cancelled, lapsed), the change is voided (license.tier_change_voided) instead of
// applied, for the operator to refund.
// A discount code applies to the charge as it would to a purchase of the target tier. A charge
// of 0 applies at once. A buyer's downgrade of an open plan is scheduled for the next renewal
// (the renewal bills the lower price; the tier changes when that paid period begins); others are
// the admin's. Applying rewrites the license's policy, entitlements, machines and trial flag,
// reissues its key and raises license.tier_changed.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "keysat/crypto/signing.hpp"
#include "keysat/db/database.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/store/subscription_store.hpp"

namespace keysat::service {

// The formula above for an open plan: `seconds_left` of a `d_from`-day period paid `p_from`,
// moving to `p_to` per `d_to` days. Exact for any int64 prices (128-bit intermediate).
std::int64_t prorated_charge(std::int64_t p_from, std::int64_t d_from, std::int64_t p_to,
                             std::int64_t d_to, std::int64_t seconds_left);

struct TierQuote {
    store::LicenseRow license;
    store::ProductRow product;
    store::PolicyRow from;
    store::PolicyRow to;
    std::optional<store::SubscriptionRow> plan; // the license's plan, open or not
    std::string direction;                      // upgrade, downgrade
    std::int64_t days_charged = 0;              // d above (open plans)
    std::int64_t full_charge = 0;               // before the code
    std::optional<store::DiscountCodeRow> code;
    std::int64_t discount = 0;
    std::int64_t charge = 0;
    std::optional<std::int64_t> effective_at; // a scheduled downgrade: the period's end
    std::optional<std::int64_t> next_renewal_charge;
    std::optional<std::int64_t> next_renewal_period_days;
};

// Prices moving `license_id` to its product's tier `target_slug` at `now`, changing nothing.
// `admin`: the ladder rules (sideways moves, buyers' downgrades) do not apply and a downgrade is
// not scheduled. Refused: not_found (license, tier), bad_request (no tier, same tier, another
// product, inactive or archived target, sideways, a buyer's downgrade that cannot be scheduled,
// a code that does not apply), forbidden (the license is not active).
Checked<TierQuote> quote_tier_change(db::Database& db, const std::string& license_id,
                                     const std::string& target_slug,
                                     const std::optional<std::string>& code, std::int64_t now,
                                     bool admin = false);

struct TierChangeResult {
    TierQuote quote;
    store::TierChangeRow change;
    std::optional<store::InvoiceRow> invoice; // waiting for payment
    std::optional<store::LicenseRow> license; // applied now: the license with its new key
};

// Starts a change: a scheduled downgrade is recorded; a change with a charge records an upgrade
// invoice (with the code's use reserved) and its pending change, then asks the provider for the
// checkout outside the transaction; a change with no charge (or `skip_payment`, the admin's) is
// applied at once. `actor`: buyer or admin.
// `audit(action, target, details)` writes the change's audit row inside its transaction, as the
// caller's actor.
using AuditWriter = std::function<Expected<void>(
    const std::string& action, const std::string& target, const nlohmann::json& details)>;
struct TierChangeRequest {
    std::string license_id;
    std::string target_slug;
    std::optional<std::string> code;
    std::string actor = "buyer"; // buyer, admin
    bool skip_payment = false;   // the admin's: apply at once, for nothing
    std::optional<std::string> reason;
    std::string rail;                        // empty: the plan's provider, else the profile's first
    std::optional<std::string> redirect_url; // where the buyer goes after paying
};
Checked<TierChangeResult> start_tier_change(db::Database& db, const crypto::SecretKey& signer,
                                            const TierChangeRequest& request,
                                            const AuditWriter& audit,
                                            const CreateCheckout& checkout, std::int64_t now);

// Applies the change an upgrade invoice paid for (inside settle_invoice's transaction) and
// returns the license. A change whose license moved meanwhile is applied to where it is now.
Expected<store::LicenseRow> apply_paid_tier_change(db::Database& db,
                                                   const crypto::SecretKey& signer,
                                                   const store::InvoiceRow& invoice,
                                                   std::int64_t now);

} // namespace keysat::service
