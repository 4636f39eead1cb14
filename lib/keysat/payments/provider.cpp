#include "keysat/payments/provider.hpp"

#include <fmt/format.h>

#include "keysat/http/client.hpp"
#include "keysat/payments/btcpay.hpp"
#include "keysat/payments/zaprite.hpp"
#include "keysat/util/json_depth.hpp"

namespace keysat::payments {

namespace {

// The largest answer we read is one invoice or one order: well under this.
constexpr std::size_t k_reply_cap = 1 << 20;
constexpr std::chrono::seconds k_deadline{15};

} // namespace

bool is_provider_id(std::string_view id, std::size_t max) {
    return !id.empty() && id.size() <= max &&
           id.find_first_not_of(
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
               std::string_view::npos;
}

service::Refused upstream_error(std::string_view provider, const std::string& what) {
    return service::Refused{"upstream_error", fmt::format("upstream error: {} {}", provider, what)};
}

service::Checked<Answer> exchange(std::string_view provider, const http::OutboundPolicy& policy,
                                  const std::string& method, const std::string& url,
                                  const std::string& body, const std::string& authorization,
                                  const char* what, bool allow_404) {
    http::ClientRequest req;
    req.method = method;
    req.url = url;
    req.body = body;
    req.headers = {{"Authorization", authorization}};
    req.deadline = k_deadline;
    req.max_reply_bytes = k_reply_cap;
    req.policy = &policy;
    auto r = http::send(req);
    auto fail = [&](const std::string& why) {
        return std::unexpected(upstream_error(provider, why));
    };
    if (r.outcome != http::Outcome::answered)
        return fail(fmt::format("{}: {}", what, r.error));
    if ((r.status < 200 || r.status > 299) && !(allow_404 && r.status == 404))
        return fail(fmt::format("{} answered HTTP {}", what, r.status));
    if (r.truncated)
        return fail(fmt::format("{}: the answer is too large", what));
    return Answer{r.status, std::move(r.body)};
}

nlohmann::json answer_json(const std::string& body) {
    return json_nesting_depth(body) > k_max_json_depth
               ? nlohmann::json()
               : nlohmann::json::parse(body, nullptr, false);
}

std::string trimmed_base(std::string base) {
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base;
}

std::unique_ptr<Provider> make_provider(const store::PaymentProviderRow& row,
                                        const http::OutboundPolicy& policy,
                                        const std::string& btcpay_public_url) {
    if (row.kind == "btcpay")
        return std::make_unique<BtcpayClient>(row, policy, btcpay_public_url);
    if (row.kind == "zaprite")
        return std::make_unique<ZapriteClient>(row, policy);
    return nullptr;
}

} // namespace keysat::payments
