#pragma once
// The payment provider interface: create a checkout for an invoice and read an invoice's state
// back, whatever the provider. make_provider builds the right one from its database row; the
// purchase route, the webhooks and the reconciler use nothing else. Verifying an inbound
// notification (BTCPay's signature, Zaprite's path secret) and connecting stay with each
// provider's routes, since their shapes differ.

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "keysat/http/outbound.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/store/account_store.hpp"

namespace keysat::payments {

using RemoteStatus = service::ProviderStatus;

class Provider {
  public:
    virtual ~Provider() = default;
    // The provider's checkout for `invoice`; the buyer comes back to `redirect_url`.
    // `save_payment_method`: the first payment of a subscription, which the provider may offer
    // to keep for automatic renewals (Zaprite's saved payment profiles; BTCPay ignores it).
    virtual service::Checked<service::Checkout> create_checkout(const store::InvoiceRow& invoice,
                                                                const std::string& redirect_url,
                                                                bool save_payment_method) const = 0;
    // The state of the provider's invoice (or order) `remote_id`.
    virtual service::Checked<RemoteStatus> status(const std::string& remote_id) const = 0;
};

// Whether `id` (an id a provider gave us, or a buyer or webhook names) can go into an API path:
// 1 to `max` letters, digits, '-' and '_'.
bool is_provider_id(std::string_view id, std::size_t max = 64);

// The providers' clients share one exchange: the outbound client with its policy, a 15 s
// deadline and a 1 MiB reply cap, the credential in `authorization`, and errors worded
// "upstream error: <provider> <what>: ..." without the credential.
service::Refused upstream_error(std::string_view provider, const std::string& what);
struct Answer {
    int status = 0;
    std::string body;
};
// A 2xx answer (or a 404 when `allow_404`), else an upstream error.
service::Checked<Answer> exchange(std::string_view provider, const http::OutboundPolicy& policy,
                                  const std::string& method, const std::string& url,
                                  const std::string& body, const std::string& authorization,
                                  const char* what, bool allow_404 = false);
// An answer's JSON, depth-checked first; discarded when deeper than k_max_json_depth or
// malformed.
nlohmann::json answer_json(const std::string& body);
// `base` without trailing slashes.
std::string trimmed_base(std::string base);

// A provider for `row` (kind btcpay or zaprite); nullptr for another kind. `btcpay_public_url`:
// where buyers' browsers reach BTCPay, when it differs.
std::unique_ptr<Provider> make_provider(const store::PaymentProviderRow& row,
                                        const http::OutboundPolicy& policy,
                                        const std::string& btcpay_public_url);

} // namespace keysat::payments
