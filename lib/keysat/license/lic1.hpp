#pragma once
// LIC1 license keys (formats.md §1): LIC1-<base32(payload)>-<base32(signature)>.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysat/crypto/ed25519.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/util/error.hpp"
#include "keysat/util/uuid.hpp"

namespace keysat::license {

inline constexpr std::uint8_t k_flag_fingerprint = 0x01;
inline constexpr std::uint8_t k_flag_trial = 0x02;

// The signed content of a license key.
struct LicensePayload {
    std::uint8_t version = 2;
    std::uint8_t flags = 0;
    Uuid product_id;
    Uuid license_id;
    std::uint64_t issued_at = 0;
    std::uint64_t expires_at = 0; // 0 = perpetual
    std::array<std::uint8_t, 32> fingerprint_hash{};
    std::vector<std::string> entitlements;

    bool fingerprint_bound() const { return (flags & k_flag_fingerprint) != 0; }
    bool trial() const { return (flags & k_flag_trial) != 0; }
};

// A license key split into its parts, before anything is trusted.
struct DecodedLicense {
    LicensePayload payload;
    Bytes raw_payload;
    crypto::Signature signature{};
    // Bytes after the entitlement list (v2), or unknown flag bits: strict parsing rejects them.
    std::size_t extension_bytes = 0;
    std::uint8_t unknown_flags = 0;
};

enum class Strictness { strict, lenient };

// Serialises a v2 payload. Fails when an entitlement is empty or longer than 255 bytes, or
// there are more than 255 of them.
Expected<Bytes> encode_payload(const LicensePayload& p);

// Renders LIC1-<payload>-<signature> in upper case.
std::string format_license_key(ByteView raw_payload, const crypto::Signature& sig);

// Decodes the text of a key. Lenient mode reports extension bytes and unknown flags instead of
// failing (for `inspect`).
Expected<DecodedLicense> decode_license_key(std::string_view text,
                                            Strictness strictness = Strictness::strict);

// What to check beyond the signature.
struct LicenseCheck {
    std::int64_t now = 0;
    std::optional<Uuid> product_id;
    std::optional<std::string> fingerprint; // raw fingerprint string of this machine
};

struct VerifiedLicense {
    LicensePayload payload;
    std::size_t key_index = 0; // which keyring entry verified it
};

// Verifies a key: the signature by any keyring key, strict format, not expired at `now`
// (expired when now >= expires_at != 0), the product and the fingerprint when given.
Expected<VerifiedLicense> verify_license_key(std::string_view text, const Keyring& ring,
                                             const LicenseCheck& check);

} // namespace keysat::license
