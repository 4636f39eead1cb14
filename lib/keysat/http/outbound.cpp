#include "keysat/http/outbound.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <condition_variable>
#include <ifaddrs.h>
#include <memory>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>

#include <fmt/format.h>

namespace keysat::http {

namespace {

constexpr std::string_view k_refused = "refused: ";

net::Cidr cidr(std::string_view text) {
    return *net::parse_cidr(text); // constants below, all valid
}

// Ranges never connected to unless allowed, with the word used in the refusal.
const std::vector<std::pair<net::Cidr, std::string_view>>& forbidden_ranges() {
    static const std::vector<std::pair<net::Cidr, std::string_view>> k = {
        {cidr("127.0.0.0/8"), "loopback"},
        {cidr("::1/128"), "loopback"},
        {cidr("0.0.0.0/8"), "unspecified"},
        {cidr("::/128"), "unspecified"},
        {cidr("169.254.0.0/16"), "link-local"},
        {cidr("fe80::/10"), "link-local"},
        {cidr("224.0.0.0/4"), "multicast"},
        {cidr("ff00::/8"), "multicast"},
        {cidr("240.0.0.0/4"), "reserved"},    // and 255.255.255.255
        {cidr("::/96"), "reserved"},          // IPv4-compatible (::127.0.0.1)
        {cidr("64:ff9b::/96"), "reserved"},   // NAT64: may embed any IPv4 address
        {cidr("2002::/16"), "reserved"},      // 6to4: may embed any IPv4 address
        {cidr("2001::/32"), "reserved"},      // Teredo: may embed any IPv4 address
        {cidr("64:ff9b:1::/48"), "reserved"}, // local NAT64
        {cidr("192.0.0.0/24"), "reserved"},   // IETF protocol assignments
        {cidr("198.18.0.0/15"), "reserved"},  // benchmarking
        // Cloud metadata services inside ranges allowed otherwise.
        {cidr("100.100.100.200/32"), "cloud metadata"},
        {cidr("fd00:ec2::254/128"), "cloud metadata"},
    };
    return k;
}

const std::vector<net::Cidr>& private_ranges() {
    static const std::vector<net::Cidr> k = {cidr("10.0.0.0/8"), cidr("172.16.0.0/12"),
                                             cidr("192.168.0.0/16"), cidr("100.64.0.0/10"),
                                             cidr("fc00::/7")};
    return k;
}

bool same_address(const net::Address& a, const net::Address& b) {
    return a.v6 == b.v6 && a.bytes == b.bytes;
}

} // namespace

std::string Url::host_header() const {
    std::string h = host_is_v6 ? "[" + host + "]" : host;
    bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
    return default_port ? h : fmt::format("{}:{}", h, port);
}

Expected<Url> parse_url(std::string_view text) {
    for (unsigned char c : text)
        if (c <= 0x20 || c == 0x7f)
            return invalid("the URL must not contain spaces or control characters");
    Url u;
    auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos)
        return invalid("the URL must start with http:// or https://");
    u.scheme = std::string(text.substr(0, scheme_end));
    for (auto& c : u.scheme)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (u.scheme != "http" && u.scheme != "https")
        return invalid("the URL must start with http:// or https://");
    auto rest = text.substr(scheme_end + 3);
    auto authority_end = rest.find_first_of("/?#");
    auto authority = rest.substr(0, authority_end);
    auto tail =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    tail = tail.substr(0, tail.find('#'));
    u.target = tail.empty() || tail[0] != '/' ? "/" + std::string(tail) : std::string(tail);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
        u.userinfo = std::string(authority.substr(0, at));
        authority = authority.substr(at + 1);
    }
    std::string_view port_text;
    if (authority.starts_with('[')) {
        auto close = authority.find(']');
        if (close == std::string_view::npos)
            return invalid("the URL's IPv6 address has no closing ']'");
        u.host = std::string(authority.substr(1, close - 1));
        u.host_is_v6 = true;
        auto after = authority.substr(close + 1);
        if (!after.empty() && after[0] != ':')
            return invalid("the URL has text after its IPv6 address");
        if (!after.empty())
            port_text = after.substr(1);
        auto a = net::parse_address(u.host);
        if (!a || u.host.find('%') != std::string::npos)
            return invalid(fmt::format("'{}' is not an IPv6 address", u.host));
    } else {
        auto colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos)
            port_text = authority.substr(colon + 1);
        if (u.host.find_first_of("[]:") != std::string::npos)
            return invalid("the URL's host is not a name or an address");
    }
    if (u.host.empty())
        return invalid("the URL has no host");
    if (authority.find(':') != std::string_view::npos && !u.host_is_v6 && port_text.empty())
        return invalid("the URL's port is empty");
    u.port = u.scheme == "https" ? 443 : 80;
    if (!port_text.empty()) {
        auto [p, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), u.port);
        if (ec != std::errc() || p != port_text.data() + port_text.size() || u.port < 1 ||
            u.port > 65535)
            return invalid(fmt::format("the URL's port '{}' is not 1 to 65535", port_text));
    }
    return u;
}

