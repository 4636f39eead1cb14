#include "keysat/gate/access.hpp"

#include <cctype>

#include <fmt/format.h>

#include "keysat/gate/layout.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/license/token.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::gate {

namespace {

constexpr std::size_t k_max_token = 16 * 1024;

Decision refuse(int status, const char* word, std::string message) {
    return {status, word, std::move(message)};
}

bool signed_by_ring(const license::Keyring& ring, ByteView message, const crypto::Signature& sig) {
    for (const auto& key : ring.keys)
        if (crypto::verify(key, message, sig))
            return true;
    return false;
}

bool looks_like_license_key(std::string_view token) {
    return token.size() > 5 && std::toupper(static_cast<unsigned char>(token[0])) == 'L' &&
           std::toupper(static_cast<unsigned char>(token[1])) == 'I' &&
           std::toupper(static_cast<unsigned char>(token[2])) == 'C' && token[3] == '1' &&
           token[4] == '-';
}

// Checks encoding, length and signature, then parses the payload.
std::optional<Decision> decode_download_token(const AccessRequest& req,
                                              const license::Keyring& ring,
                                              license::DecodedToken& out) {
    auto raw = base64url_decode(req.token);
    if (!raw)
        return refuse(401, "malformed-token", "the token is not unpadded base64url");
    if (raw->size() <= 64)
        return refuse(401, "token-too-short", "the token is too short to hold a signature");
    crypto::Signature sig{};
    std::copy_n(raw->begin(), 64, sig.begin());
    // The signature is checked before the payload is parsed: untrusted JSON never reaches the
    // parser unless a trusted key signed it.
    if (!signed_by_ring(ring, ByteView(raw->data() + 64, raw->size() - 64), sig))
        return refuse(401, "invalid-signature", "the token is not signed by a trusted key");
    auto decoded = license::decode_token(req.token);
    if (!decoded)
        return refuse(401, "invalid-payload", decoded.error().message);
    out = std::move(*decoded);
    return std::nullopt;
}

Decision check_download_token(const AccessRequest& req, const license::Keyring& ring,
                              const RevocationList& revoked, VerifiedTokens* verified) {
    std::string text(req.token);
    license::DecodedToken decoded;
    if (auto hit = verified ? verified->find(text) : std::nullopt) {
        decoded = std::move(*hit);
    } else {
        if (auto refused = decode_download_token(req, ring, decoded))
            return *refused;
        if (verified)
            verified->insert(text, decoded);
    }
    const auto& p = decoded.payload;
    if (p.product != req.product)
        return refuse(403, "wrong-product", "the token is for another product");
    // Valid through the end of the channel_expiry day, UTC (the date was parsed strictly).
    if (req.now >= (decoded.expiry_days + 1) * 86400)
        return refuse(403, "channel-expired",
                      fmt::format("the download channel closed after {}", p.channel_expiry));
    if (p.version_floor && version_less(req.version, *p.version_floor))
        return refuse(403, "version-below-floor",
                      fmt::format("the token opens versions from {} on", *p.version_floor));
    if (revoked.contains(license::token_revocation_id(req.token)))
        return refuse(403, "token-revoked", "the token has been revoked");
    return {};
}

Decision check_license_key(const AccessRequest& req, const license::Keyring& ring,
                           const RevocationList& revoked, const LicenseLookup& lookup) {
    auto decoded = license::decode_license_key(req.token, license::Strictness::strict);
    if (!decoded)
        return refuse(401, "malformed-token", decoded.error().message);
    if (!signed_by_ring(ring, decoded->raw_payload, decoded->signature))
        return refuse(401, "invalid-signature", "the license key is not signed by a trusted key");
    const auto& p = decoded->payload;
    auto facts = lookup(p.product_id.to_string(), p.license_id.to_string());
    if (!facts)
        return refuse(503, "service_unavailable", "the license database is unavailable");
    if (!facts->product_slug || *facts->product_slug != req.product)
        return refuse(403, "wrong-product", "the license key is for another product");
    // A key has several spellings that decode alike (LIC1 ignores case): the list is checked
    // against the text sent and against the key as issued (found in review).
    std::string canonical = license::format_license_key(decoded->raw_payload, decoded->signature);
    if (revoked.contains(license::token_revocation_id(req.token)) ||
        revoked.contains(license::token_revocation_id(canonical)) ||
        (facts->license_known && facts->status != "active"))
        return refuse(403, "token-revoked", "the license has been revoked or suspended");
    bool expired =
        facts->license_known
            ? facts->expires_at && req.now >= *facts->expires_at + facts->grace_days * 86400
            : p.expires_at != 0 && req.now >= static_cast<std::int64_t>(p.expires_at);
    if (expired)
        return refuse(403, "channel-expired", "the license has expired");
    return {};
}

} // namespace

std::optional<license::DecodedToken> VerifiedTokens::find(const std::string& token) const {
    std::shared_lock lock(m_mutex);
    auto it = m_entries.find(token);
    if (it == m_entries.end())
        return std::nullopt;
    return it->second;
}

void VerifiedTokens::insert(const std::string& token, const license::DecodedToken& decoded) {
    std::unique_lock lock(m_mutex);
    if (m_entries.size() >= m_capacity)
        m_entries.clear();
    m_entries.emplace(token, decoded);
}

std::string request_token(std::string_view authorization, const std::optional<std::string>& query) {
    if (authorization.size() > 7 && authorization.starts_with("Bearer "))
        return std::string(authorization.substr(7));
    return query.value_or("");
}

Decision check_access(const AccessRequest& req, const license::Keyring& ring,
                      const RevocationList& revoked, const LicenseLookup& lookup,
                      VerifiedTokens* verified) {
    if (ring.keys.empty())
        return refuse(503, "service_unavailable",
                      "no verification key is configured: downloads are closed");
    if (req.token.empty())
        return refuse(401, "missing-token",
                      "a download token or license key is required (Authorization: Bearer, or "
                      "?token=)");
    if (req.token.size() > k_max_token)
        return refuse(401, "malformed-token", "the token is too long");
    if (looks_like_license_key(req.token))
        return check_license_key(req, ring, revoked, lookup);
    return check_download_token(req, ring, revoked, verified);
}

} // namespace keysat::gate
