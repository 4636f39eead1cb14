#pragma once
// Where the server may send requests of its own (webhook deliveries, payment providers): URLs
// parsed one way for every caller, host names resolved once (the connection goes to the
// address that was checked, so a second lookup cannot rebind it), and a policy that refuses
// loopback, link-local, unspecified, multicast and reserved addresses and the server's own
// listening addresses, unless the operator allows an exact range.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysat/util/error.hpp"
#include "keysat/util/net.hpp"

namespace keysat::http {

struct Url {
    std::string scheme;   // http or https
    std::string host;     // a name or a numeric address, without IPv6 brackets
    int port = 0;         // explicit, or the scheme's
    std::string target;   // path and query, at least "/"; the fragment is dropped
    std::string userinfo; // "user:password" before '@', percent-decoding left to the caller
    bool host_is_v6 = false;
    // What the Host header carries: the host (bracketed for IPv6), and the port unless default.
    std::string host_header() const;
};

// An absolute http:// or https:// URL. Errors name what is wrong (scheme, empty host, port out
// of range, spaces or control characters anywhere).
Expected<Url> parse_url(std::string_view text);

struct OutboundPolicy {
    bool deny_private = false;    // refuse 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 too
    std::vector<net::Cidr> allow; // allowed whatever else applies, loopback included
    // The server's own listening sockets (a wildcard bind lists every interface address):
    // refused even when an allow range covers them.
    std::vector<std::pair<net::Address, int>> own;
};

// Why the policy refuses `address`:`port`, or nullopt when it may be connected to.
std::optional<std::string> refusal(const OutboundPolicy& policy, const net::Address& address,
                                   int port);

// The addresses of this host's interfaces (getifaddrs), for a wildcard listener's `own` list.
std::vector<net::Address> interface_addresses();

// Resolves `host` (a name, or a number in any spelling the resolver accepts: 127.1, 0x7f000001,
// 2130706433) within `timeout`. Errors: the name does not resolve, or no answer in time (the
// message then contains "timed out").
Expected<std::vector<net::Address>> resolve(const std::string& host,
                                            std::chrono::milliseconds timeout);

// Checks a URL against the policy: resolves its host and requires every address to be allowed
// (a name that mixes a public and a loopback address is refused). Returns the address to
// connect to. Errors carry the category "refused" in their code when the policy refused, and
// name the host and the address.
struct Vetted {
    Url url;
    net::Address address;
};
Expected<Vetted> vet(const OutboundPolicy& policy, std::string_view url,
                     std::chrono::milliseconds resolve_timeout);

// True when an error from vet() is the policy's refusal (not a failed lookup).
bool is_refusal(const Error& e);

} // namespace keysat::http
