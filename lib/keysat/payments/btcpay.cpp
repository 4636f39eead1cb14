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

// BTCPay's largest answer we read is one invoice: well under this.
constexpr std::size_t k_reply_cap = 1 << 20;
constexpr std::chrono::seconds k_deadline{15};

std::unexpected<service::Refused> upstream(const std::string& what) {
    return std::unexpected(service::Refused{"upstream_error", "upstream error: BTCPay " + what});
}

std::string trimmed_base(std::string base) {
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base;
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

service::Checked<json> BtcpayClient::call(const std::string& method, const std::string& path,
                                          const std::string& body, const char* what) const {
    http::ClientRequest req;
    req.method = method;
    req.url = fmt::format("{}/api/v1/stores/{}{}", trimmed_base(m_provider.base_url),
                          m_provider.store_id.value_or(""), path);
    req.body = body;
    req.headers = {{"Authorization", "token " + m_provider.api_key.value_or("")}};
    req.deadline = k_deadline;
    req.max_reply_bytes = k_reply_cap;
    req.policy = &m_policy;
    auto r = http::send(req);
    if (r.outcome != http::Outcome::answered)
        return upstream(fmt::format("{}: {}", what, r.error));
    if (r.status < 200 || r.status > 299)
        return upstream(fmt::format("{} answered HTTP {}", what, r.status));
    json answer = r.truncated || json_nesting_depth(r.body) > k_max_json_depth
                      ? json()
                      : json::parse(r.body, nullptr, false);
    if (!answer.is_object())
        return upstream(fmt::format("{}: the answer is not a JSON object", what));
    return answer;
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
    if (id.empty() || id.size() > 64 ||
        id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
            std::string::npos)
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
