// The proration formula of service/tier_changes.hpp with exact figures.

#include <catch2/catch.hpp>

#include <limits>

#include "keysat/service/tier_changes.hpp"

using keysat::service::prorated_charge;

namespace {
constexpr std::int64_t k_day = 86400;
}

TEST_CASE("prorating a move between tiers of equal periods counts started days and rounds the "
          "amount down",
          "[tiers]") {
    // 10,000 -> 25,000 sats per 30 days: 500 sats a day.
    CHECK(prorated_charge(10000, 30, 25000, 30, 30 * k_day) == 15000); // the whole period
    CHECK(prorated_charge(10000, 30, 25000, 30, 15 * k_day) == 7500);  // a day boundary
    CHECK(prorated_charge(10000, 30, 25000, 30, 15 * k_day - 1) == 7500);
    CHECK(prorated_charge(10000, 30, 25000, 30, 15 * k_day + 1) == 8000); // a 16th day began
    CHECK(prorated_charge(10000, 30, 25000, 30, 1) == 500);               // the last second
    CHECK(prorated_charge(10000, 30, 25000, 30, 0) == 0);                 // the period is over
    CHECK(prorated_charge(10000, 30, 25000, 30, -5) == 0);
    // A plan paid ahead: the rest of what was paid, 45 days of it.
    CHECK(prorated_charge(10000, 30, 25000, 30, 45 * k_day) == 22500);
    // Rounding down: 1,000 -> 1,001 over 30 days, 29 days left: 29/30 of a sat is 0.
    CHECK(prorated_charge(1000, 30, 1001, 30, 29 * k_day) == 0);
    CHECK(prorated_charge(1000, 30, 1031, 30, 29 * k_day) == 29);
    // A cheaper target costs nothing now.
    CHECK(prorated_charge(25000, 30, 10000, 30, 10 * k_day) == 0);
    // Cents work the same: $9.99 -> $24.99 a month, 10 days left: 1500 x 10 / 30 = 500.
    CHECK(prorated_charge(999, 30, 2499, 30, 10 * k_day) == 500);
}

TEST_CASE("prorating between periods of different lengths compares the rest of the period at "
          "both daily rates",
          "[tiers]") {
    // Yearly 100,000 -> monthly 25,000, 20 days left of the year:
    // floor(20 x (25000 x 365 - 100000 x 30) / (365 x 30)) = floor(122,500,000 / 10,950) = 11187.
    CHECK(prorated_charge(100000, 365, 25000, 30, 20 * k_day) == 11187);
    // Monthly 10,000 -> yearly 100,000 is cheaper per day: nothing now.
    CHECK(prorated_charge(10000, 30, 100000, 365, 10 * k_day) == 0);
    // Monthly 10,000 -> yearly 200,000 (547.9 a day vs 333.3), 10 days left:
    // floor(10 x (200000 x 30 - 10000 x 365) / (30 x 365)) = floor(23,500,000 / 10,950) = 2146.
    CHECK(prorated_charge(10000, 30, 200000, 365, 10 * k_day) == 2146);
}

TEST_CASE("prorating the largest prices does not overflow", "[tiers]") {
    constexpr std::int64_t k_max_price = 2100000000000000; // 21 million BTC in sats
    CHECK(prorated_charge(0, 1830, k_max_price, 1830, 1830 * k_day) == k_max_price);
    CHECK(prorated_charge(0, 1, k_max_price, 1830, k_day) == k_max_price / 1830);
    CHECK(prorated_charge(0, 1830, k_max_price, 1, 1830 * k_day) == k_max_price * 1830);
    // Beyond what int64 holds (no real price is): the largest amount, never a wrapped one.
    CHECK(prorated_charge(0, 1830, std::numeric_limits<std::int64_t>::max(), 1, 1830 * k_day) ==
          std::numeric_limits<std::int64_t>::max());
    CHECK(prorated_charge(0, 30, std::numeric_limits<std::int64_t>::max() / 2, 30, 30 * k_day) ==
          std::numeric_limits<std::int64_t>::max() / 2);
}
