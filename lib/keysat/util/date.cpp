#include "keysat/util/date.hpp"

#include <chrono>
#include <cstdio>

namespace keysat {

namespace chr = std::chrono;

std::optional<std::int64_t> parse_date_days(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-')
        return std::nullopt;
    auto number = [&](std::size_t pos, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (text[i] < '0' || text[i] > '9')
                return -1;
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    int y = number(0, 4), m = number(5, 2), d = number(8, 2);
    if (y < 1970 || m < 1 || d < 1)
        return std::nullopt;
    chr::year_month_day ymd{chr::year{y}, chr::month{static_cast<unsigned>(m)},
                            chr::day{static_cast<unsigned>(d)}};
    if (!ymd.ok())
        return std::nullopt;
    return chr::sys_days{ymd}.time_since_epoch().count();
}

std::optional<std::int64_t> parse_date_unix(std::string_view text) {
    auto days = parse_date_days(text);
    if (!days)
        return std::nullopt;
    return *days * 86400;
}

std::optional<std::int64_t> parse_timestamp(std::string_view text) {
    auto day = parse_date_unix(text.substr(0, 10));
    if (!day)
        return std::nullopt;
    if (text.size() == 10)
        return day;
    auto two = [&](std::size_t pos) -> int {
        if (pos + 2 > text.size() || text[pos] < '0' || text[pos] > '9' || text[pos + 1] < '0' ||
            text[pos + 1] > '9')
            return -1;
        return (text[pos] - '0') * 10 + (text[pos + 1] - '0');
    };
    if (text.size() < 20 || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
        text[16] != ':')
        return std::nullopt;
    int h = two(11), m = two(14), sec = two(17);
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
        return std::nullopt;
    std::size_t pos = 19;
    if (text[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 9) {
            ++pos;
            ++digits;
        }
        if (digits == 0)
            return std::nullopt;
    }
    std::int64_t offset = 0;
    std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone == "z") {
        offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
        int oh = two(pos + 1), om = two(pos + 4);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return std::nullopt;
        offset = (oh * 3600 + om * 60) * (zone[0] == '+' ? 1 : -1);
    } else {
        return std::nullopt;
    }
    return *day + h * 3600 + m * 60 + sec - offset;
}

namespace {
struct Civil {
    long long year;
    unsigned month, day, hour, minute, second;
};
// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days) in 64-bit
// arithmetic: exact for every day an int64 of seconds can name, where std::chrono's year stops
// at 32767 and floor<days> times 86400 overflowed near INT64_MIN (a LIC1 key's u64 issued_at
// read as int64 by `keysat-verify inspect`; found by tests/fuzz, target lic1).
Civil civil_from_unix(std::int64_t t) {
    std::int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);                   // [0, 146096]
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               // [0, 365]
    const unsigned mp = (5 * doy + 2) / 153;                                    // [0, 11]
    const unsigned month = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<long long>(yoe) + era * 400 + (month <= 2),
            month,
            doy - (153 * mp + 2) / 5 + 1,
            static_cast<unsigned>(rem / 3600),
            static_cast<unsigned>(rem / 60 % 60),
            static_cast<unsigned>(rem % 60)};
}
} // namespace

std::string format_date(std::int64_t unix_seconds) {
    Civil c = civil_from_unix(unix_seconds);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", c.year, c.month, c.day);
    return buf;
}

std::string format_timestamp(std::int64_t unix_seconds) {
    Civil c = civil_from_unix(unix_seconds);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02uZ", c.year, c.month, c.day,
                  c.hour, c.minute, c.second);
    return buf;
}

} // namespace keysat
