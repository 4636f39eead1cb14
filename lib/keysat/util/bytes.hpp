#pragma once
// Byte buffers and big-endian integer helpers shared by every format.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keysat {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// View a string's characters as bytes.
inline ByteView as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Append `v` as 8 bytes big-endian.
inline void put_u64_be(Bytes& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// Read 8 bytes big-endian; the caller checks the length.
inline std::uint64_t get_u64_be(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | p[i];
    return v;
}

// Read/write 8 bytes little-endian (minisign's opslimit and memlimit).
inline std::uint64_t get_u64_le(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}
inline void put_u64_le(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

} // namespace keysat
