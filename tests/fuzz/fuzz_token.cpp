// Download tokens (license/token.cpp), and the release gate's decision on them.
//
// Properties: a decoded token has one spelling (re-encoding its signature and payload gives the
// text back, so revocation by hash cannot be dodged); its payload survives the encoder; its
// revocation id is 64 lower-case hex digits; a token that verifies decodes; a listed token is
// refused.

#include <algorithm>

#include "fuzz_support.hpp"
#include "gate_check.hpp"
#include "keysat/license/token.hpp"
#include "keysat/util/date.hpp"

using namespace keysat;

namespace {

bool is_lower_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool same(const license::TokenPayload& a, const license::TokenPayload& b) {
    return a.product == b.product && a.channel_expiry == b.channel_expiry &&
           a.entitlements == b.entitlements && a.version_floor == b.version_floor;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    std::string id = license::token_revocation_id(text);
    FUZZ_CHECK(id.size() == 64 && is_lower_hex(id));
    auto decoded = license::decode_token(text);
    if (decoded) {
        FUZZ_CHECK(license::format_token(decoded->signature, decoded->raw_payload) == text);
        FUZZ_CHECK(decoded->raw_payload.find('\0') == std::string::npos); // JSON as a whole
        FUZZ_CHECK(parse_date_days(decoded->payload.channel_expiry) == decoded->expiry_days);
        const auto& floor = decoded->payload.version_floor;
        FUZZ_CHECK(!floor || license::is_version_triple(*floor));
        if (auto json = license::encode_token_payload(decoded->payload)) {
            auto again = license::decode_token(license::format_token(decoded->signature, *json));
            FUZZ_CHECK(again);
            FUZZ_CHECK(same(again->payload, decoded->payload));
        } else {
            FUZZ_CHECK(decoded->payload.product.empty()); // the only thing the encoder refuses
        }
    }
    license::TokenCheck check{fuzz::k_now, std::nullopt, {}};
    auto verified = license::verify_token(text, fuzz::ring(), check);
    FUZZ_CHECK(!verified || decoded);
    if (verified) {
        check.revoked = {id};
        FUZZ_CHECK(!license::verify_token(text, fuzz::ring(), check));
    }
    if (size <= 16 * 1024)
        fuzz::check_gate_access(text, "app", "1.2.3");
    return 0;
}
