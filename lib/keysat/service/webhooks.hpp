#pragma once
// Outbound webhooks: events become delivery rows (in the caller's transaction, so a change and
// its notification commit together); the body is serialised once and sent byte for byte on every
// attempt, signed as Keysat does and with a timestamped signature against replays.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keysat/db/database.hpp"

namespace keysat::service {

// Queues `event_type` for every active endpoint that subscribes to it (an empty list: all).
Expected<void> emit_event(db::Database& db, const std::string& event_type,
                          const nlohmann::json& data, std::int64_t now);

// Seconds to wait after the n-th failed attempt (n from 1); nullopt after the 10th: dead.
std::optional<std::int64_t> retry_delay(std::int64_t failed_attempts);

// The signature headers of a delivery: X-Keysat-Signature (sha256=<hex HMAC-SHA256 keyed with
// the endpoint secret's text over the body>) and X-Keysat-Signature-V2 (t=<unix>,v1=<hex HMAC
// over "<t>." + body>).
std::vector<std::pair<std::string, std::string>>
signature_headers(const std::string& secret, const std::string& body, std::int64_t now);

} // namespace keysat::service
