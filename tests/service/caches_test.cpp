// The validate path's caches: bounded by their capacity, and when full they drop the least
// recently used entries (approximately), so a working set smaller than the cache survives a
// stream of one-off keys that would once have emptied it.

#include <catch2/catch.hpp>

#include <string>

#include "keysat/service/validation.hpp"

using namespace keysat;

namespace {

std::string name(const char* prefix, int i) {
    return prefix + std::to_string(i);
}

} // namespace

TEST_CASE("the verified-key cache keeps its hot keys while a stream of new keys passes through, "
          "and never holds more than its capacity",
          "[service][caches]") {
    service::VerifiedKeyCache cache(1000);
    for (int i = 0; i < 1000; ++i)
        cache.insert(name("key-", i), license::DecodedLicense{});
    REQUIRE(cache.size() == 1000);
    // The first hundred are in use; then 500 keys are seen once each.
    for (int round = 0; round < 3; ++round)
        for (int i = 0; i < 100; ++i)
            REQUIRE(cache.find(name("key-", i)) != nullptr);
    for (int i = 0; i < 500; ++i)
        cache.insert(name("once-", i), license::DecodedLicense{});
    CHECK(cache.size() == 1000);
    int hot = 0, cold = 0;
    for (int i = 0; i < 100; ++i)
        hot += cache.find(name("key-", i)) != nullptr;
    for (int i = 100; i < 1000; ++i)
        cold += cache.find(name("key-", i)) != nullptr;
    INFO("hot kept " << hot << " of 100, cold kept " << cold << " of 900");
    CHECK(hot >= 90);   // a full clear (the old bound) kept none
    CHECK(cold <= 420); // what went was mostly the unused
    // The same key twice is one entry.
    cache.insert("once-0", license::DecodedLicense{});
    CHECK(cache.size() == 1000);
}

TEST_CASE("the validation row cache bounds licenses and machines and keeps the recently used "
          "ones",
          "[service][caches]") {
    service::ValidationCache cache(std::chrono::minutes(10), 200);
    auto put = [&](const std::string& id) {
        auto e = std::make_shared<service::ValidationCache::License>();
        e->row.id = id;
        cache.put_license(cache.generation(), e);
        cache.put_machine(cache.generation(), id, "fp", "m-" + id);
    };
    for (int i = 0; i < 200; ++i)
        put(name("lic-", i));
    for (int i = 0; i < 20; ++i) {
        REQUIRE(cache.find_license(name("lic-", i)) != nullptr);
        REQUIRE(cache.find_machine(name("lic-", i), "fp") == "m-" + name("lic-", i));
    }
    for (int i = 0; i < 1000; ++i)
        put(name("new-", i));
    CHECK(cache.licenses() == 200);
    CHECK(cache.machines() == 200);
    // A stream of new entries pushes out the oldest first: the newest hundred are nearly all in.
    int newest = 0;
    for (int i = 900; i < 1000; ++i)
        newest += cache.find_license(name("new-", i)) != nullptr;
    CHECK(newest >= 90);
    // A write of this process makes every entry stale at once.
    cache.invalidate();
    CHECK(cache.find_license(name("new-", 999)) == nullptr);
    CHECK(!cache.find_machine(name("new-", 999), "fp"));
}
