#include "keysat/api/limits.hpp"

#include <algorithm>

#include "keysat/util/net.hpp"

namespace keysat::api {

namespace {
constexpr std::size_t k_max_buckets = 200000;
}

bool RateLimiter::take(const std::string& key, double per_second, double burst) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(m_mutex);
    // Drop full, idle buckets now and then so that the map does not grow without bound.
    if (++m_since_prune >= 10000 || m_buckets.size() >= k_max_buckets) {
        m_since_prune = 0;
        auto idle = m_buckets.size() >= k_max_buckets ? std::chrono::seconds(60)
                                                      : std::chrono::seconds(3600);
        std::erase_if(m_buckets, [&](const auto& kv) { return now - kv.second.updated > idle; });
        if (m_buckets.size() >= k_max_buckets)
            evict_oldest(m_buckets.size() / 4);
    }
    auto [it, fresh] = m_buckets.try_emplace(key, Bucket{burst, now});
    Bucket& b = it->second;
    if (!fresh) {
        double elapsed = std::chrono::duration<double>(now - b.updated).count();
        b.tokens = std::min(burst, b.tokens + elapsed * per_second);
        b.updated = now;
    }
    if (b.tokens < 1.0)
        return false;
    b.tokens -= 1.0;
    return true;
}

void RateLimiter::evict_oldest(std::size_t n) {
    // A flood of fresh addresses drops the buckets touched longest ago, never all of them: a
    // client still being refused keeps its bucket as long as it keeps trying.
    if (n == 0)
        return;
    if (n >= m_buckets.size()) {
        m_buckets.clear();
        return;
    }
    std::vector<std::chrono::steady_clock::time_point> times;
    times.reserve(m_buckets.size());
    for (const auto& kv : m_buckets)
        times.push_back(kv.second.updated);
    std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(n), times.end());
    // At or before the n-th oldest time: ties go together, so at least n buckets go.
    auto cutoff = times[n];
    std::erase_if(m_buckets, [&](const auto& kv) { return kv.second.updated <= cutoff; });
}

bool RateLimiter::has_token(const std::string& key, double per_second, double burst) {
    std::lock_guard lock(m_mutex);
    auto it = m_buckets.find(key);
    if (it == m_buckets.end())
        return true;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.updated)
            .count();
    return std::min(burst, it->second.tokens + elapsed * per_second) >= 1.0;
}

std::string client_address(const http::Request& req, const std::vector<std::string>& trusted) {
    auto is_trusted = [&](const std::string& text) {
        auto a = net::parse_address(text);
        if (!a)
            return false;
        for (const auto& t : trusted) // addresses or CIDR ranges, checked at start-up
            if (auto range = net::parse_cidr(t); range && net::contains(*range, *a))
                return true;
        return false;
    };
    // One spelling per client: ::ffff:192.0.2.1 is 192.0.2.1, and a port some proxies append
    // ("203.0.113.7:5123", "[2001:db8::1]:443") is dropped, so that no client gets a bucket per
    // source port.
    auto normal = [](std::string text) {
        if (text.starts_with('[')) {
            if (auto close = text.find(']'); close != std::string::npos)
                text = text.substr(1, close - 1);
        } else if (std::count(text.begin(), text.end(), ':') == 1) {
            text.erase(text.find(':'));
        }
        auto a = net::parse_address(text);
        return a ? net::to_string(*a) : text;
    };
    if (!is_trusted(req.remote_addr))
        return normal(req.remote_addr);
    std::string forwarded = req.header("x-forwarded-for");
    // Walk from the right: each trusted proxy appended the address it received from.
    std::string result = normal(req.remote_addr);
    std::size_t end = forwarded.size();
    while (end > 0) {
        std::size_t comma = forwarded.rfind(',', end - 1);
        std::size_t start = comma == std::string::npos ? 0 : comma + 1;
        std::string hop = forwarded.substr(start, end - start);
        hop.erase(0, hop.find_first_not_of(" \t"));
        hop.erase(hop.find_last_not_of(" \t") + 1);
        if (hop.empty())
            break;
        result = normal(hop);
        if (!is_trusted(hop))
            break;
        if (comma == std::string::npos)
            break;
        end = comma;
    }
    return result;
}

} // namespace keysat::api
