#pragma once
// Memory for secrets: sodium_malloc'd (guard pages, locked, wiped on free), and library start-up.

#include <cstddef>
#include <cstdint>
#include <span>

namespace keysat::crypto {

// Initialises libsodium once; safe to call from any thread, any number of times.
void init();

// A fixed-size buffer for secret bytes, allocated with sodium_malloc and freed with sodium_free
// (which wipes it). Move-only.
class SecureBytes {
  public:
    explicit SecureBytes(std::size_t size);
    SecureBytes(SecureBytes&& other) noexcept;
    SecureBytes& operator=(SecureBytes&& other) noexcept;
    SecureBytes(const SecureBytes&) = delete;
    SecureBytes& operator=(const SecureBytes&) = delete;
    ~SecureBytes();

    std::uint8_t* data() { return m_data; }
    const std::uint8_t* data() const { return m_data; }
    std::size_t size() const { return m_size; }
    std::span<const std::uint8_t> view() const { return {m_data, m_size}; }

  private:
    std::uint8_t* m_data = nullptr;
    std::size_t m_size = 0;
};

// Overwrites memory in a way the compiler cannot optimise away.
void wipe(void* data, std::size_t size);

// Constant-time equality of two equally long byte ranges.
bool equal_ct(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

} // namespace keysat::crypto
