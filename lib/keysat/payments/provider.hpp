#pragma once
// The payment provider interface: create a checkout for an invoice and read an invoice's state
// back, whatever the provider. make_provider builds the right one from its database row; the
// purchase route, the webhooks and the reconciler use nothing else. Verifying an inbound
// notification (BTCPay's signature, Zaprite's path secret) and connecting stay with each
// provider's routes, since their shapes differ.

#include <memory>
#include <string>

#include "keysat/http/outbound.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/store/account_store.hpp"

namespace keysat::payments {

using RemoteStatus = service::ProviderStatus;

class Provider {
  public:
    virtual ~Provider() = default;
    // The provider's checkout for `invoice`; the buyer comes back to `redirect_url`.
    virtual service::Checked<service::Checkout>
    create_checkout(const store::InvoiceRow& invoice, const std::string& redirect_url) const = 0;
    // The state of the provider's invoice (or order) `remote_id`.
    virtual service::Checked<RemoteStatus> status(const std::string& remote_id) const = 0;
};

// A provider for `row` (kind btcpay or zaprite); nullptr for another kind. `btcpay_public_url`:
// where buyers' browsers reach BTCPay, when it differs.
std::unique_ptr<Provider> make_provider(const store::PaymentProviderRow& row,
                                        const http::OutboundPolicy& policy,
                                        const std::string& btcpay_public_url);

} // namespace keysat::payments
