#pragma once
// Hash functions: SHA-256, SHA-1 (UUID v5 only), BLAKE2b-256 and streaming BLAKE2b-512.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "keysat/util/bytes.hpp"
#include "keysat/util/error.hpp"

namespace keysat::crypto {

using Sha256 = std::array<std::uint8_t, 32>;
using Blake2b512 = std::array<std::uint8_t, 64>;

Sha256 sha256(ByteView data);
std::array<std::uint8_t, 20> sha1(ByteView data);
std::array<std::uint8_t, 32> blake2b_256(ByteView data);

// Incremental unkeyed BLAKE2b-512 (minisign's prehash). Uses OpenSSL's implementation, which is
// about twice as fast as libsodium's on x86-64 (see bench/README.md).
class Blake2b512Stream {
  public:
    Blake2b512Stream();
    ~Blake2b512Stream();
    Blake2b512Stream(const Blake2b512Stream&) = delete;
    Blake2b512Stream& operator=(const Blake2b512Stream&) = delete;

    void update(ByteView data);
    Blake2b512 finish();

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// BLAKE2b-512 of a whole file, read sequentially in large chunks: memory stays flat in the file
// size.
Expected<Blake2b512> blake2b_512_file(const std::filesystem::path& path);

// SHA-256 of an open file from its first byte (pread, so the file offset is untouched), read in
// large chunks: memory stays flat in the file size.
Expected<Sha256> sha256_fd(int fd);
// The same, asking `keep_going` between chunks; an error ("cancelled") when it says no.
Expected<Sha256> sha256_fd(int fd, const std::function<bool()>& keep_going);

} // namespace keysat::crypto

namespace keysat::crypto {
// HMAC-SHA256 of `message` under `key` (any length).
std::array<std::uint8_t, 32> hmac_sha256(ByteView key, ByteView message);
} // namespace keysat::crypto
