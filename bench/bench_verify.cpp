// Offline verification rate: verify_license_key over N distinct issued keys with a one-key
// Keyring, against raw crypto_sign_verify_detached over the same payloads, alternating rounds in
// one process. Prints both rates (best round) and their ratio. Usage: bench_verify [N] [ROUNDS]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sodium.h>

#include "keysat/issuing/issue.hpp"
#include "keysat/license/lic1.hpp"

namespace keysat {

namespace {

constexpr std::size_t k_default_count = 100000;
constexpr int k_default_rounds = 3;
constexpr std::int64_t k_now = 1700000000;

// A v2 key like keysat-issue bulk makes: fixed product, distinct license id, 365 days, two
// entitlements (a 100-byte payload).
std::string issue_one(const crypto::SecretKey& key, const Uuid& product, std::size_t i) {
    issuing::LicenseRequest req;
    req.product_id = product;
    crypto::random_bytes(req.license_id.bytes);
    std::memcpy(req.license_id.bytes.data(), &i, sizeof i);
    req.issued_at = k_now;
    req.expires_at = k_now + 365 * 86400;
    req.entitlements = {"pro", "multi-device"};
    auto lic = issuing::issue_license(key, req);
    if (!lic) {
        std::fprintf(stderr, "bench_verify: %s\n", lic.error().message.c_str());
        std::exit(2);
    }
    return *lic;
}

template <typename F> double rate(std::size_t count, F&& body) {
    auto t0 = std::chrono::steady_clock::now();
    std::size_t bad = 0;
    for (std::size_t i = 0; i < count; ++i)
        bad += !body(i);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (bad != 0) {
        std::fprintf(stderr, "bench_verify: %zu of %zu did not verify\n", bad, count);
        std::exit(1);
    }
    return count / s;
}

} // namespace

int run(int argc, char** argv) {
    std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : k_default_count;
    int rounds = argc > 2 ? std::atoi(argv[2]) : k_default_rounds;
    if (sodium_init() < 0 || count == 0 || rounds <= 0)
        return 2;
    auto key = crypto::SecretKey::generate();
    license::Keyring ring{{key.public_key()}};
    Uuid product = *Uuid::parse("6f1c2a0e-8d4b-4f5e-9a7c-3b2d1e0f4a5b");
    license::LicenseCheck check{.now = k_now, .product_id = product, .fingerprint = std::nullopt};

    std::vector<std::string> keys;
    std::vector<license::DecodedLicense> decoded;
    keys.reserve(count);
    decoded.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        keys.push_back(issue_one(key, product, i));
        decoded.push_back(*license::decode_license_key(keys.back()));
    }
    const auto& pk = key.public_key().bytes;

    double best_lib = 0, best_raw = 0;
    for (int r = 0; r < rounds; ++r) {
        double raw = rate(count, [&](std::size_t i) {
            const auto& d = decoded[i];
            return crypto_sign_verify_detached(d.signature.data(), d.raw_payload.data(),
                                               d.raw_payload.size(), pk.data()) == 0;
        });
        double lib = rate(count, [&](std::size_t i) {
            return license::verify_license_key(keys[i], ring, check).has_value();
        });
        std::printf("round %d: raw_verify_per_s %.1f library_verify_per_s %.1f\n", r + 1, raw, lib);
        best_raw = std::max(best_raw, raw);
        best_lib = std::max(best_lib, lib);
    }
    std::printf("keys %zu payload_bytes %zu key_chars %zu\n", count, decoded[0].raw_payload.size(),
                keys[0].size());
    std::printf("raw_verify_per_s %.1f\nlibrary_verify_per_s %.1f\nratio %.3f\n", best_raw,
                best_lib, best_lib / best_raw);
    return 0;
}

} // namespace keysat

int main(int argc, char** argv) {
    return keysat::run(argc, argv);
}
