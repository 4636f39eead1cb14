#pragma once
// Subscriptions: a recurring policy's license follows its plan. The plan's period end is the
// license's expiry and the plan's grace is the license's grace, so /v1/validate, the machine
// routes and the release gate, which all read the license row, see a renewal, a lapse or a
// cancellation the moment it commits; nothing else has to remember to look at the plan.
//
//   trialing --(period ends unpaid)--> past_due --(grace ends unpaid)--> lapsed
//   active   --(period ends unpaid)--> past_due
//   any open state --(renewal paid)--> active (from the old end; from now when lapsed); a
//   scheduled downgrade takes effect when the renewed period begins
//   trialing/active/past_due --(cancel)--> cancelled (runs to the period's end, no grace)
//   cancelled --(resume, before the end)--> active
//
// Each transition is an audit row and an outbound event (subscription.created,
// subscription.renewal_pending, subscription.renewed, subscription.past_due,
// subscription.lapsed, subscription.cancelled, subscription.resumed, subscription.extended).
// Functions that take no transaction of their own run in the caller's and return the events for
// the caller to emit with its audit row.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "keysat/crypto/signing.hpp"
#include "keysat/db/database.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/commerce_store.hpp"
#include "keysat/store/license_store.hpp"
#include "keysat/store/subscription_store.hpp"
#include "keysat/util/clock.hpp"