std::optional<std::string> refusal(const OutboundPolicy& policy, const net::Address& address,
                                   int port) {
    std::string text = net::to_string(address);
    for (const auto& [a, p] : policy.own)
        if (p == port && same_address(a, address))
            return fmt::format("{} port {} is this server's own listening address", text, port);
    for (const auto& range : policy.allow)
        if (net::contains(range, address))
            return std::nullopt;
    for (const auto& [range, word] : forbidden_ranges())
        if (net::contains(range, address))
            return fmt::format("{} is a {} address", text, word);
    if (policy.deny_private)
        for (const auto& range : private_ranges())
            if (net::contains(range, address))
                return fmt::format("{} is a private address (webhook_deny_private is set)", text);
    return std::nullopt;
}

std::vector<net::Address> interface_addresses() {
    std::vector<net::Address> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0)
        return out;
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr)
            continue;
        net::Address a;
        if (i->ifa_addr->sa_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            std::memcpy(a.bytes.data(), &in->sin_addr, 4);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            std::memcpy(a.bytes.data(), &in6->sin6_addr, 16);
            a.v6 = true;
        } else {
            continue;
        }
        out.push_back(a);
    }
    ::freeifaddrs(list);
    return out;
}

Expected<std::vector<net::Address>> resolve(const std::string& host,
                                            std::chrono::milliseconds timeout) {
    // getaddrinfo cannot be interrupted: it runs on a thread of its own, which finishes alone
    // when the answer comes after the caller stopped waiting.
    struct Shared {
        std::mutex mutex;
        std::condition_variable done_cv;
        bool done = false;
        int rc = 0;
        std::vector<net::Address> addresses;
    };
    auto shared = std::make_shared<Shared>();
    std::thread([shared, host] {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
        std::vector<net::Address> found;
        for (auto* r = res; rc == 0 && r != nullptr; r = r->ai_next) {
            char buf[INET6_ADDRSTRLEN] = {};
            if (r->ai_family == AF_INET)
                ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(r->ai_addr)->sin_addr, buf,
                            sizeof buf);
            else if (r->ai_family == AF_INET6)
                ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(r->ai_addr)->sin6_addr, buf,
                            sizeof buf);
            if (auto a = net::parse_address(buf))
                found.push_back(*a);
        }
        if (res != nullptr)
            ::freeaddrinfo(res);
        std::lock_guard lock(shared->mutex);
        shared->rc = rc;
        shared->addresses = std::move(found);
        shared->done = true;
        shared->done_cv.notify_all();
    }).detach();
    std::unique_lock lock(shared->mutex);
    if (!shared->done_cv.wait_for(lock, timeout, [&] { return shared->done; }))
        return usage_error(fmt::format("looking up '{}' timed out", host));
    if (shared->rc != 0)
        return usage_error(
            fmt::format("'{}' does not resolve: {}", host, ::gai_strerror(shared->rc)));
    if (shared->addresses.empty())
        return usage_error(fmt::format("'{}' has no IPv4 or IPv6 address", host));
    return std::move(shared->addresses);
}

Expected<Vetted> vet(const OutboundPolicy& policy, std::string_view text,
                     std::chrono::milliseconds resolve_timeout) {
    KEYSAT_TRY_ASSIGN(url, parse_url(text));
    std::vector<net::Address> addresses;
    if (auto literal = net::parse_address(url.host)) {
        addresses.push_back(*literal);
    } else {
        KEYSAT_TRY_ASSIGN(found, resolve(url.host, resolve_timeout));
        addresses = std::move(found);
    }
    for (const auto& a : addresses)
        if (auto why = refusal(policy, a, url.port))
            return invalid(fmt::format("{}{} ({}; webhook_allow lists exceptions)", k_refused,
                                       url.host, *why));
    return Vetted{std::move(url), addresses.front()};
}

bool is_refusal(const Error& e) {
    return e.message.starts_with(k_refused);
}

} // namespace keysat::http
