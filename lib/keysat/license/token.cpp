#include "keysat/license/token.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/license/text_lines.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::license {

using nlohmann::json;

bool is_version_triple(std::string_view v) {
    int parts = 0;
    while (true) {
        std::size_t n = 0;
        while (n < v.size() && std::isdigit(static_cast<unsigned char>(v[n])))
            ++n;
        if (n == 0 || n > 9 || (n > 1 && v[0] == '0'))
            return false;
        ++parts;
        v.remove_prefix(n);
        if (v.empty())
            return parts == 3;
        if (v[0] != '.' || parts == 3)
            return false;
        v.remove_prefix(1);
    }
}

Expected<std::string> encode_token_payload(const TokenPayload& p) {
    if (p.product.empty())
        return usage_error("token product must not be empty");
    if (!parse_date_days(p.channel_expiry))
        return usage_error(
            fmt::format("channel expiry '{}' is not a date YYYY-MM-DD", p.channel_expiry));
    if (p.version_floor && !is_version_triple(*p.version_floor))
        return usage_error(fmt::format("version floor '{}' is not x.y.z", *p.version_floor));
    json j = json::object();
    j["product"] = p.product;
    j["channel_expiry"] = p.channel_expiry;
    j["entitlements"] = p.entitlements;
    j["version_floor"] = p.version_floor ? json(*p.version_floor) : json(nullptr);
    // nlohmann sorts object keys; build the text in the documented order instead.
    return fmt::format(
        R"({{"product":{},"channel_expiry":{},"entitlements":{},"version_floor":{}}})",
        j["product"].dump(), j["channel_expiry"].dump(), j["entitlements"].dump(),
        j["version_floor"].dump());
}

std::string format_token(const crypto::Signature& sig, std::string_view raw_payload) {
    Bytes raw(sig.begin(), sig.end());
    raw.insert(raw.end(), raw_payload.begin(), raw_payload.end());
    return base64url_encode(raw);
}

namespace {
// Splits a token into signature and payload bytes; checks only the encoding and length.
Expected<DecodedToken> split_token(std::string_view token) {
    auto raw = base64url_decode(token);
    if (!raw)
        return invalid("malformed token: not unpadded base64url");
    if (raw->size() <= 64)
        return invalid("malformed token: too short");
    DecodedToken out;
    std::copy_n(raw->begin(), 64, out.signature.begin());
    out.raw_payload.assign(raw->begin() + 64, raw->end());
    return out;
}

// Parses and validates the payload JSON of a split token.
Expected<DecodedToken> parse_token_payload(DecodedToken out) {
    // nlohmann's parser takes a NUL byte for the end of the text; JSON never holds a raw one.
    json j = out.raw_payload.find('\0') == std::string::npos
                 ? json::parse(out.raw_payload, nullptr, false)
                 : json(json::value_t::discarded);
    if (j.is_discarded() || !j.is_object())
        return invalid("malformed token: payload is not a JSON object");
    auto string_field = [&](const char* name) -> const json* {
        auto it = j.find(name);
        return it != j.end() && it->is_string() ? &*it : nullptr;
    };
    const json* product = string_field("product");
    const json* expiry = string_field("channel_expiry");
    if (!product)
        return invalid("malformed token: 'product' is missing or not a string");
    if (!expiry)
        return invalid("malformed token: 'channel_expiry' is missing or not a string");
    out.payload.product = product->get<std::string>();
    out.payload.channel_expiry = expiry->get<std::string>();
    auto days = parse_date_days(out.payload.channel_expiry);
    if (!days)
        return invalid(fmt::format("malformed token: channel_expiry '{}' is not a date YYYY-MM-DD",
                                   out.payload.channel_expiry));
    out.expiry_days = *days;
    auto ents = j.find("entitlements");
    if (ents == j.end() || !ents->is_array())
        return invalid("malformed token: 'entitlements' is missing or not an array");
    for (const auto& e : *ents) {
        if (!e.is_string())
            return invalid("malformed token: an entitlement is not a string");
        out.payload.entitlements.push_back(e.get<std::string>());
    }
    if (auto vf = j.find("version_floor"); vf != j.end() && !vf->is_null()) {
        if (!vf->is_string() || !is_version_triple(vf->get<std::string>()))
            return invalid("malformed token: 'version_floor' is not null or \"x.y.z\"");
        out.payload.version_floor = vf->get<std::string>();
    }
    return out;
}
} // namespace

Expected<DecodedToken> decode_token(std::string_view token) {
    KEYSAT_TRY_ASSIGN(split, split_token(token));
    return parse_token_payload(std::move(split));
}

Expected<VerifiedToken> verify_token(std::string_view token, const Keyring& ring,
                                     const TokenCheck& check) {
    // The signature is checked before the payload JSON is parsed: untrusted JSON never reaches
    // the parser unless a trusted key signed it.
    KEYSAT_TRY_ASSIGN(split, split_token(token));
    std::optional<std::size_t> signer;
    for (std::size_t i = 0; i < ring.keys.size() && !signer; ++i)
        if (crypto::verify(ring.keys[i], as_bytes(split.raw_payload), split.signature))
            signer = i;
    if (!signer)
        return invalid("signature does not verify with any trusted key");
    KEYSAT_TRY_ASSIGN(decoded, parse_token_payload(std::move(split)));
    if (check.now >= (decoded.expiry_days + 1) * 86400)
        return invalid(fmt::format("token expired: channel expiry {} has passed",
                                   decoded.payload.channel_expiry));
    if (check.product && *check.product != decoded.payload.product)
        return invalid(fmt::format("token is for product '{}', not '{}'", decoded.payload.product,
                                   *check.product));
    if (!check.revoked.empty()) {
        std::string id = token_revocation_id(token);
        if (std::find(check.revoked.begin(), check.revoked.end(), id) != check.revoked.end())
            return invalid("token has been revoked");
    }
    return VerifiedToken{std::move(decoded), *signer};
}

std::string token_revocation_id(std::string_view token) {
    return hex_encode(crypto::sha256(as_bytes(token)));
}

Expected<std::vector<std::string>> parse_revocation_list(std::string_view text) {
    std::vector<std::string> ids;
    std::size_t number = 0;
    for (std::string_view line : split_lines(text)) {
        ++number;
        std::string_view t = trim(line);
        if (t.empty() || t.front() == '#')
            continue;
        if (t.size() != 64 || !hex_decode(t))
            return usage_error(
                fmt::format("revocation list line {}: expected 64 hex digits", number));
        std::string id(t);
        std::transform(id.begin(), id.end(), id.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        ids.push_back(std::move(id));
    }
    return ids;
}

} // namespace keysat::license
