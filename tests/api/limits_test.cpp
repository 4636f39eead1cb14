#include <catch2/catch.hpp>

#include "keysat/api/limits.hpp"

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
