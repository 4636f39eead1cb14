#include "keysat/payments/btcpay.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/secure.hpp"
#include "keysat/http/client.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/json_depth.hpp"

namespace keysat::payments {

using nlohmann::json;

namespace {

std::unexpected<service::Refused> upstream(const std::string& what) {
    return std::unexpected(upstream_error("BTCPay", what));
}

} // namespace

std::string btcpay_amount(std::int64_t amount, const std::string& currency) {
    if (currency == "SAT")
        return fmt::format("{}.{:08}", amount / 100000000, amount % 100000000);
    return fmt::format("{}.{:02}", amount / 100, amount % 100);
}

bool btcpay_signature_ok(const std::string& secret, const std::string& body,
                         const std::string& signature) {
    if (!signature.starts_with("sha256="))
        return false;
    std::string hex = signature.substr(7);
    for (auto& c : hex)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto given = hex_decode(hex);
    if (!given || given->size() != 32)
        return false;
    auto expected = crypto::hmac_sha256(as_bytes(secret), as_bytes(body));
    return crypto::equal_ct(*given, expected);
}

std::string rebase_url(const std::string& url, const std::string& base) {
    auto scheme_end = url.find("://");
    if (base.empty() || scheme_end == std::string::npos)
        return url;
    auto path = url.find('/', scheme_end + 3);
    return trimmed_base(base) + (path == std::string::npos ? "" : url.substr(path));
}

BtcpayClient::BtcpayClient(store::PaymentProviderRow provider, const http::OutboundPolicy& policy,
                           std::string public_url)
    : m_provider(std::move(provider)), m_policy(policy), m_public_url(std::move(public_url)) {}

service::Checked<Answer> BtcpayClient::request(const std::string& method, const std::string& path,
                                               const std::string& body, const char* what,
                                               bool allow_404) const {
    return exchange("BTCPay", m_policy, method,
                    trimmed_base(m_provider.base_url) + "/api/v1" + path, body,
                    "token " + m_provider.api_key.value_or(""), what, allow_404);
}

service::Checked<json> BtcpayClient::call(const std::string& method, const std::string& path,
                                          const std::string& body, const char* what) const {
    KEYSAT_TRY_ASSIGN(r, request(method, "/stores/" + m_provider.store_id.value_or("") + path, body,
                                 what, false));
    json answer = answer_json(r.body);
    if (!answer.is_object())
        return upstream(fmt::format("{}: the answer is not a JSON object", what));
    return answer;
}

service::Checked<std::vector<BtcpayClient::Store>> BtcpayClient::list_stores() const {
    KEYSAT_TRY_ASSIGN(r, request("GET", "/stores", "", "list-stores", false));
    json answer = answer_json(r.body);
    if (!answer.is_array())
        return upstream("list-stores: the answer is not a JSON array");
    std::vector<Store> stores;
    for (const auto& s : answer)
        if (s.is_object() && s.contains("id") && s["id"].is_string())
            stores.push_back(
                {s["id"].get<std::string>(), s.contains("name") && s["name"].is_string()
                                                 ? s["name"].get<std::string>()
                                                 : s["id"].get<std::string>()});
    return stores;
}

service::Checked<std::string> BtcpayClient::create_webhook(const std::string& url,
                                                           const std::string& secret) const {
    json body = {
        {"url", url},
        {"enabled", true},
        {"automaticRedelivery", true},
        {"secret", secret},
        {"authorizedEvents",
         {{"everything", false},
          {"specificEvents",
           {"InvoiceSettled", "InvoicePaymentSettled", "InvoiceExpired", "InvoiceInvalid"}}}}};
    KEYSAT_TRY_ASSIGN(answer, call("POST", "/webhooks", body.dump(), "create-webhook"));
    if (!answer.contains("id") || !answer["id"].is_string())
        return upstream("create-webhook: the answer has no id");
    return answer["id"].get<std::string>();
}

service::Checked<void> BtcpayClient::delete_webhook(const std::string& webhook_id) const {
    KEYSAT_TRY(request("DELETE",
                       "/stores/" + m_provider.store_id.value_or("") + "/webhooks/" + webhook_id,
                       "", "delete-webhook", true));
    return {};
}

service::Checked<void> BtcpayClient::revoke_key() const {
    KEYSAT_TRY(request("DELETE", "/api-keys/current", "", "revoke-api-key", true));
    return {};
}

const std::vector<std::string> k_btcpay_permissions = {
    "btcpay.store.canviewinvoices", "btcpay.store.cancreateinvoice",
    "btcpay.store.canmodifyinvoices", "btcpay.store.webhooks.canmodifywebhooks",
    "btcpay.store.canviewstoresettings"};

std::string btcpay_authorize_url(const std::string& browser_base, const std::string& callback_url) {
    auto enc = [](const std::string& s) {
        std::string out;
        for (unsigned char c : s) {
            if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
                out += static_cast<char>(c);
            else
                out += fmt::format("%{:02X}", c);
        }
        return out;
    };
    std::string url = trimmed_base(browser_base) +
                      "/api-keys/authorize?applicationName=Keysat&applicationIdentifier=keysat"
                      "&strict=true&selectiveStores=true&redirect=" +
                      enc(callback_url);
    for (const auto& p : k_btcpay_permissions)
        url += "&permissions=" + enc(p);
    return url;
}

service::Checked<service::Checkout>
BtcpayClient::create_invoice(const store::InvoiceRow& invoice,
                             const std::string& redirect_url) const {
    json metadata = {
        {"orderId", invoice.id}, {"productId", invoice.product_id}, {"source", "keysat"}};
    if (invoice.buyer_email)
        metadata["buyerEmail"] = *invoice.buyer_email;
    json body = {{"amount", btcpay_amount(invoice.amount, invoice.currency)},
                 {"currency", invoice.currency == "SAT" ? "BTC" : invoice.currency},
                 {"metadata", metadata},
                 {"checkout", {{"redirectURL", redirect_url}, {"redirectAutomatically", true}}}};
    KEYSAT_TRY_ASSIGN(answer, call("POST", "/invoices", body.dump(), "create-invoice"));
    if (!answer.contains("id") || !answer["id"].is_string() || !answer.contains("checkoutLink") ||
        !answer["checkoutLink"].is_string())
        return upstream("create-invoice: the answer has no id and checkoutLink");
    return service::Checkout{m_provider.id, answer["id"].get<std::string>(),
                             rebase_url(answer["checkoutLink"].get<std::string>(), m_public_url)};
}

service::Checked<RemoteStatus> BtcpayClient::invoice_status(const std::string& id) const {
    // BTCPay's invoice ids are letters and digits: anything else would change the path.
    if (!is_provider_id(id))
        return upstream("get-invoice: '" + id.substr(0, 64) + "' is not an invoice id");
    KEYSAT_TRY_ASSIGN(answer, call("GET", "/invoices/" + id, "", "get-invoice"));
    if (!answer.contains("status") || !answer["status"].is_string())
        return upstream("get-invoice: the answer has no status");
    std::string status = answer["status"];
    if (status == "Settled" || status == "Complete") // Complete: BTCPay before 1.4
        return RemoteStatus::settled;
    if (status == "Expired")
        return RemoteStatus::expired;
    if (status == "Invalid")
        return RemoteStatus::invalid;
    return RemoteStatus::pending; // New, Processing
}

} // namespace keysat::payments
