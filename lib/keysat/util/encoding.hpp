#pragma once
// Text encodings of bytes: RFC 4648 base32 and base64 (standard and url-safe), and hex.

#include <optional>
#include <string>
#include <string_view>

#include "keysat/util/bytes.hpp"

namespace keysat {

// RFC 4648 base32 (A-Z2-7), upper case, no padding.
std::string base32_encode(ByteView data);
// Decodes base32 case-insensitively; trailing '=' padding is tolerated. nullopt on any other
// character or on non-zero leftover bits.
std::optional<Bytes> base32_decode(std::string_view text);

// Standard base64 with '=' padding.
std::string base64_encode(ByteView data);
// Strict standard base64: padding required, no whitespace, canonical trailing bits.
std::optional<Bytes> base64_decode(std::string_view text);

// base64url (RFC 4648 §5) without padding.
std::string base64url_encode(ByteView data);
// Strict base64url: no padding, no other characters, canonical trailing bits.
std::optional<Bytes> base64url_decode(std::string_view text);

// Lower-case hex.
std::string hex_encode(ByteView data);
// Hex in either case, even length.
std::optional<Bytes> hex_decode(std::string_view text);

// Trims ASCII whitespace (space, tab, CR, LF) from both ends.
std::string_view trim(std::string_view s);

} // namespace keysat

namespace keysat {
// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s);
} // namespace keysat
