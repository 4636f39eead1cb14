#include "keysat/util/uuid.hpp"

#include "keysat/util/encoding.hpp"

namespace keysat {

std::optional<Uuid> Uuid::parse(std::string_view text) {
    if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
        text[23] != '-')
        return std::nullopt;
    std::string digits;
    digits.reserve(32);
    for (std::size_t i = 0; i < text.size(); ++i)
        if (i != 8 && i != 13 && i != 18 && i != 23)
            digits += text[i];
    auto raw = hex_decode(digits);
    if (!raw)
        return std::nullopt;
    Uuid u;
    std::copy(raw->begin(), raw->end(), u.bytes.begin());
    return u;
}

std::string Uuid::to_string() const {
    std::string hex = hex_encode(bytes);
    return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
           hex.substr(16, 4) + '-' + hex.substr(20);
}

} // namespace keysat
