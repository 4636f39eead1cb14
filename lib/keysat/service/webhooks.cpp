#include "keysat/service/webhooks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/store/webhook_store.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::service {

using nlohmann::json;

Expected<void> emit_event(db::Database& db, const std::string& event_type, const json& data,
                          std::int64_t now) {
    store::WebhookStore hooks(db);
    KEYSAT_TRY_ASSIGN(endpoints, hooks.list_endpoints(true));
    std::string body;
    for (const auto& e : endpoints) {
        json events = json::parse(e.events_json, nullptr, false);
        bool wanted = !events.is_array() || events.empty() ||
                      std::find(events.begin(), events.end(), event_type) != events.end();
        if (!wanted)
            continue;
        if (body.empty())
            body = json{
                {"event_type", event_type},
                {"timestamp", format_timestamp(now)},
                {"data",
                 data}}.dump(-1, ' ', false, json::error_handler_t::replace);
        store::DeliveryRow d;
        d.id = crypto::uuid_v4().to_string();
        d.endpoint_id = e.id;
        d.event_type = event_type;
        d.body = body;
        d.created_at = now;
        d.next_attempt_at = now;
        KEYSAT_TRY(hooks.enqueue(d));
    }
    return {};
}

std::optional<std::int64_t> retry_delay(std::int64_t failed_attempts) {
    static constexpr std::array<std::int64_t, 9> k_delays = {5,   10,   30,   60,  300,
                                                             900, 1800, 3600, 7200};
    if (failed_attempts < 1 || failed_attempts > static_cast<std::int64_t>(k_delays.size()))
        return std::nullopt;
    return k_delays[static_cast<std::size_t>(failed_attempts - 1)];
}

std::vector<std::pair<std::string, std::string>>
signature_headers(const std::string& secret, const std::string& body, std::int64_t now) {
    auto v1 = crypto::hmac_sha256(as_bytes(secret), as_bytes(body));
    std::string stamped = fmt::format("{}.{}", now, body);
    auto v2 = crypto::hmac_sha256(as_bytes(secret), as_bytes(stamped));
    return {{"X-Keysat-Signature", "sha256=" + hex_encode(v1)},
            {"X-Keysat-Signature-V2", fmt::format("t={},v1={}", now, hex_encode(v2))}};
}

} // namespace keysat::service
