#pragma once
// BTCPay Server's Greenfield API, as keysat-serve calls it: create an invoice, read one back,
// and check the signature of an inbound webhook. Every request goes through the outbound client
// (its policy, deadline and reply cap); the API key is never logged nor put in an error.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keysat/http/outbound.hpp"
#include "keysat/payments/provider.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/store/account_store.hpp"

namespace keysat::payments {

class BtcpayClient : public Provider {
  public:
    // `public_url`: where buyers' browsers reach BTCPay when keysat-serve reaches it elsewhere
    // (the checkout link's scheme, host and port are replaced by it); empty: as BTCPay says.
    BtcpayClient(store::PaymentProviderRow provider, const http::OutboundPolicy& policy,
                 std::string public_url = "");

    // POST /api/v1/stores/{storeId}/invoices: the amount in the invoice's currency (SAT as BTC
    // with 8 decimals, USD and EUR as units with 2: BTCPay converts), our invoice id as the
    // order id, and the buyer's redirect.
    service::Checked<service::Checkout> create_invoice(const store::InvoiceRow& invoice,
                                                       const std::string& redirect_url) const;
    // GET /api/v1/stores/{storeId}/invoices/{id}.
    service::Checked<RemoteStatus> invoice_status(const std::string& btcpay_invoice_id) const;

    service::Checked<service::Checkout>
    create_checkout(const store::InvoiceRow& invoice, const std::string& redirect_url,
                    bool /*save_payment_method*/) const override {
        return create_invoice(invoice, redirect_url);
    }
    service::Checked<RemoteStatus> status(const std::string& remote_id) const override {
        return invoice_status(remote_id);
    }

    // The connect round trip and its undoing.
    struct Store {
        std::string id;
        std::string name;
    };
    // GET /api/v1/stores: the stores the API key may act on.
    service::Checked<std::vector<Store>> list_stores() const;
    // POST /api/v1/stores/{storeId}/webhooks: our webhook URL with its secret, for the invoice
    // events we act on (settled, payment settled, expired, invalid); the new webhook's id.
    service::Checked<std::string> create_webhook(const std::string& url,
                                                 const std::string& secret) const;
    // DELETE /api/v1/stores/{storeId}/webhooks/{id}; a webhook already gone counts as deleted.
    service::Checked<void> delete_webhook(const std::string& webhook_id) const;
    // DELETE /api/v1/api-keys/current: revokes the key itself; one already gone counts.
    service::Checked<void> revoke_key() const;

  private:
    // A route under /api/v1 (`path`) with the API key; the answer's status and body, or an
    // upstream error. `what` names the call in errors; a 404 is an answer when `allow_404`.
    service::Checked<Answer> request(const std::string& method, const std::string& path,
                                     const std::string& body, const char* what,
                                     bool allow_404) const;
    // A store's route (`path` after /api/v1/stores/{storeId}) with the API key; the answer must
    // be a JSON object. `what` names the call in errors.
    service::Checked<nlohmann::json> call(const std::string& method, const std::string& path,
                                          const std::string& body, const char* what) const;
    store::PaymentProviderRow m_provider;
    const http::OutboundPolicy& m_policy;
    std::string m_public_url;
};

// The amount BTCPay is asked for: "0.00012345" for 12345 sats, "12.34" for 1234 cents.
std::string btcpay_amount(std::int64_t amount, const std::string& currency);

// Whether `signature` (the BTCPay-Sig header: "sha256=" and the lower-case hex HMAC-SHA256 of the
// raw body under the webhook secret) signs `body`; compared in constant time.
bool btcpay_signature_ok(const std::string& secret, const std::string& body,
                         const std::string& signature);

// The permissions keysat-serve asks BTCPay for: invoices (view, create, modify), webhooks, and
// the store's settings (to list stores).
extern const std::vector<std::string> k_btcpay_permissions;

// Where the operator's browser goes to authorize keysat-serve on BTCPay (`browser_base`), and
// comes back to (`callback_url`, which carries the state: BTCPay drops other parameters).
std::string btcpay_authorize_url(const std::string& browser_base, const std::string& callback_url);

// Replaces the scheme, host and port of `url` with those of `base` (keeping path and query).
std::string rebase_url(const std::string& url, const std::string& base);

} // namespace keysat::payments
