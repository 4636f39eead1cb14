#pragma once
// Zaprite's API (cards, Lightning, on-chain), as keysat-serve calls it: create an order, read it
// back, check an API key. Bearer authentication; every request goes through the outbound client
// (its policy, deadline and reply cap); the key is never logged nor put in an error. Zaprite does
// not sign webhooks: ours carry a random secret in their path, and the order is always read back
// before anything changes.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "keysat/payments/provider.hpp"

namespace keysat::payments {

inline constexpr const char* k_zaprite_default_url = "https://api.zaprite.com";

class ZapriteClient : public Provider {
  public:
    ZapriteClient(store::PaymentProviderRow provider, const http::OutboundPolicy& policy);

    // POST /v1/orders: the amount in the smallest unit (sats for SAT, as currency BTC; cents for
    // USD and EUR), our invoice id as externalUniqId, the buyer's e-mail when given. With
    // `save_payment_profile` and an e-mail, a contact is made first (POST /v1/contacts) and the
    // order lets the buyer save the card for automatic renewals (allowSavePaymentProfile, which
    // Zaprite accepts only with a contactId).
    service::Checked<service::Checkout> create_order(const store::InvoiceRow& invoice,
                                                     const std::string& redirect_url,
                                                     bool save_payment_profile = false) const;
    // The payment profile the buyer saved when paying `order_id` (our `invoice_id`): the order's
    // contact (GET /v1/orders/{id}), then among that contact's paymentProfiles (GET
    // /v1/contacts/{id}) the one whose sourceOrder.externalUniqId is our invoice. nullopt when
    // the buyer saved none (paid in bitcoin, declined, or Zaprite has not recorded it yet).
    service::Checked<std::optional<std::string>> saved_profile(const std::string& order_id,
                                                               const std::string& invoice_id) const;
    // POST /v1/orders/charge {orderId, paymentProfileId}: true only when the answer's status is
    // PAID, COMPLETE or OVERPAID. A 2xx answer with any other status, or none, is not a payment
    // (false): Keysat once took every 2xx for one, and plans lapsed with nobody told.
    service::Checked<bool> charge(const std::string& order_id,
                                  const std::string& payment_profile_id) const;
    // GET /v1/orders/{id}: PAID, OVERPAID and COMPLETE are settled; EXPIRED expired; CANCELED
    // and INVALID invalid; PENDING, PROCESSING, UNDERPAID and anything unknown pending (Keysat
    // closed unknown ones, which lost a later payment).
    service::Checked<RemoteStatus> order_status(const std::string& order_id) const;
    // GET /v1/orders?limit=1: whether the key works.
    service::Checked<void> check_key() const;

    service::Checked<service::Checkout> create_checkout(const store::InvoiceRow& invoice,
                                                        const std::string& redirect_url,
                                                        bool save_payment_method) const override {
        return create_order(invoice, redirect_url, save_payment_method);
    }
    service::Checked<RemoteStatus> status(const std::string& remote_id) const override {
        return order_status(remote_id);
    }

  private:
    service::Checked<nlohmann::json> call(const std::string& method, const std::string& path,
                                          const std::string& body, const char* what) const;
    store::PaymentProviderRow m_provider;
    const http::OutboundPolicy& m_policy;
};

// What a Zaprite webhook names, read leniently (its payloads vary): the event, from the first
// string among event, eventType, type and name; the order id, from data.id, data.object.id,
// orderId or id. nullopt when no order id is found.
struct ZapriteEvent {
    std::string event;
    std::string order_id;
};
std::optional<ZapriteEvent> read_zaprite_event(const nlohmann::json& body);

} // namespace keysat::payments
