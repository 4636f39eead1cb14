#include "keysat/issuing/issue.hpp"

#include <fmt/format.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/util/bytes.hpp"
#include "keysat/util/file.hpp"

namespace keysat::issuing {

Expected<license::LicensePayload> make_payload(const LicenseRequest& req) {
    if (req.expires_at < 0 || req.issued_at < 0)
        return usage_error("times must not be before 1970");
    if (req.expires_at != 0 && req.expires_at <= req.issued_at)
        return usage_error("expiry must be after the issue time");
    license::LicensePayload p;
    p.flags = static_cast<std::uint8_t>((req.fingerprint ? license::k_flag_fingerprint : 0) |
                                        (req.trial ? license::k_flag_trial : 0));
    p.product_id = req.product_id;
    p.license_id = req.license_id;
    p.issued_at = static_cast<std::uint64_t>(req.issued_at);
    p.expires_at = static_cast<std::uint64_t>(req.expires_at);
    if (req.fingerprint) {
        if (req.fingerprint->empty())
            return usage_error("fingerprint must not be empty");
        p.fingerprint_hash = crypto::sha256(as_bytes(*req.fingerprint));
    }
    p.entitlements = req.entitlements;
    return p;
}

Expected<std::string> issue_license(const crypto::SecretKey& key, const LicenseRequest& req) {
    KEYSAT_TRY_ASSIGN(payload, make_payload(req));
    KEYSAT_TRY_ASSIGN(raw, license::encode_payload(payload));
    return license::format_license_key(raw, key.sign(raw));
}

Expected<std::string> issue_token(const crypto::SecretKey& key, const license::TokenPayload& p) {
    KEYSAT_TRY_ASSIGN(raw, license::encode_token_payload(p));
    return license::format_token(key.sign(as_bytes(raw)), raw);
}

Expected<license::SignatureFile> sign_file(const crypto::SecretKey& key,
                                           const std::filesystem::path& file, Prehash prehash,
                                           std::string trusted_comment, std::int64_t now) {
    if (trusted_comment.empty())
        trusted_comment = fmt::format("timestamp:{}\tfile:{}{}", now, file.filename().string(),
                                      prehash == Prehash::yes ? "\thashed" : "");
    KEYSAT_TRY(license::check_trusted_comment(trusted_comment));
    license::SignatureFile s;
    s.untrusted_comment = "signature from minisign secret key";
    s.key_id = key.key_id();
    s.trusted_comment = std::move(trusted_comment);
    if (prehash == Prehash::yes) {
        s.alg = license::SigAlg::prehashed;
        KEYSAT_TRY_ASSIGN(digest, crypto::blake2b_512_file(file));
        s.signature = key.sign(digest);
    } else {
        s.alg = license::SigAlg::legacy;
        KEYSAT_TRY_ASSIGN(content, read_small_file(file, std::size_t{1} << 31));
        s.signature = key.sign(as_bytes(content));
    }
    s.global_signature = key.sign(license::global_message(s));
    return s;
}

} // namespace keysat::issuing
