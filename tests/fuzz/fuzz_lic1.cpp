// LIC1 license keys (license/lic1.cpp), and what the tools do with a decoded one.
//
// Properties: strict decoding accepts a subset of lenient decoding, with the same fields; the
// canonical spelling of a decoded key decodes to the same bytes; a strictly decoded v2 payload
// encodes back to its exact bytes (one spelling per value); a key that verifies decodes
// strictly. The decoded times are formatted as `keysat-verify inspect` prints them, and the
// release gate decides on the key as a download token.

#include <algorithm>

#include "fuzz_support.hpp"
#include "gate_check.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/util/date.hpp"

using namespace keysat;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    auto strict = license::decode_license_key(text, license::Strictness::strict);
    auto lenient = license::decode_license_key(text, license::Strictness::lenient);
    FUZZ_CHECK(!strict || lenient);
    if (lenient) {
        const auto& p = lenient->payload;
        FUZZ_CHECK(p.version == 1 || p.version == 2);
        FUZZ_CHECK(p.version == 2 || p.entitlements.empty());
        // keysat-verify inspect prints the unverified times; those in years 1970..9999 read back.
        for (std::uint64_t at : {p.issued_at, p.expires_at}) {
            auto t = static_cast<std::int64_t>(at);
            std::string text = format_timestamp(t);
            if (t >= 0 && t < 253402300800)
                FUZZ_CHECK(parse_timestamp(text) == t);
        }
        std::string canonical =
            license::format_license_key(lenient->raw_payload, lenient->signature);
        auto again = license::decode_license_key(canonical, license::Strictness::lenient);
        FUZZ_CHECK(again);
        FUZZ_CHECK(again->raw_payload == lenient->raw_payload);
        FUZZ_CHECK(again->signature == lenient->signature);
    }
    if (strict) {
        FUZZ_CHECK(strict->raw_payload == lenient->raw_payload);
        FUZZ_CHECK(strict->extension_bytes == 0 && strict->unknown_flags == 0);
        FUZZ_CHECK(strict->payload.entitlements == lenient->payload.entitlements);
        if (strict->payload.version == 2) {
            // The encoder refuses empty entitlements, which the format does not forbid.
            const auto& ents = strict->payload.entitlements;
            bool has_empty = std::any_of(ents.begin(), ents.end(),
                                         [](const std::string& e) { return e.empty(); });
            auto encoded = license::encode_payload(strict->payload);
            FUZZ_CHECK(encoded || has_empty);
            FUZZ_CHECK(!encoded || *encoded == strict->raw_payload);
        }
    }
    license::LicenseCheck check{fuzz::k_now, std::nullopt, std::string("test-machine-fingerprint")};
    auto verified = license::verify_license_key(text, fuzz::ring(), check);
    FUZZ_CHECK(!verified || strict);
    license::LicenseCheck plain{fuzz::k_now, std::nullopt, std::nullopt};
    auto unbound = license::verify_license_key(text, fuzz::ring(), plain);
    FUZZ_CHECK(!verified || unbound);
    if (size <= 16 * 1024)
        fuzz::check_gate_access(text, "app", "1.0.0");
    return 0;
}
