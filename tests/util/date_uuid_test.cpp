#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/uuid.hpp"

using namespace keysat;

TEST_CASE("dates parse strictly", "[util]") {
    CHECK(parse_date_unix("1970-01-01") == 0);
    CHECK(parse_date_unix("2023-11-14") == 1699920000);
    CHECK(parse_date_unix("2024-02-29") == 1709164800);
    for (const char* bad : {"2023-02-29", "2024-13-01", "2024-00-10", "2024-01-32", "2024-1-01",
                            "24-01-01", "2024/01/01", "2024-01-01T00:00:00Z", " 2024-01-01",
                            "2024-01-0a", "1969-12-31", "", "+024-01-01"})
        CHECK_FALSE(parse_date_unix(bad));
}

TEST_CASE("dates and timestamps format in UTC", "[util]") {
    CHECK(format_date(1700000000) == "2023-11-14");
    CHECK(format_timestamp(1700000000) == "2023-11-14T22:13:20Z");
    CHECK(format_timestamp(0) == "1970-01-01T00:00:00Z");
}

TEST_CASE("timestamps at the ends of int64 format without overflow", "[util]") {
    // keysat-verify inspect prints a LIC1 key's u64 times as int64; near INT64_MIN the date
    // arithmetic overflowed (tests/fuzz/regressions/lic1/issued-at-near-int64-min). The
    // extremes agree with Go's time.Unix(t, 0).UTC().
    CHECK(format_timestamp(std::numeric_limits<std::int64_t>::min()) ==
          "-292277022657-01-27T08:29:52Z");
    CHECK(format_timestamp(std::numeric_limits<std::int64_t>::max()) ==
          "292277026596-12-04T15:30:07Z");
    CHECK(format_timestamp(-1) == "1969-12-31T23:59:59Z");
    CHECK(format_timestamp(-62135596800) == "0001-01-01T00:00:00Z");
    CHECK(format_timestamp(253402300799) == "9999-12-31T23:59:59Z");
    CHECK(format_date(951782400) == "2000-02-29");
    for (std::int64_t t = 0; t < 253402300800; t += 86400 * 7919 + 3607)
        CHECK(parse_timestamp(format_timestamp(t)) == t);
}

TEST_CASE("UUIDs parse and print canonically", "[util]") {
    auto u = Uuid::parse("6F46A4F6-0d2f-4a28-b6aa-3e8fbf6f28f0");
    REQUIRE(u);
    CHECK(u->to_string() == "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0");
    CHECK(u->bytes[0] == 0x6f);
    for (const char* bad :
         {"6f46a4f60d2f4a28b6aa3e8fbf6f28f0", "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f",
          "6f46a4f6-0d2f-4a28-b6aa_3e8fbf6f28f0", "g f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f"})
        CHECK_FALSE(Uuid::parse(bad));
}

TEST_CASE("UUID v5 matches RFC 4122 / Python uuid5", "[util]") {
    // uuid.uuid5(uuid.NAMESPACE_DNS, "python.org") == 886313e1-3b8a-5372-9b90-0c9aee199e5d
    auto dns = *Uuid::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    CHECK(crypto::uuid_v5(dns, "python.org").to_string() == "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

TEST_CASE("UUID v4 has version and variant bits and differs each time", "[util]") {
    auto a = crypto::uuid_v4(), b = crypto::uuid_v4();
    CHECK(a != b);
    CHECK((a.bytes[6] >> 4) == 4);
    CHECK((a.bytes[8] & 0xc0) == 0x80);
}

TEST_CASE("RFC 3339 timestamps: zones, fractions, bare dates and garbage", "[util]") {
    using keysat::parse_timestamp;
    CHECK(parse_timestamp("2026-11-22T12:00:00Z") == 1795348800);
    CHECK(parse_timestamp("2026-11-22t12:00:00z") == 1795348800);
    CHECK(parse_timestamp("2026-11-22T12:00:00.123456Z") == 1795348800);
    CHECK(parse_timestamp("2026-11-22T13:30:00+01:30") == 1795348800);
    CHECK(parse_timestamp("2026-11-22T10:00:00-02:00") == 1795348800);
    CHECK(parse_timestamp("2026-11-22") == 1795305600);
    for (const char* bad :
         {"", "2026-11-22T12:00:00", "2026-11-22T24:00:00Z", "2026-11-22T12:00Z",
          "2026-02-30T00:00:00Z", "2026-11-22T12:00:00.Z", "2026-11-22T12:00:00+0100",
          "2026-11-22 12:00:00Z", "x026-11-22", "2026-11-22T12:00:00Zjunk"}) {
        INFO(bad);
        CHECK_FALSE(parse_timestamp(bad));
    }
}
