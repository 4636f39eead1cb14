// Memory of validate's caches per entry, for the bound stated in keysat.toml(5): fills a
// VerifiedKeyCache with N real decoded keys (100-byte payloads, as keysat-issue bulk makes) and
// a ValidationCache with N license rows as the database gives them (key text, ids, buyer email,
// entitlements) and N machines, measuring the heap in use (mallinfo2) before and after each.
// Then evicts: N more of each into caches of capacity N, checking that the heap stays where it
// was (the bound holds under churn). Usage: bench_caches [N]   (default 100000)

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sodium.h>

#include "keysat/issuing/issue.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/service/validation.hpp"

namespace keysat {

namespace {

std::size_t heap() {
    malloc_trim(0);
    return mallinfo2().uordblks;
}

std::string uuid_text(std::size_t i) {
    char out[40];
    std::snprintf(out, sizeof out, "6f1c2a0e-8d4b-4f5e-9a7c-%012zx", i);
    return out;
}

} // namespace

int run(int argc, char** argv) {
    std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
    if (sodium_init() < 0 || n == 0)
        return 2;
    auto key = crypto::SecretKey::generate();
    Uuid product = *Uuid::parse("6f1c2a0e-8d4b-4f5e-9a7c-3b2d1e0f4a5b");
    auto issue = [&](std::size_t i) {
        issuing::LicenseRequest req;
        req.product_id = product;
        crypto::random_bytes(req.license_id.bytes);
        std::memcpy(req.license_id.bytes.data(), &i, sizeof i);
        req.issued_at = 1700000000;
        req.expires_at = 1700000000 + 365 * 86400;
        req.entitlements = {"pro", "multi-device"};
        return *issuing::issue_license(key, req);
    };
    auto fill = [&](std::size_t from, std::size_t count, service::VerifiedKeyCache& keys,
                    service::ValidationCache& rows) {
        for (std::size_t i = from; i < from + count; ++i) {
            std::string text = issue(i);
            keys.insert(text, *license::decode_license_key(text));
            auto e = std::make_shared<service::ValidationCache::License>();
            e->row.id = uuid_text(i);
            e->row.product_id = product.to_string();
            e->row.buyer_email = "customer" + std::to_string(i) + "@example.com";
            e->row.issued_at = 1700000000;
            e->row.expires_at = 1700000000 + 365 * 86400;
            e->row.max_machines = 2;
            e->row.entitlements_json = R"(["pro","multi-device"])";
            e->row.license_key = text;
            e->row.signing_key_id = "0123456789abcdef";
            e->product_slug = "bench";
            rows.put_license(rows.generation(), e);
            rows.put_machine(rows.generation(), e->row.id, std::string(64, 'f'), uuid_text(i + n));
        }
    };
    std::size_t h0 = heap();
    service::VerifiedKeyCache keys(n);
    service::ValidationCache rows(std::chrono::minutes(10), n);
    fill(0, n, keys, rows);
    std::size_t h1 = heap();
    double per = static_cast<double>(h1 - h0) / static_cast<double>(n);
    std::printf("%zu entries in each cache: %.1f MiB of heap, %.0f bytes per license "
                "(verified key + license row + one machine)\n",
                n, (h1 - h0) / 1048576.0, per);
    fill(n, n, keys, rows); // as many again: every insert evicts one
    std::size_t h2 = heap();
    std::printf("after %zu more (each evicting one): %.1f MiB of heap (%+.1f %%); sizes %zu keys, "
                "%zu licenses, %zu machines\n",
                n, (h2 - h0) / 1048576.0, 100.0 * (double(h2) - double(h1)) / double(h1 - h0),
                keys.size(), rows.licenses(), rows.machines());
    std::printf("bound at cache_entries = 100000: %.0f MiB; at 1,000,000: %.0f MiB\n",
                per * 100000 / 1048576.0, per * 1000000 / 1048576.0);
    return 0;
}

} // namespace keysat

int main(int argc, char** argv) {
    return keysat::run(argc, argv);
}
