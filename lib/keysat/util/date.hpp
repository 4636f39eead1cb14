#pragma once
// Calendar dates in UTC, parsed strictly.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keysat {

// Parses exactly "YYYY-MM-DD" (a real date, year 1970..9999) into days since 1970-01-01.
std::optional<std::int64_t> parse_date_days(std::string_view text);
// Parses a date and returns its first second (00:00:00 UTC) as unix seconds.
std::optional<std::int64_t> parse_date_unix(std::string_view text);
// Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (a fraction is dropped),
// or a bare date meaning its first second UTC, into unix seconds.
std::optional<std::int64_t> parse_timestamp(std::string_view text);
// Formats unix seconds as "YYYY-MM-DD" (UTC).
std::string format_date(std::int64_t unix_seconds);
// Formats unix seconds as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (UTC).
std::string format_timestamp(std::int64_t unix_seconds);

} // namespace keysat
