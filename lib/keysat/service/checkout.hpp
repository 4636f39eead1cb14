#pragma once
// Buying: pricing a purchase, reserving a code's use with the invoice, settling an invoice with
// exactly one license, and closing one that expired or turned invalid. One function each, called
// alike by the purchase and redeem routes, the provider webhooks, the reconciler and the tests.
// Each runs in its own transaction (a savepoint inside the caller's).

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "keysat/crypto/signing.hpp"
#include "keysat/db/database.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/commerce_store.hpp"
#include "keysat/store/license_store.hpp"

namespace keysat::service {

// Why a purchase is refused: the error word of the HTTP answer (not_found, bad_request,
// internal_error) and the whole message ("bad request: unknown discount code").
struct Refused {
    std::string code;
    std::string message;
};
template <typename T> using Checked = std::expected<T, Refused>;

// A refusal with its error word and whole message, and the internal error ("internal error:
// <what>") that the routes log instead of showing.
inline std::unexpected<Refused> refuse(std::string code, std::string message) {
    return std::unexpected(Refused{std::move(code), std::move(message)});
}
inline std::unexpected<Refused> internal(const std::string& what) {
    return refuse("internal_error", "internal error: " + what);
}

struct PurchaseInput {
    std::string product_slug;
    std::optional<std::string> policy_slug;
    std::optional<std::string> code; // typed by the buyer; the featured code applies otherwise
    std::optional<std::string> buyer_email;
    std::optional<std::string> buyer_note;
    std::optional<std::string> redirect_url;
    std::string rail;          // lightning, onchain, card; empty: the profile's first provider
    bool bare_product = false; // price the product without a tier even when it has tiers (preview)
};

// What a purchase costs, in the product's currency (sats for SAT products).
struct Quote {
    store::ProductRow product;
    std::optional<store::PolicyRow> policy;
    std::optional<store::DiscountCodeRow> code; // the typed or featured code that applies
    std::int64_t base = 0;                      // the policy's override, else the product's
    std::int64_t discount = 0;
    std::int64_t price = 0; // base - discount; 0 issues at once, with no provider invoice
    // A recurring tier with a free trial: the purchase costs nothing now (price 0, no code) and
    // its plan starts trialing; `base` is what the first renewal bills.
    std::int64_t trial_days = 0;
};

// Why a code does not apply, as the preview route words it (unknown_code, disabled, expired,
// wrong_product, wrong_tier, exhausted) with the purchase route's message.
struct CodeProblem {
    std::string reason;
    std::string message;
};
std::optional<CodeProblem> code_problem(const store::DiscountCodeRow& code,
                                        const store::ProductRow& product,
                                        const store::PolicyRow* policy, std::int64_t now);

// The code a buyer typed (any case, surrounding space ignored), when it applies to `policy` of
// `product` now; refused (bad_request) with the reason otherwise.
Checked<store::DiscountCodeRow> typed_code(db::Database& db, const std::string& text,
                                           const store::ProductRow& product,
                                           const store::PolicyRow* policy, std::int64_t now);

// Prices a purchase without changing anything (the preview, and the first step of a purchase).
// A product or policy that cannot be sold, or a typed code that does not apply, is refused.
Checked<Quote> quote(db::Database& db, const PurchaseInput& in, std::int64_t now);

// Creates the provider's checkout for a priced invoice (the provider is chosen by the caller);
// returns the provider's id, its invoice id and the checkout URL, or an error message.
struct Checkout {
    std::string provider_id;
    std::string provider_invoice_id;
    std::string checkout_url;
};
// `provider`: the one that takes the purchase (service/providers.hpp's provider_for).
using CreateCheckout =
    std::function<Checked<Checkout>(const store::InvoiceRow& invoice, const Quote& quote,
                                    const store::PaymentProviderRow& provider)>;

struct Purchase {
    store::InvoiceRow invoice;
    Quote quote;
    std::optional<store::LicenseRow> license; // issued at once when the price is 0
    std::optional<std::string> redemption_id;
};

// Starts a purchase: prices it, picks the provider of a paid one (the product's merchant
// profile and the buyer's rail: a refusal keeps nothing), records the invoice and reserves the
// code's use in one transaction. A price of 0 settles it and issues the license in that same
// transaction. Otherwise `create_checkout` asks the provider (outside any transaction: a network
// call) and the invoice records the checkout; when it fails, the invoice turns invalid and the
// code's use is released. No `create_checkout` (no provider connected): a paid purchase is refused
// and nothing is kept.
Checked<Purchase> start_purchase(db::Database& db, const crypto::SecretKey* signer,
                                 const PurchaseInput& in, const CreateCheckout& create_checkout,
                                 std::int64_t now);

struct Settlement {
    store::LicenseRow license;
    bool issued_now = false; // false: the invoice was settled before and kept its license
};

// Settles an invoice and issues its one license, with its audit row (by `actor`, e.g.
// "provider:<id>" or "reconciler") and its invoice.settled, license.issued and code.redeemed
// events, all in one transaction. Settling again, from any number of threads or processes,
// returns the license issued the first time. An expired or invalid invoice is not settled.
Checked<Settlement> settle_invoice(db::Database& db, const crypto::SecretKey& signer,
                                   const std::string& invoice_id, const std::string& actor,
                                   std::int64_t now);

// Marks a new or processing invoice expired or invalid and releases its code's use; true when
// it changed (false: it was settled or closed before).
Checked<bool> close_invoice(db::Database& db, const std::string& invoice_id,
                            const std::string& status, const std::string& actor, std::int64_t now);

// Appends an audit row by the system (`actor`: buyer, reconciler, renewal-worker,
// provider:<id>), in the caller's transaction.
Expected<void> audit_row(db::Database& db, const std::string& actor, const std::string& action,
                         const std::string& target, const nlohmann::json& details,
                         std::int64_t now);

// An invoice's state at its payment provider.
enum class ProviderStatus { pending, settled, expired, invalid };

struct ReconcileReport {
    int checked = 0;
    int settled = 0;
    int closed = 0;
    int unreachable = 0; // the provider did not answer; asked again next time
};

// Asks the provider about every invoice still pending that is younger than `max_age` seconds
// and has a provider invoice, and settles or closes it as the provider says (a lost webhook
// still settles). `status_of` asks the invoice's provider.
ReconcileReport
reconcile(db::Database& db, const crypto::SecretKey& signer,
          const std::function<Checked<ProviderStatus>(const store::InvoiceRow&)>& status_of,
          std::int64_t now, std::int64_t max_age = 72 * 3600);

// A buyer's lost key, from the invoice id and the e-mail address given at purchase (compared
// without regard to case): the invoice's license when the invoice settled, the address matches
// and the license is active; nullopt for every other case alike. Writes a license.recovered
// audit row when it answers.
Expected<std::optional<store::LicenseRow>> recover_license(db::Database& db,
                                                           const std::string& invoice_id,
                                                           const std::string& email,
                                                           std::int64_t now);

// The license an invoice issued, if any.
Expected<std::optional<store::LicenseRow>> license_of_invoice(db::Database& db,
                                                              const std::string& invoice_id);

} // namespace keysat::service
