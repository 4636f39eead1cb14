#include "keysat/crypto/hash.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "keysat/crypto/secure.hpp"

namespace keysat::crypto {

namespace {

// OpenSSL set up without reading the system's openssl.cnf: what a digest gives must not depend
// on the machine's configuration (nor may a configured module be loaded), and keysat-verify,
// built statically, loads no modules at all. Before any other OpenSSL call.
void openssl_ready() {
    static const bool k_ready = OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr) == 1;
    (void)k_ready;
}

} // namespace

Sha256 sha256(ByteView data) {
    init();
    Sha256 out;
    crypto_hash_sha256(out.data(), data.data(), data.size());
    return out;
}

std::array<std::uint8_t, 20> sha1(ByteView data) {
    // Fetched once: OpenSSL 3's one-shot SHA1() looks the algorithm up on every call, which
    // showed in bulk issuance profiles.
    openssl_ready();
    static EVP_MD* const k_sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    std::array<std::uint8_t, 20> out;
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &len, k_sha1, nullptr);
    return out;
}

std::array<std::uint8_t, 32> blake2b_256(ByteView data) {
    init();
    std::array<std::uint8_t, 32> out;
    crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
    return out;
}

struct Blake2b512Stream::Impl {
    EVP_MD_CTX* ctx = (openssl_ready(), EVP_MD_CTX_new());
    ~Impl() { EVP_MD_CTX_free(ctx); }
};

Blake2b512Stream::Blake2b512Stream() : m_impl(std::make_unique<Impl>()) {
    static EVP_MD* const k_blake2b512 = EVP_MD_fetch(nullptr, "BLAKE2B-512", nullptr);
    EVP_DigestInit_ex(m_impl->ctx, k_blake2b512, nullptr);
}

Blake2b512Stream::~Blake2b512Stream() = default;

void Blake2b512Stream::update(ByteView data) {
    EVP_DigestUpdate(m_impl->ctx, data.data(), data.size());
}

Blake2b512 Blake2b512Stream::finish() {
    Blake2b512 out;
    unsigned len = 0;
    EVP_DigestFinal_ex(m_impl->ctx, out.data(), &len);
    return out;
}

namespace {

// Files below this size are hashed with libsodium: OpenSSL's BLAKE2b runs about twice as fast,
// but its first use costs a provider lookup that dominates a small check (keysat-verify file on a
// few bytes would otherwise start slower than minisign). Both give the same digest.
constexpr off_t k_openssl_from = 4 << 20;

// libsodium's BLAKE2b-512 over the rest of `fd`.
Expected<Blake2b512> blake2b_512_sodium(int fd, const std::filesystem::path& path) {
    init();
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, crypto_generichash_BYTES_MAX);
    // Not zeroed: a small check touches only the pages read() fills (every page costs a fault).
    constexpr std::size_t k_chunk = 1 << 16;
    auto buf = std::make_unique_for_overwrite<std::uint8_t[]>(k_chunk);
    for (;;) {
        ssize_t n = ::read(fd, buf.get(), k_chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return usage_error(
                fmt::format("{}: read failed: {}", path.string(), std::strerror(errno)));
        if (n == 0)
            break;
        crypto_generichash_update(&st, buf.get(), static_cast<std::size_t>(n));
    }
    Blake2b512 out;
    crypto_generichash_final(&st, out.data(), out.size());
    return out;
}

} // namespace

Expected<Blake2b512> blake2b_512_file(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return usage_error(fmt::format("{}: {}", path.string(), std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < k_openssl_from) {
        auto digest = blake2b_512_sodium(fd, path);
        ::close(fd);
        return digest;
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    Blake2b512Stream h;
    std::vector<std::uint8_t> buf(1 << 20);
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            ::close(fd);
            return usage_error(fmt::format("{}: read failed: {}", path.string(), std::strerror(e)));
        }
        if (n == 0)
            break;
        h.update({buf.data(), static_cast<std::size_t>(n)});
    }
    ::close(fd);
    return h.finish();
}

Expected<Sha256> sha256_fd(int fd) {
    return sha256_fd(fd, [] { return true; });
}

Expected<Sha256> sha256_fd(int fd, const std::function<bool()>& keep_going) {
    openssl_ready();
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
        return usage_error("SHA-256 unavailable");
    std::vector<std::uint8_t> buf(1 << 20);
    off_t offset = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return usage_error(fmt::format("read failed: {}", std::strerror(errno)));
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
        offset += n;
        if (!keep_going())
            return usage_error("cancelled");
    }
    Sha256 out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
    return out;
}

} // namespace keysat::crypto

namespace keysat::crypto {

std::array<std::uint8_t, 32> hmac_sha256(ByteView key, ByteView message) {
    init();
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key.data(), key.size());
    crypto_auth_hmacsha256_update(&st, message.data(), message.size());
    std::array<std::uint8_t, 32> out;
    crypto_auth_hmacsha256_final(&st, out.data());
    return out;
}

} // namespace keysat::crypto
