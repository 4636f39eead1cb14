#pragma once
// Download tokens of the seed's release server (formats.md §2):
// base64url(signature[64] || payload JSON bytes).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysat/crypto/ed25519.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/util/error.hpp"

namespace keysat::license {

struct TokenPayload {
    std::string product;
    std::string channel_expiry; // "YYYY-MM-DD", valid through the end of that day (UTC)
    std::vector<std::string> entitlements;
    std::optional<std::string> version_floor; // "x.y.z"
};

struct DecodedToken {
    TokenPayload payload;
    std::string raw_payload; // the exact signed JSON bytes
    crypto::Signature signature{};
    std::int64_t expiry_days = 0; // channel_expiry as days since the epoch
};

// Serialises a payload as compact JSON in field order product, channel_expiry, entitlements,
// version_floor. Validates the date and version floor first.
Expected<std::string> encode_token_payload(const TokenPayload& p);

// base64url(signature || payload).
std::string format_token(const crypto::Signature& sig, std::string_view raw_payload);

// Decodes and validates the shape of a token without checking its signature. The text must be
// exactly the transmitted token (no padding, no whitespace) so that revocation hashes match.
Expected<DecodedToken> decode_token(std::string_view token);

struct TokenCheck {
    std::int64_t now = 0;
    std::optional<std::string> product;
    std::vector<std::string> revoked; // lower-case hex SHA-256 of revoked tokens
};

struct VerifiedToken {
    DecodedToken token;
    std::size_t key_index = 0;
};

// Verifies signature (any keyring key), shape, expiry, product and revocation.
Expected<VerifiedToken> verify_token(std::string_view token, const Keyring& ring,
                                     const TokenCheck& check);

// The revocation id of a token: lower-case hex SHA-256 of the token string as transmitted.
std::string token_revocation_id(std::string_view token);

// Parses a revocation list: one 64-hex id per line, blank lines and '#' comments allowed.
// Fails naming the first bad line.
Expected<std::vector<std::string>> parse_revocation_list(std::string_view text);

// True for "x.y.z" with x, y, z decimal numbers without leading zeros.
bool is_version_triple(std::string_view v);

} // namespace keysat::license
