#include "keysat/crypto/secure.hpp"

#include <new>
#include <sodium.h>
#include <utility>

namespace keysat::crypto {

void init() {
    static const int k_result = sodium_init();
    (void)k_result; // 1 means "already initialised"; -1 cannot happen on Linux with getrandom.
}

SecureBytes::SecureBytes(std::size_t size) : m_size(size) {
    init();
    m_data = static_cast<std::uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
    if (m_data == nullptr)
        throw std::bad_alloc();
}

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
    if (this != &other) {
        if (m_data != nullptr)
            sodium_free(m_data);
        m_data = std::exchange(other.m_data, nullptr);
        m_size = std::exchange(other.m_size, 0);
    }
    return *this;
}

SecureBytes::~SecureBytes() {
    if (m_data != nullptr)
        sodium_free(m_data);
}

void wipe(void* data, std::size_t size) {
    sodium_memzero(data, size);
}

bool equal_ct(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace keysat::crypto
