#pragma once
// IP addresses and CIDR ranges as the server compares them: trusted proxies, rate-limit
// buckets, and (later) the outbound policy. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are
// IPv4 addresses.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keysat/util/error.hpp"

namespace keysat::net {

struct Address {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{}; // IPv4: the first four
};

// A numeric address in its usual text (no host names, no zone); an IPv4-mapped IPv6 address is
// the IPv4 one. nullopt for anything else.
std::optional<Address> parse_address(std::string_view text);

// The canonical text of an address (inet_ntop's).
std::string to_string(const Address& a);

struct Cidr {
    Address base;
    int prefix = 0; // bits
};

// "10.0.0.0/8", "fd00::/8" or a single address (a /32 or /128). Host bits set below the prefix
// are an error, naming the text.
Expected<Cidr> parse_cidr(std::string_view text);

// Whether `a` lies in `range` (an IPv4 address never lies in an IPv6 range, nor the reverse).
bool contains(const Cidr& range, const Address& a);

// What rate limits count a client as: an IPv4 address, or the /64 an IPv6 address lies in (one
// subscriber usually holds a whole /64). Text that is not an address is returned as it is.
std::string rate_limit_key(std::string_view address);

} // namespace keysat::net
