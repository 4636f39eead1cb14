#pragma once
// Request rate limits (token buckets, in memory) and the client address they key on.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "keysat/http/server.hpp"

namespace keysat::api {

// Token buckets keyed by text (e.g. "validate:203.0.113.9"). Thread-safe. Buckets live in
// memory: limits reset on restart, which keeps every check off the database.
class RateLimiter {
  public:
    // Takes one token from `key`'s bucket (refilling `per_second` up to `burst`); false when
    // the bucket is empty.
    bool take(const std::string& key, double per_second, double burst);
    // Whether `key`'s bucket holds a token now, without taking it.
    bool has_token(const std::string& key, double per_second, double burst);

  private:
    // Drops the `n` buckets touched longest ago (about; ties go together).
    void evict_oldest(std::size_t n);
    struct Bucket {
        double tokens;
        std::chrono::steady_clock::time_point updated;
    };
    std::mutex m_mutex;
    std::unordered_map<std::string, Bucket> m_buckets;
    std::size_t m_since_prune = 0;
};

// The client's address: the peer, unless the peer is a trusted proxy, in which case the
// right-most X-Forwarded-For entry that is not itself a trusted proxy. A client-sent header is
// never believed from an untrusted peer. `trusted` holds addresses or CIDR ranges; IPv4-mapped
// IPv6 addresses count as IPv4 ones, and the answer is in canonical form.
std::string client_address(const http::Request& req, const std::vector<std::string>& trusted);

} // namespace keysat::api
