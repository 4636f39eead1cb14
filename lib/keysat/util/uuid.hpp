#pragma once
// UUIDs as 16 bytes in RFC 4122 byte order; text form is lower-case 8-4-4-4-12.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keysat {

struct Uuid {
    std::array<std::uint8_t, 16> bytes{};

    // Parses the canonical 36-character form (either case); nullopt otherwise.
    static std::optional<Uuid> parse(std::string_view text);
    // Lower-case canonical text.
    std::string to_string() const;

    auto operator<=>(const Uuid&) const = default;
};

} // namespace keysat
