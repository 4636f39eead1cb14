#pragma once
// Repository of invoices, discount codes and their redemptions.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::store {

struct InvoiceRow {
    std::string id;
    std::optional<std::string> provider_id;
    std::optional<std::string> provider_invoice_id;
    std::string product_id;
    std::optional<std::string> policy_id;
    std::string status = "new"; // new, processing, settled, expired, invalid
    std::int64_t base_amount = 0;
    std::int64_t discount_amount = 0;
    std::int64_t amount = 0;
    std::string currency = "SAT";
    std::optional<std::string> buyer_email;
    std::optional<std::string> buyer_note;
    std::optional<std::string> discount_code_id;
    std::optional<std::string> checkout_url;
    std::optional<std::string> redirect_url;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::int64_t> settled_at;
    std::string purpose = "purchase";       // purchase, renewal, upgrade
    std::optional<std::string> license_id;  // a renewal's or upgrade's license
    std::optional<std::int64_t> period_end; // a renewal: the period end it extends
};

struct DiscountCodeRow {
    std::string id;
    std::string code;
    std::string kind; // percent, fixed_sats, set_price, free_license
    std::int64_t value = 0;
    std::optional<std::int64_t> max_uses;
    std::int64_t uses = 0;
    std::optional<std::int64_t> expires_at;
    std::string product_ids_json = "[]";
    std::string policy_ids_json = "[]";
    bool featured = false;
    bool active = true;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::string description;
    std::optional<std::string> referrer_label;
    std::string currency = "SAT"; // of fixed_sats and set_price amounts
};

struct RedemptionRow {
    std::string id;
    std::string discount_code_id;
    std::string invoice_id;
    std::string status; // reserved, used, released
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

// A redemption as the operator's code view shows it: with its invoice's amounts and the license
// the invoice issued, if any.
struct RedemptionDetail {
    RedemptionRow redemption;
    std::optional<std::string> license_id;
    std::int64_t base_amount = 0;
    std::int64_t discount_amount = 0;
    std::int64_t amount = 0;
};

class CommerceStore {
  public:
    explicit CommerceStore(db::Database& db) : m_db(&db) {}

    Expected<void> create_invoice(const InvoiceRow& i);
    Expected<std::optional<InvoiceRow>> find_invoice(const std::string& id);
    Expected<std::optional<InvoiceRow>>
    find_by_provider_invoice(const std::string& provider_id,
                             const std::string& provider_invoice_id);
    // Records the provider's invoice id and checkout URL after the provider created it, only
    // while the invoice is new and has none (false: closed meanwhile, or another process
    // attached its own first).
    Expected<bool> attach_provider_invoice(const std::string& id, const std::string& provider_id,
                                           const std::string& provider_invoice_id,
                                           const std::string& checkout_url, std::int64_t now);
    // Moves an invoice to `status` only from one of the states that may precede it, so a late
    // or repeated notification cannot move a settled invoice back. True when it moved.
    Expected<bool> transition(const std::string& id, const std::string& status, std::int64_t now);
    // Invoices still new or processing, created at or after `since`, oldest first.
    Expected<std::vector<InvoiceRow>> pending_since(std::int64_t since);
    // A license's renewal and upgrade invoices, newest first.
    Expected<std::vector<InvoiceRow>> invoices_of_license(const std::string& license_id);
    // The newest `limit` invoices (of `status` when set), newest first.
    Expected<std::vector<InvoiceRow>> newest_invoices(const std::optional<std::string>& status,
                                                      int limit);
    // Renewal and upgrade invoices still new, with no provider invoice, last touched before
    // `before` (a worker stopped between recording one and asking the provider), oldest first.
    Expected<std::vector<InvoiceRow>> unattached_before(std::int64_t before, int limit);
    // Takes an invoice for a retry: moves updated_at from `seen` to `now` when nobody did
    // meanwhile; true when this caller took it.
    Expected<bool> claim(const std::string& id, std::int64_t seen, std::int64_t now);

    Expected<void> create_code(const DiscountCodeRow& c);
    Expected<std::optional<DiscountCodeRow>> find_code(const std::string& code);
    Expected<std::optional<DiscountCodeRow>> find_code_by_id(const std::string& id);
    // Replaces the editable fields (value, limits, scope, texts, flags) of code `c.id`.
    Expected<bool> update_code(const DiscountCodeRow& c);
    // Deletes a code that was never redeemed; false when it does not exist or has redemptions.
    Expected<bool> delete_unredeemed_code(const std::string& id);
    // A code's redemptions, oldest first.
    Expected<std::vector<RedemptionRow>> redemptions(const std::string& code_id);
    // The same, oldest first, with amounts and licenses.
    Expected<std::vector<RedemptionDetail>> redemption_details(const std::string& code_id);
    // Ordered by code.
    Expected<std::vector<DiscountCodeRow>> list_codes();
    Expected<bool> set_code_active(const std::string& id, bool active, std::int64_t now);
    // Reserves one use for an invoice atomically: fails (false) when the code is inactive,
    // expired or used up. One redemption per invoice.
    Expected<bool> reserve_use(const std::string& code_id, const std::string& invoice_id,
                               const std::string& redemption_id, std::int64_t now);
    // Settles (`used`) or gives back (`released`) the use reserved for an invoice; a released
    // use is counted back. True when the redemption changed.
    Expected<bool> finish_use(const std::string& invoice_id, bool used, std::int64_t now);

  private:
    db::Database* m_db;
};

} // namespace keysat::store
