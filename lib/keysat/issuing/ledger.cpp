#include "keysat/issuing/ledger.hpp"

#include <fmt/format.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::issuing {

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (u < 0x20)
                out += fmt::format("\\u{:04x}", u);
            else
                out += c;
        }
    }
    out += '"';
}

namespace {
void append_optional(std::string& out, const std::optional<std::string>& v) {
    if (v)
        append_json_string(out, *v);
    else
        out += "null";
}
} // namespace

std::string format_ledger_record(const LedgerRecord& r) {
    const LicenseRequest& q = r.request;
    std::string out;
    out.reserve(1024);
    out += R"({"v":1,"license_id":")";
    out += q.license_id.to_string();
    out += R"(","product_id":")";
    out += q.product_id.to_string();
    out += R"(","policy":)";
    append_optional(out, r.policy);
    out += R"(,"email":)";
    append_optional(out, r.email);
    fmt::format_to(std::back_inserter(out), R"(,"issued_at":{},"expires_at":{},"entitlements":[)",
                   q.issued_at, q.expires_at);
    for (std::size_t i = 0; i < q.entitlements.size(); ++i) {
        if (i > 0)
            out += ',';
        append_json_string(out, q.entitlements[i]);
    }
    out += R"(],"max_machines":)";
    out += r.max_machines ? std::to_string(*r.max_machines) : "null";
    out += R"(,"is_trial":)";
    out += q.trial ? "true" : "false";
    out += R"(,"fingerprint_sha256":)";
    if (q.fingerprint)
        append_json_string(out, hex_encode(crypto::sha256(as_bytes(*q.fingerprint))));
    else
        out += "null";
    out += R"(,"key":")";
    out += r.key;
    out += R"(","key_id":")";
    out += r.key_id;
    out += R"(","id_key":)";
    append_json_string(out, r.id_key);
    out += '}';
    return out;
}

} // namespace keysat::issuing
