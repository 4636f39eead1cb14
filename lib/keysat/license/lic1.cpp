#include "keysat/license/lic1.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::license {

namespace {

constexpr std::size_t k_v1_size = 74;
constexpr std::size_t k_v2_fixed = 83;

Expected<LicensePayload> parse_payload(ByteView raw, Strictness strictness, DecodedLicense& out) {
    if (raw.empty())
        return invalid("malformed license key: empty payload");
    LicensePayload p;
    p.version = raw[0];
    if (p.version != 1 && p.version != 2)
        return invalid(fmt::format("malformed license key: unknown payload version {}", p.version));
    std::size_t fixed = p.version == 1 ? k_v1_size : k_v2_fixed;
    if (raw.size() < fixed)
        return invalid(fmt::format("malformed license key: payload of {} bytes is too short for "
                                   "version {}",
                                   raw.size(), p.version));
    p.flags = raw[1];
    std::copy_n(raw.begin() + 2, 16, p.product_id.bytes.begin());
    std::copy_n(raw.begin() + 18, 16, p.license_id.bytes.begin());
    p.issued_at = get_u64_be(raw.data() + 34);
    std::size_t pos = 42;
    if (p.version == 2) {
        p.expires_at = get_u64_be(raw.data() + 42);
        pos = 50;
    }
    std::copy_n(raw.begin() + pos, 32, p.fingerprint_hash.begin());
    pos += 32;
    if (p.version == 2) {
        std::size_t count = raw[pos++];
        for (std::size_t i = 0; i < count; ++i) {
            if (pos >= raw.size())
                return invalid("malformed license key: entitlement list is truncated");
            std::size_t len = raw[pos++];
            if (pos + len > raw.size())
                return invalid("malformed license key: entitlement list is truncated");
            p.entitlements.emplace_back(reinterpret_cast<const char*>(raw.data() + pos), len);
            pos += len;
        }
    }
    out.extension_bytes = raw.size() - pos;
    out.unknown_flags = static_cast<std::uint8_t>(p.flags & ~(k_flag_fingerprint | k_flag_trial));
    if (strictness == Strictness::strict) {
        if (out.extension_bytes != 0)
            return invalid(fmt::format("malformed license key: {} unknown extension bytes",
                                       out.extension_bytes));
        if (out.unknown_flags != 0)
            return invalid(fmt::format("malformed license key: unknown flag bits 0x{:02x}",
                                       out.unknown_flags));
    }
    return p;
}

} // namespace

Expected<Bytes> encode_payload(const LicensePayload& p) {
    if (p.entitlements.size() > 255)
        return usage_error("more than 255 entitlements");
    Bytes out;
    out.reserve(k_v2_fixed + 16 * p.entitlements.size());
    out.push_back(2);
    out.push_back(p.flags);
    out.insert(out.end(), p.product_id.bytes.begin(), p.product_id.bytes.end());
    out.insert(out.end(), p.license_id.bytes.begin(), p.license_id.bytes.end());
    put_u64_be(out, p.issued_at);
    put_u64_be(out, p.expires_at);
    out.insert(out.end(), p.fingerprint_hash.begin(), p.fingerprint_hash.end());
    out.push_back(static_cast<std::uint8_t>(p.entitlements.size()));
    for (const auto& e : p.entitlements) {
        if (e.empty() || e.size() > 255)
            return usage_error(fmt::format("entitlement '{}' must be 1 to 255 bytes", e));
        out.push_back(static_cast<std::uint8_t>(e.size()));
        out.insert(out.end(), e.begin(), e.end());
    }
    return out;
}

std::string format_license_key(ByteView raw_payload, const crypto::Signature& sig) {
    std::string out;
    out.reserve(7 + (raw_payload.size() * 8 + 4) / 5 + 103);
    out += "LIC1-";
    out += base32_encode(raw_payload);
    out += '-';
    out += base32_encode(sig);
    return out;
}

Expected<DecodedLicense> decode_license_key(std::string_view text, Strictness strictness) {
    std::string_view t = trim(text);
    auto d1 = t.find('-');
    auto d2 = d1 == std::string_view::npos ? d1 : t.find('-', d1 + 1);
    if (d2 == std::string_view::npos)
        return invalid("malformed license key: expected LIC1-<payload>-<signature>");
    std::string_view prefix = t.substr(0, d1);
    if (prefix.size() != 4 || std::toupper(static_cast<unsigned char>(prefix[0])) != 'L' ||
        std::toupper(static_cast<unsigned char>(prefix[1])) != 'I' ||
        std::toupper(static_cast<unsigned char>(prefix[2])) != 'C' || prefix[3] != '1')
        return invalid("malformed license key: it does not start with LIC1-");
    auto payload = base32_decode(t.substr(d1 + 1, d2 - d1 - 1));
    if (!payload)
        return invalid("malformed license key: payload is not base32");
    auto sig = base32_decode(t.substr(d2 + 1));
    if (!sig || sig->size() != 64)
        return invalid("malformed license key: signature is not 64 bytes of base32");
    DecodedLicense out;
    out.raw_payload = std::move(*payload);
    std::copy(sig->begin(), sig->end(), out.signature.begin());
    KEYSAT_TRY_ASSIGN(p, parse_payload(out.raw_payload, strictness, out));
    out.payload = std::move(p);
    return out;
}

Expected<VerifiedLicense> verify_license_key(std::string_view text, const Keyring& ring,
                                             const LicenseCheck& check) {
    KEYSAT_TRY_ASSIGN(decoded, decode_license_key(text, Strictness::strict));
    std::optional<std::size_t> signer;
    for (std::size_t i = 0; i < ring.keys.size() && !signer; ++i)
        if (crypto::verify(ring.keys[i], decoded.raw_payload, decoded.signature))
            signer = i;
    if (!signer)
        return invalid("signature does not verify with any trusted key");
    const LicensePayload& p = decoded.payload;
    if (p.expires_at != 0 && static_cast<std::uint64_t>(check.now) >= p.expires_at)
        return invalid(fmt::format("license expired at {}",
                                   format_timestamp(static_cast<std::int64_t>(p.expires_at))));
    if (check.product_id && *check.product_id != p.product_id)
        return invalid(fmt::format("license is for product {}, not {}", p.product_id.to_string(),
                                   check.product_id->to_string()));
    if (check.fingerprint) {
        if (!p.fingerprint_bound())
            return invalid("license is not bound to a machine fingerprint");
        if (crypto::sha256(as_bytes(*check.fingerprint)) != p.fingerprint_hash)
            return invalid("license is bound to a different machine fingerprint");
    }
    return VerifiedLicense{p, *signer};
}

} // namespace keysat::license
