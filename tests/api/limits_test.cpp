#include <catch2/catch.hpp>

#include "keysat/api/limits.hpp"
#include "keysat/util/net.hpp"

using namespace keysat;

TEST_CASE("token buckets: burst, then refill", "[api]") {
    api::RateLimiter limiter;
    for (int i = 0; i < 3; ++i)
        CHECK(limiter.take("k", 0.001, 3.0));
    CHECK_FALSE(limiter.has_token("k", 0.001, 3.0));
    CHECK_FALSE(limiter.take("k", 0.001, 3.0));
    CHECK(limiter.take("other", 0.001, 3.0));
    api::RateLimiter fast;
    CHECK(fast.take("f", 1e9, 1.0));
    CHECK(fast.take("f", 1e9, 1.0)); // refills at once
}

TEST_CASE("X-Forwarded-For is believed only from trusted proxies", "[api]") {
    http::Request req;
    req.remote_addr = "198.51.100.7";
    req.headers["x-forwarded-for"] = "203.0.113.1";
    CHECK(api::client_address(req, {}) == "198.51.100.7");
    CHECK(api::client_address(req, {"10.0.0.1"}) == "198.51.100.7");
    req.remote_addr = "10.0.0.1";
    CHECK(api::client_address(req, {"10.0.0.1"}) == "203.0.113.1");
    // A client that prepends its own X-Forwarded-For gets the address the proxy saw.
    req.headers["x-forwarded-for"] = "1.2.3.4, 203.0.113.1";
    CHECK(api::client_address(req, {"10.0.0.1"}) == "203.0.113.1");
    // Chains of trusted proxies are walked from the right.
    req.headers["x-forwarded-for"] = "1.2.3.4, 203.0.113.1, 10.0.0.2";
    CHECK(api::client_address(req, {"10.0.0.1", "10.0.0.2"}) == "203.0.113.1");
    req.headers.erase("x-forwarded-for");
    CHECK(api::client_address(req, {"10.0.0.1"}) == "10.0.0.1");
}

TEST_CASE("addresses and CIDR ranges", "[api][net]") {
    auto a = net::parse_address("::ffff:192.0.2.1");
    REQUIRE(a);
    CHECK_FALSE(a->v6); // an IPv4-mapped address is the IPv4 one
    CHECK(net::to_string(*a) == "192.0.2.1");
    CHECK(net::to_string(*net::parse_address("2001:DB8:0:0::1")) == "2001:db8::1");
    for (const char* bad : {"", "localhost", "1.2.3", "1.2.3.4.5", "fe80::1%eth0", "::g"})
        CHECK_FALSE(net::parse_address(bad));
    auto ten = net::parse_cidr("10.0.0.0/8");
    REQUIRE(ten);
    CHECK(net::contains(*ten, *net::parse_address("10.255.0.1")));
    CHECK(net::contains(*ten, *net::parse_address("::ffff:10.1.2.3")));
    CHECK_FALSE(net::contains(*ten, *net::parse_address("11.0.0.1")));
    CHECK_FALSE(net::contains(*ten, *net::parse_address("::a00:1"))); // not an IPv4 address
    auto ula = net::parse_cidr("fd00::/8");
    REQUIRE(ula);
    CHECK(net::contains(*ula, *net::parse_address("fd12:3456::1")));
    CHECK_FALSE(net::contains(*ula, *net::parse_address("fe80::1")));
    CHECK(net::contains(*net::parse_cidr("0.0.0.0/0"), *net::parse_address("203.0.113.9")));
    CHECK(net::contains(*net::parse_cidr("198.51.100.7"), *net::parse_address("198.51.100.7")));
    for (const char* bad :
         {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "fd00::/129", "example.com/8"}) {
        INFO(bad);
        auto r = net::parse_cidr(bad);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains(bad));
    }
}

TEST_CASE("rate limits count an IPv6 client by its /64", "[api][net][security]") {
    CHECK(net::rate_limit_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64");
    CHECK(net::rate_limit_key("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64");
    CHECK(net::rate_limit_key("2001:db8:1:3::1") == "2001:db8:1:3::/64");
    CHECK(net::rate_limit_key("::ffff:203.0.113.9") == "203.0.113.9");
    CHECK(net::rate_limit_key("203.0.113.9") == "203.0.113.9");
    // One client hopping across its /64 draws on one bucket.
    api::RateLimiter limiter;
    int granted = 0;
    for (int i = 0; i < 100; ++i)
        granted += limiter.take("validate:" + net::rate_limit_key("2001:db8::" + std::to_string(i)),
                                0.001, 10.0);
    CHECK(granted == 10);
}

TEST_CASE("trusted proxies as CIDR ranges, and mapped addresses", "[api][net][security]") {
    http::Request req;
    req.remote_addr = "::ffff:10.1.2.3";
    req.headers["x-forwarded-for"] = "203.0.113.1";
    CHECK(api::client_address(req, {"10.0.0.0/8"}) == "203.0.113.1");
    CHECK(api::client_address(req, {"10.1.2.3"}) == "203.0.113.1");
    CHECK(api::client_address(req, {"192.168.0.0/16"}) == "10.1.2.3"); // canonical form
    req.remote_addr = "fd00::5";
    req.headers["x-forwarded-for"] = "::ffff:198.51.100.4, fd00::9";
    CHECK(api::client_address(req, {"fd00::/8"}) == "198.51.100.4");
    // Ports some proxies append do not give a client a bucket per source port.
    req.headers["x-forwarded-for"] = "203.0.113.7:5123";
    CHECK(api::client_address(req, {"fd00::/8"}) == "203.0.113.7");
    req.headers["x-forwarded-for"] = "[2001:db8::1]:443";
    CHECK(api::client_address(req, {"fd00::/8"}) == "2001:db8::1");
    // A trusted peer with no header is the client, in canonical form.
    req.remote_addr = "::ffff:10.1.2.3";
    req.headers.erase("x-forwarded-for");
    CHECK(api::client_address(req, {"10.0.0.0/8"}) == "10.1.2.3");
}

TEST_CASE("a flood of fresh addresses evicts the oldest buckets, not an active abuser's",
          "[api][security][slow]") {
    api::RateLimiter limiter;
    for (int i = 0; i < 3; ++i)
        limiter.take("abuser", 0.0001, 3.0);
    REQUIRE_FALSE(limiter.take("abuser", 0.0001, 3.0));
    for (int i = 0; i < 250000; ++i) {
        limiter.take("fresh:" + std::to_string(i), 0.0001, 3.0);
        if (i % 1000 == 0) // the abuser keeps trying, and keeps being refused
            CHECK_FALSE(limiter.take("abuser", 0.0001, 3.0));
    }
    CHECK_FALSE(limiter.take("abuser", 0.0001, 3.0)); // it was cleared with everyone before
}
