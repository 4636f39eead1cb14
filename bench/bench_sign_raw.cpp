// Raw libsodium rates: N crypto_sign_detached and N crypto_sign_verify_detached calls on
// distinct 100-byte messages (the size of a LIC1 payload), median of R rounds. Prints
// "sign_per_s X" and "verify_per_s Y". Usage: bench_sign_raw [N] [R]

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sodium.h>

namespace {

constexpr std::size_t k_message_size = 100;
constexpr std::size_t k_default_count = 100000;
constexpr int k_default_rounds = 3;

using Message = std::array<std::uint8_t, k_message_size>;
using Sig = std::array<std::uint8_t, crypto_sign_BYTES>;

// Calls `body(i)` for i in [0, count) and returns calls per second.
template <typename F> double rate(std::size_t count, F&& body) {
    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < count; ++i)
        body(i);
    return count / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : k_default_count;
    int rounds = argc > 2 ? std::atoi(argv[2]) : k_default_rounds;
    if (sodium_init() < 0 || count == 0 || rounds <= 0)
        return 2;
    std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk;
    std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk;
    crypto_sign_keypair(pk.data(), sk.data());
    std::vector<Message> messages(count);
    for (std::size_t i = 0; i < count; ++i) {
        randombytes_buf(messages[i].data(), k_message_size);
        std::memcpy(messages[i].data(), &i, sizeof i);
    }
    std::vector<Sig> sigs(count);

    std::vector<double> sign_rates, verify_rates;
    std::size_t bad = 0;
    for (int r = 0; r < rounds; ++r) {
        sign_rates.push_back(rate(count, [&](std::size_t i) {
            crypto_sign_detached(sigs[i].data(), nullptr, messages[i].data(), k_message_size,
                                 sk.data());
        }));
        verify_rates.push_back(rate(count, [&](std::size_t i) {
            bad += crypto_sign_verify_detached(sigs[i].data(), messages[i].data(), k_message_size,
                                               pk.data()) != 0;
        }));
    }
    if (bad != 0) {
        std::fprintf(stderr, "bench_sign_raw: %zu signatures did not verify\n", bad);
        return 1;
    }
    std::printf("sign_per_s %.1f\nverify_per_s %.1f\n", median(sign_rates), median(verify_rates));
    return 0;
}