namespace keysat::service {

using Events = std::vector<std::pair<std::string, nlohmann::json>>;

// Queues each event (in the caller's transaction).
Expected<void> emit_events(db::Database& db, const Events& events, std::int64_t now);

// A period's price of a policy: its override, else the product's price.
std::int64_t listed_price(const store::ProductRow& product, const store::PolicyRow& policy);

// How a new subscription to `policy` starts at `now`: trialing until the trial's end when the
// policy has trial days (nothing is charged), else active for one period. nullopt: the policy is
// not recurring.
struct PlanStart {
    std::string status;
    std::int64_t period_end = 0;
};
std::optional<PlanStart> plan_start(const store::PolicyRow& policy, std::int64_t now,
                                    bool with_trial = true);

// Records the subscription of a license just issued for a recurring policy (its expiry and grace
// already set from plan_start), in the caller's transaction, and queues subscription.created.
Expected<store::SubscriptionRow>
start_subscription(db::Database& db, const store::LicenseRow& license,
                   const store::ProductRow& product, const store::PolicyRow& policy,
                   const PlanStart& start, const std::optional<std::string>& provider_id,
                   std::int64_t now);

// The outcome of a change to one subscription: the row after it, or `already` (the state that
// made the change moot: nothing changed), and the events it raises.
struct SubscriptionChange {
    store::SubscriptionRow subscription;
    std::optional<std::string> already;
    Events events;
};

// Cancels: the plan runs to its period's end with no grace, no renewal is billed, an open
// renewal invoice and a scheduled downgrade are cancelled. `actor`: buyer or admin. A cancelled
// or lapsed subscription is `already` so.
Checked<SubscriptionChange> cancel_subscription(db::Database& db, const std::string& id,
                                                const std::string& actor,
                                                const std::optional<std::string>& reason,
                                                std::int64_t now);
// Undoes a cancellation before the period's end (conflict after it: the buyer renews instead).
Checked<SubscriptionChange> resume_subscription(db::Database& db, const std::string& id,
                                                std::int64_t now);
// Moves the period's end `days` later (from now when it already ended) and reissues the key; a
// past-due or lapsed plan becomes active.
Checked<SubscriptionChange> extend_subscription(db::Database& db, const crypto::SecretKey& signer,
                                                const std::string& id, std::int64_t days,
                                                std::int64_t now);

// Settles the renewal paid by `invoice` (inside settle_invoice's transaction): the next period
// starts at the old end (paying early loses no day; a lapsed plan restarts now), a scheduled
// downgrade takes effect, the license's expiry follows and its key is reissued. Returns the
// license.
Expected<store::LicenseRow> apply_renewal(db::Database& db, const crypto::SecretKey& signer,
                                          const store::InvoiceRow& invoice, std::int64_t now);

// A renewal invoice the worker or the buyer opened, before or after its checkout exists.
struct RenewalInvoice {
    store::InvoiceRow invoice;
    store::SubscriptionRow subscription;
    Quote quote;
    store::PaymentProviderRow provider;
    bool created = false; // false: it was open already
};

// Opens the renewal invoice of a subscription's current period, in its own transaction: priced
// at the plan's listed value (the scheduled downgrade's price when there is one), billed by the
// plan's provider while it is connected, else by the product's profile's first provider. At most
// one open or settled renewal invoice exists per license and period (a unique index), so two
// workers on one database, or a worker and a buyer, open one between them: the loser gets the
// open one with `created` false. A free renewal settles at once (invoice status settled).
// `horizon` (the worker's): the plan must still be open and end by then, else a conflict. Without
// it (the buyer's), any plan may be renewed, but not more than one period ahead.
Checked<RenewalInvoice> open_renewal(db::Database& db, const crypto::SecretKey& signer,
                                     const std::string& subscription_id, std::int64_t now,
                                     std::optional<std::int64_t> horizon = std::nullopt);

// An automatic charge of a renewal with the payment method the buyer saved (Zaprite's payment
// profiles): true when the provider says the charge is paid, false when it answered without
// taking the money, an error when the call failed. Either way the invoice stays payable through
// its checkout link, and a charge's payment settles it as any other (webhook or reconciler).
using AutoCharge = std::function<Checked<bool>(const RenewalInvoice&, const Checkout&)>;

// What an automatic charge did, for the announcement.
struct ChargeOutcome {
    bool attempted = false;
    bool paid = false;
    std::string error; // the call failed
};

struct Delivered {
    bool attached = false; // false: closed meanwhile, or another process finished it
    bool charged = false;
};

// Finishes a renewal invoice opened without its checkout: checks it is still new and has none,
// asks the provider for the checkout (outside any transaction), attaches it only if nobody else
// did, then (only the process that attached) charges a saved payment method with `auto_charge`
// (may be empty) and queues subscription.auto_charge_initiated when it paid, else
// subscription.renewal_pending with the link (after subscription.auto_charge_failed when the
// call failed), with the audit row and the attempt's time on the plan. An error: the provider
// refused or could not be reached (the caller closes the invoice).
Checked<Delivered> deliver_renewal(db::Database& db, RenewalInvoice& r,
                                   const CreateCheckout& checkout, const AutoCharge& auto_charge,
                                   const Clock& clock);

// A renewal that could not be delivered: the invoice turns invalid and, with `count`, the plan
// counts the failure (the worker backs off 5 minutes, 30 minutes, 2 hours, 6 hours, then stops
// asking after the fifth). A buyer's attempt does not count.
void renewal_failed(db::Database& db, const RenewalInvoice& r, const std::string& why, bool count,
                    std::int64_t now);

struct RenewalReport {
    int opened = 0;     // renewal invoices opened with a checkout
    int retried = 0;    // invoices left without a checkout by a stopped worker, finished
    int failed = 0;     // the provider refused or was unreachable
    int past_due = 0;   // periods that ended unpaid
    int lapsed = 0;     // graces that ended unpaid
    int charged = 0;    // renewals paid by a saved payment method
    int downgraded = 0; // scheduled downgrades whose paid period began
};

// One pass of the renewal worker (each step reads `clock` anew): opens the renewal invoice of
// every plan whose period ends
// within `lead` seconds (at most `batch` per step), asks the provider for its checkout, moves
// plans whose period ended unpaid to past_due and those whose grace ended to lapsed. Every step
// is its own short transaction and checks the row's state again inside it, so passes may
// overlap across processes and a pass stopped anywhere leaves nothing half done (an invoice left
// without its checkout is finished by a later pass).
// `auto_charge` (may be empty) charges plans that keep a saved payment method at their provider.
RenewalReport renewal_pass(db::Database& db, const crypto::SecretKey& signer,
                           const CreateCheckout& checkout, const AutoCharge& auto_charge,
                           const Clock& clock, std::int64_t lead, int batch = 500);

// The invoice's license: the license a purchase issued, or the license a renewal or tier
// change invoice is for.
Expected<std::optional<store::LicenseRow>> license_for_invoice(db::Database& db,
                                                               const store::InvoiceRow& invoice);

// Closes the open renewal invoice of a plan's current period, if any (cancel, tier change).
Expected<void> close_open_renewal(db::Database& db, const store::SubscriptionRow& s,
                                  const std::string& actor, std::int64_t now);

// The event payload naming a subscription.
nlohmann::json subscription_event(const store::SubscriptionRow& s);

} // namespace keysat::service
