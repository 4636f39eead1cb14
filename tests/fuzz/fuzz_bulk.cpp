// Bulk issuance input (issuing/bulk.cpp): CSV (KEYSAT_FUZZ_BULK_CSV) or JSON lines, and the
// ledger records written for what it accepts (issuing/ledger.cpp).
//
// Properties: errors come in line order and name lines of the input; check_bulk_input and
// for_each_bulk_item agree (no line is both an item and an error; every non-blank record line is
// one or the other); every accepted item can be signed (its payload encodes and decodes to the
// same fields); its ledger record is valid JSON carrying the same values.

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "keysat/issuing/bulk.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

#ifdef KEYSAT_FUZZ_BULK_CSV
constexpr issuing::InputFormat k_format = issuing::InputFormat::csv;
#else
constexpr issuing::InputFormat k_format = issuing::InputFormat::jsonl;
#endif

json optional_text(const std::optional<std::string>& v) {
    return v ? json(*v) : json(nullptr);
}

void check_item(const issuing::BulkItem& item) {
    const auto& rec = item.record;
    const auto& req = rec.request;
    // Signable: the payload builds, encodes, and decodes to the same fields.
    auto payload = issuing::make_payload(req);
    FUZZ_CHECK(payload);
    auto raw = license::encode_payload(*payload);
    FUZZ_CHECK(raw);
    auto decoded = license::decode_license_key(license::format_license_key(*raw, {}));
    FUZZ_CHECK(decoded);
    FUZZ_CHECK(decoded->payload.entitlements == req.entitlements);
    FUZZ_CHECK(decoded->payload.license_id == req.license_id);
    FUZZ_CHECK(decoded->payload.expires_at == static_cast<std::uint64_t>(req.expires_at));
    // The hand-written ledger record is JSON with the same values.
    issuing::LedgerRecord signed_rec = rec;
    signed_rec.key = "LIC1-AAAA-AAAA";
    signed_rec.key_id = "4B45595341544658";
    std::string line = issuing::format_ledger_record(signed_rec);
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    json j = json::parse(line, nullptr, false);
    FUZZ_CHECK(j.is_object());
    FUZZ_CHECK(j["license_id"] == req.license_id.to_string());
    FUZZ_CHECK(j["product_id"] == req.product_id.to_string());
    FUZZ_CHECK(j["email"] == optional_text(rec.email));
    FUZZ_CHECK(j["policy"] == optional_text(rec.policy));
    FUZZ_CHECK(j["issued_at"] == req.issued_at && j["expires_at"] == req.expires_at);
    FUZZ_CHECK(j["entitlements"] == req.entitlements);
    FUZZ_CHECK(j["is_trial"] == req.trial);
    FUZZ_CHECK(j["id_key"] == rec.id_key);
    FUZZ_CHECK(rec.max_machines ? j["max_machines"] == *rec.max_machines
                                : j["max_machines"].is_null());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    issuing::BulkOptions options;
    options.format = k_format;
    options.now = fuzz::k_now;
    options.ns = Uuid::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    // Without a product column half of the inputs fall back to a default product.
    if (size % 2 == 0)
        options.default_product = Uuid::parse("6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0");
    auto input = issuing::parse_bulk_input(text, options);
    std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    std::set<std::size_t> error_lines;
    for (std::size_t i = 0; i < input.errors.size(); ++i) {
        const auto& e = input.errors[i];
        FUZZ_CHECK(e.line >= 1 && e.line <= lines);
        FUZZ_CHECK(i == 0 || input.errors[i - 1].line <= e.line);
        FUZZ_CHECK(!e.message.empty());
        error_lines.insert(e.line);
    }
    std::set<std::size_t> item_lines;
    for (const auto& item : input.items) {
        FUZZ_CHECK(item.line >= 1 && item.line <= lines);
        FUZZ_CHECK(error_lines.count(item.line) == 0);
        FUZZ_CHECK(item_lines.insert(item.line).second);
        check_item(item);
    }
    return 0;
}
