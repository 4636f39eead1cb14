#include "keysat/util/net.hpp"

#include <arpa/inet.h>
#include <charconv>

#include <fmt/format.h>

namespace keysat::net {

std::optional<Address> parse_address(std::string_view text) {
    if (text.empty() || text.size() > 45)
        return std::nullopt;
    std::string s(text);
    Address a;
    if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1)
        return a;
    if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1)
        return std::nullopt;
    static constexpr std::array<std::uint8_t, 12> k_mapped = {0, 0, 0, 0, 0,    0,
                                                              0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(k_mapped.begin(), k_mapped.end(), a.bytes.begin())) {
        Address v4;
        std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
        return v4;
    }
    a.v6 = true;
    return a;
}

std::string to_string(const Address& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf);
    return buf;
}

Expected<Cidr> parse_cidr(std::string_view text) {
    auto slash = text.find('/');
    auto addr = parse_address(text.substr(0, slash));
    if (!addr)
        return usage_error(fmt::format("'{}' is not an IP address or CIDR range", text));
    int max = addr->v6 ? 128 : 32;
    int prefix = max;
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
            prefix < 0 || prefix > max)
            return usage_error(fmt::format("'{}': the prefix length must be 0 to {}", text, max));
    }
    Cidr c{*addr, prefix};
    Address masked = *addr;
    for (int bit = prefix; bit < max; ++bit)
        masked.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
    if (masked.bytes != addr->bytes)
        return usage_error(fmt::format("'{}' has bits set past its prefix (did you mean {}/{}?)",
                                       text, to_string(masked), prefix));
    return c;
}

bool contains(const Cidr& range, const Address& a) {
    if (range.base.v6 != a.v6)
        return false;
    for (int bit = 0; bit < range.prefix; ++bit) {
        std::uint8_t mask = static_cast<std::uint8_t>(0x80 >> (bit % 8));
        if ((range.base.bytes[bit / 8] & mask) != (a.bytes[bit / 8] & mask))
            return false;
    }
    return true;
}

std::string rate_limit_key(std::string_view address) {
    auto a = parse_address(address);
    if (!a)
        return std::string(address);
    if (!a->v6)
        return to_string(*a);
    std::fill(a->bytes.begin() + 8, a->bytes.end(), 0);
    return to_string(*a) + "/64";
}

} // namespace keysat::net
