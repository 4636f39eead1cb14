#include "keysat/util/encoding.hpp"

#include <array>

namespace keysat {
namespace {

constexpr std::string_view k_base32_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view k_base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view k_base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Reverse lookup table: character -> value, or 0xff for characters not in the alphabet.
constexpr std::array<std::uint8_t, 256> make_table(std::string_view alphabet, bool fold_case) {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t)
        v = 0xff;
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        auto c = static_cast<unsigned char>(alphabet[i]);
        t[c] = static_cast<std::uint8_t>(i);
        if (fold_case && c >= 'A' && c <= 'Z')
            t[c + 32] = static_cast<std::uint8_t>(i);
    }
    return t;
}

constexpr auto k_base32_table = make_table(k_base32_alphabet, true);
constexpr auto k_base64_table = make_table(k_base64_alphabet, false);
constexpr auto k_base64url_table = make_table(k_base64url_alphabet, false);

std::string base64_encode_with(ByteView data, std::string_view alphabet, bool pad) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    std::size_t rest = data.size() - i;
    if (rest > 0) {
        std::uint32_t v = data[i] << 16;
        if (rest == 2)
            v |= data[i + 1] << 8;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        if (rest == 2)
            out += alphabet[(v >> 6) & 63];
        if (pad)
            out.append(rest == 1 ? 2 : 1, '=');
    }
    return out;
}

// Decodes unpadded base64 digits; rejects a dangling single digit and non-zero leftover bits so
// that every accepted text has exactly one byte string (no malleability).
std::optional<Bytes> base64_decode_digits(std::string_view text,
                                          const std::array<std::uint8_t, 256>& table) {
    if (text.size() % 4 == 1)
        return std::nullopt;
    Bytes out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char ch : text) {
        std::uint8_t v = table[static_cast<unsigned char>(ch)];
        if (v == 0xff)
            return std::nullopt;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>(acc >> bits));
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return std::nullopt;
    return out;
}

} // namespace

std::string base32_encode(ByteView data) {
    std::string out;
    out.reserve((data.size() * 8 + 4) / 5);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::uint8_t b : data) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out += k_base32_alphabet[(acc >> bits) & 31];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        out += k_base32_alphabet[(acc << (5 - bits)) & 31];
    return out;
}

std::optional<Bytes> base32_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=')
        text.remove_suffix(1);
    Bytes out;
    out.reserve(text.size() * 5 / 8);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char ch : text) {
        std::uint8_t v = k_base32_table[static_cast<unsigned char>(ch)];
        if (v == 0xff)
            return std::nullopt;
        acc = (acc << 5) | v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>(acc >> bits));
            acc &= (1u << bits) - 1;
        }
    }
    // Leftover bits must be zero padding of fewer than 5 bits; otherwise the text is not canonical.
    if (bits >= 5 || acc != 0)
        return std::nullopt;
    return out;
}

std::string base64_encode(ByteView data) {
    return base64_encode_with(data, k_base64_alphabet, true);
}

std::optional<Bytes> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0)
        return std::nullopt;
    std::size_t pad = 0;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=')
        ++pad;
    return base64_decode_digits(text.substr(0, text.size() - pad), k_base64_table);
}

std::string base64url_encode(ByteView data) {
    return base64_encode_with(data, k_base64url_alphabet, false);
}

std::optional<Bytes> base64url_decode(std::string_view text) {
    return base64_decode_digits(text, k_base64url_table);
}

std::string hex_encode(ByteView data) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size() * 2);
    for (std::uint8_t b : data) {
        out += k_digits[b >> 4];
        out += k_digits[b & 15];
    }
    return out;
}

std::optional<Bytes> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0)
        return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    Bytes out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        int hi = nibble(text[i]);
        int lo = nibble(text[i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
    return out;
}

std::string_view trim(std::string_view s) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

} // namespace keysat

namespace keysat {

bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t n;
        std::uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= s.size())
            return false;
        for (std::size_t k = 1; k <= n; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        static constexpr std::uint32_t k_min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < k_min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

} // namespace keysat
