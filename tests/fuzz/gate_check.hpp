#pragma once
// The release gate's decision over a fuzzed token (download token or LIC1 key), as the gate's
// routes call it: a fixed revocation list and a license database that knows nothing.

#include <set>
#include <string_view>

#include "fuzz_support.hpp"
#include "keysat/gate/access.hpp"

namespace keysat::fuzz {

inline void check_gate_access(std::string_view token, std::string_view product,
                              std::string_view version) {
    static const gate::RevocationList revoked;
    static gate::VerifiedTokens verified(64);
    static const std::set<int> k_statuses = {200, 401, 403, 503};
    auto lookup = [](const std::string&, const std::string&) -> Expected<gate::LicenseFacts> {
        gate::LicenseFacts facts;
        facts.product_slug = "app";
        return facts;
    };
    for (gate::VerifiedTokens* cache : {static_cast<gate::VerifiedTokens*>(nullptr), &verified}) {
        gate::AccessRequest req{token, product, version, k_now};
        gate::Decision d = gate::check_access(req, ring(), revoked, lookup, cache);
        FUZZ_CHECK(k_statuses.count(d.status) == 1);
        FUZZ_CHECK(d.allowed() == d.error.empty());
    }
}

} // namespace keysat::fuzz
