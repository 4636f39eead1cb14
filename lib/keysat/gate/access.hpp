#pragma once
// The release gate's decision for a gated download: which token, checked how, answered with
// which status and error word (http-api.md, "Release gate"; the seed's words).

#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "keysat/gate/revocations.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/license/token.hpp"
#include "keysat/util/error.hpp"

namespace keysat::gate {

// What the database knows about a LIC1 key's product and license.
struct LicenseFacts {
    std::optional<std::string> product_slug; // nullopt: no product with the key's product id
    bool license_known = false;              // the license row exists
    std::string status = "active";           // active, suspended, revoked
    std::optional<std::int64_t> expires_at;  // the row's expiry (nullopt: perpetual)
    std::int64_t grace_days = 0;
};

// Looks up (product id, license id) as UUID text; an error refuses the download.
using LicenseLookup = std::function<Expected<LicenseFacts>(const std::string& product_id,
                                                           const std::string& license_id)>;

struct AccessRequest {
    std::string_view token; // exactly as transmitted; empty: none given
    std::string_view product;
    std::string_view version;
    std::int64_t now = 0;
};

struct Decision {
    int status = 200;
    std::string error; // the seed's word; empty when allowed
    std::string message;

    bool allowed() const { return status == 200; }
};

// Download tokens whose signature verified, by their exact text, with their decoded payload.
// Safe to reuse: the text determines the payload and the signature, and the trusted keys do not
// change while the server runs. Only signed tokens get in, so nobody can fill it with garbage;
// bounded (a full cache starts over); thread-safe.
class VerifiedTokens {
  public:
    explicit VerifiedTokens(std::size_t capacity = 10000) : m_capacity(capacity) {}
    std::optional<license::DecodedToken> find(const std::string& token) const;
    void insert(const std::string& token, const license::DecodedToken& decoded);

  private:
    std::size_t m_capacity;
    mutable std::shared_mutex m_mutex;
    std::unordered_map<std::string, license::DecodedToken> m_entries;
};

// The token of a request: `Authorization: Bearer <t>` first, else the `token` query value.
std::string request_token(std::string_view authorization, const std::optional<std::string>& query);

// Decides a gated download. Order: no trusted key 503; no token 401 missing-token; then for a
// download token: bad encoding 401 malformed-token, 64 bytes or fewer 401 token-too-short, no
// trusted key's signature 401 invalid-signature, unreadable payload 401 invalid-payload, another
// product 403 wrong-product, past the end of channel_expiry's UTC day 403 channel-expired, below
// version_floor 403 version-below-floor, listed 403 token-revoked. For a LIC1 key: malformed
// 401 malformed-token, bad signature 401 invalid-signature, product id unknown or another
// product 403 wrong-product, listed or the license revoked or suspended 403 token-revoked,
// expired (the row's expiry plus grace when the database knows it, else the key's) 403
// channel-expired.
// `verified` (optional) skips the signature check and the payload parse of a token seen before;
// product, expiry, floor and revocation are checked every time.
Decision check_access(const AccessRequest& req, const license::Keyring& ring,
                      const RevocationList& revoked, const LicenseLookup& lookup,
                      VerifiedTokens* verified = nullptr);

} // namespace keysat::gate
