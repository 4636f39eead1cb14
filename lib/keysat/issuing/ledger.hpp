#pragma once
// Issuance ledger records (formats.md §5): one JSON object per line for each license signed.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/issuing/issue.hpp"

namespace keysat::issuing {

struct LedgerRecord {
    LicenseRequest request;
    std::string key;    // the LIC1 string
    std::string key_id; // signing key id as minisign prints it
    std::optional<std::string> email;
    std::optional<std::string> policy;
    std::optional<std::int64_t> max_machines;
    std::string id_key; // idempotency key the license id was derived from (bulk), may be empty
};

// One JSON object without a newline. Fields: v, license_id, product_id, policy, email,
// issued_at, expires_at (unix seconds, 0 = perpetual), entitlements, max_machines, is_trial,
// fingerprint_sha256, key, key_id, id_key. Written by hand rather than through a JSON library
// because bulk issuance spends a measurable share of its time here.
std::string format_ledger_record(const LedgerRecord& r);

// Appends `s` to `out` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

} // namespace keysat::issuing
