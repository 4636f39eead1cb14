#include "keysat/payments/zaprite.hpp"

#include <cctype>
#include <cstdio>

#include <fmt/format.h>

#include "keysat/http/client.hpp"
#include "keysat/payments/btcpay.hpp"
#include "keysat/util/json_depth.hpp"

namespace keysat::payments {

using nlohmann::json;

namespace {

std::unexpected<service::Refused> upstream(const std::string& what) {
    return std::unexpected(upstream_error("Zaprite", what));
}

} // namespace

ZapriteClient::ZapriteClient(store::PaymentProviderRow provider, const http::OutboundPolicy& policy)
    : m_provider(std::move(provider)), m_policy(policy) {}

service::Checked<json> ZapriteClient::call(const std::string& method, const std::string& path,
                                           const std::string& body, const char* what) const {
    KEYSAT_TRY_ASSIGN(r, exchange("Zaprite", m_policy, method,
                                  trimmed_base(m_provider.base_url.empty() ? k_zaprite_default_url
                                                                           : m_provider.base_url) +
                                      path,
                                  body, "Bearer " + m_provider.api_key.value_or(""), what));
    json answer = answer_json(r.body);
    if (!answer.is_object() && !answer.is_array())
        return upstream(fmt::format("{}: the answer is not JSON", what));
    return answer;
}

service::Checked<service::Checkout> ZapriteClient::create_order(const store::InvoiceRow& invoice,
                                                                const std::string& redirect_url,
                                                                bool save_payment_profile) const {
    json body = {{"amount", invoice.amount},
                 {"currency", invoice.currency == "SAT" ? "BTC" : invoice.currency},
                 {"externalUniqId", invoice.id},
                 {"redirectUrl", redirect_url},
                 {"label", "Keysat order " + invoice.id},
                 {"metadata", {{"productId", invoice.product_id}, {"orderId", invoice.id}}}};
    if (invoice.buyer_email)
        body["customerData"] = {{"email", *invoice.buyer_email}};
    if (save_payment_profile && invoice.buyer_email) {
        KEYSAT_TRY_ASSIGN(
            contact,
            call("POST", "/v1/contacts",
                 json{{"email", *invoice.buyer_email}, {"legalName", *invoice.buyer_email}}.dump(),
                 "create-contact"));
        if (!contact.is_object() || !contact.contains("id") || !contact["id"].is_string() ||
            !is_provider_id(contact["id"].get<std::string>(), 128))
            return upstream("create-contact: the answer has no id");
        body["contactId"] = contact["id"];
        body["allowSavePaymentProfile"] = true;
    }
    KEYSAT_TRY_ASSIGN(answer, call("POST", "/v1/orders", body.dump(), "create-order"));
    if (!answer.is_object() || !answer.contains("id") || !answer["id"].is_string() ||
        !answer.contains("checkoutUrl") || !answer["checkoutUrl"].is_string())
        return upstream("create-order: the answer has no id and checkoutUrl");
    return service::Checkout{m_provider.id, answer["id"].get<std::string>(),
                             answer["checkoutUrl"].get<std::string>()};
}

service::Checked<RemoteStatus> ZapriteClient::order_status(const std::string& id) const {
    if (!is_provider_id(id, 128))
        return upstream("get-order: '" + id.substr(0, 64) + "' is not an order id");
    KEYSAT_TRY_ASSIGN(answer, call("GET", "/v1/orders/" + id, "", "get-order"));
    if (!answer.is_object() || !answer.contains("status") || !answer["status"].is_string())
        return upstream("get-order: the answer has no status");
    std::string status = answer["status"];
    if (status == "PAID" || status == "OVERPAID" || status == "COMPLETE")
        return RemoteStatus::settled;
    if (status == "PENDING" || status == "PROCESSING" || status == "UNDERPAID")
        return RemoteStatus::pending;
    if (status == "EXPIRED")
        return RemoteStatus::expired;
    if (status == "CANCELED" || status == "CANCELLED" || status == "INVALID")
        return RemoteStatus::invalid;
    // A status we do not know (a new one, a refund state) changes nothing: closing the invoice
    // would refuse a payment that completes later.
    std::string shown = status.substr(0, 40);
    for (auto& c : shown)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
            c = '?'; // nothing of Zaprite's may forge a log line
    std::fprintf(stderr, "keysat-serve: zaprite: order %s has status '%s', left pending\n",
                 id.c_str(), shown.c_str());
    return RemoteStatus::pending;
}

service::Checked<std::optional<std::string>>
ZapriteClient::saved_profile(const std::string& order_id, const std::string& invoice_id) const {
    using Found = std::optional<std::string>;
    if (!is_provider_id(order_id, 128))
        return upstream("get-order: '" + order_id.substr(0, 64) + "' is not an order id");
    KEYSAT_TRY_ASSIGN(order, call("GET", "/v1/orders/" + order_id, "", "get-order"));
    std::string contact;
    if (order.is_object()) {
        if (auto c = order.find("contact");
            c != order.end() && c->is_object() && c->contains("id") && (*c)["id"].is_string())
            contact = (*c)["id"];
        else if (auto id = order.find("contactId"); id != order.end() && id->is_string())
            contact = *id;
    }
    if (contact.empty() || !is_provider_id(contact, 128))
        return Found();
    KEYSAT_TRY_ASSIGN(answer, call("GET", "/v1/contacts/" + contact, "", "get-contact"));
    if (!answer.is_object() || !answer.contains("paymentProfiles") ||
        !answer["paymentProfiles"].is_array())
        return Found();
    for (const auto& profile : answer["paymentProfiles"]) {
        if (!profile.is_object() || !profile.contains("id") || !profile["id"].is_string())
            continue;
        auto source = profile.find("sourceOrder");
        if (source != profile.end() && source->is_object() &&
            source->value("externalUniqId", json()) == json(invoice_id) &&
            is_provider_id(profile["id"].get<std::string>(), 128))
            return Found(profile["id"].get<std::string>());
    }
    return Found();
}

service::Checked<bool> ZapriteClient::charge(const std::string& order_id,
                                             const std::string& payment_profile_id) const {
    KEYSAT_TRY_ASSIGN(
        answer, call("POST", "/v1/orders/charge",
                     json{{"orderId", order_id}, {"paymentProfileId", payment_profile_id}}.dump(),
                     "charge"));
    if (!answer.is_object() || !answer.contains("status") || !answer["status"].is_string())
        return false;
    std::string status = answer["status"];
    return status == "PAID" || status == "COMPLETE" || status == "OVERPAID";
}

service::Checked<void> ZapriteClient::check_key() const {
    KEYSAT_TRY(call("GET", "/v1/orders?limit=1", "", "key check"));
    return {};
}

std::optional<ZapriteEvent> read_zaprite_event(const json& body) {
    if (!body.is_object())
        return std::nullopt;
    ZapriteEvent out;
    for (const char* k : {"event", "eventType", "type", "name"})
        if (auto it = body.find(k); it != body.end() && it->is_string() && !it->empty()) {
            out.event = it->get<std::string>();
            break;
        }
    // A non-empty string at the end of `path` through objects only; nothing throws.
    auto string_at = [&](std::initializer_list<const char*> path) -> std::optional<std::string> {
        const json* at = &body;
        for (const char* k : path) {
            if (!at->is_object())
                return std::nullopt;
            auto it = at->find(k);
            if (it == at->end())
                return std::nullopt;
            at = &*it;
        }
        if (!at->is_string() || at->get<std::string>().empty())
            return std::nullopt;
        return at->get<std::string>();
    };
    for (auto path :
         {std::initializer_list<const char*>{"data", "id"},
          std::initializer_list<const char*>{"data", "object", "id"},
          std::initializer_list<const char*>{"orderId"}, std::initializer_list<const char*>{"id"}})
        if (auto id = string_at(path)) {
            out.order_id = *id;
            return out;
        }
    return std::nullopt;
}

} // namespace keysat::payments
