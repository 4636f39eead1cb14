#pragma once
// Signing: LIC1 license keys, download tokens and minisign signatures of files.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysat/crypto/signing.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/license/minisig.hpp"
#include "keysat/license/token.hpp"
#include "keysat/util/error.hpp"

namespace keysat::issuing {

// What to put in a license key. `fingerprint` is the raw string; only its SHA-256 is signed.
struct LicenseRequest {
    Uuid product_id;
    Uuid license_id;
    std::int64_t issued_at = 0;
    std::int64_t expires_at = 0; // 0 = perpetual
    bool trial = false;
    std::optional<std::string> fingerprint;
    std::vector<std::string> entitlements;
};

// Builds the v2 payload of a request (checks entitlement sizes and expiry after issue).
Expected<license::LicensePayload> make_payload(const LicenseRequest& req);

// Signs a license key.
Expected<std::string> issue_license(const crypto::SecretKey& key, const LicenseRequest& req);

// Signs a download token.
Expected<std::string> issue_token(const crypto::SecretKey& key, const license::TokenPayload& p);

enum class Prehash { yes, no };

// Signs a file as minisign does: "ED" (BLAKE2b-512 prehash, streamed) by default, "Ed" over the
// raw file (mapped) with Prehash::no. An empty trusted comment means minisign's default
// "timestamp:<now>\tfile:<basename>[\thashed]".
Expected<license::SignatureFile> sign_file(const crypto::SecretKey& key,
                                           const std::filesystem::path& file, Prehash prehash,
                                           std::string trusted_comment, std::int64_t now);

} // namespace keysat::issuing
