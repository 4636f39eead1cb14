#pragma once
// Repository of the operator console's sessions (migration 0008): created at sign-in, found and
// touched at each request while neither idle too long nor past their end, deleted at sign-out,
// when the password changes (every master session) and when an API key is revoked (its own).

#include <cstdint>
#include <optional>
#include <string>

#include "keysat/db/database.hpp"

namespace keysat::store {

struct SessionRow {
    std::string id_sha256;  // hex SHA-256 of the cookie's session id
    std::string actor_kind; // master, api_key
    std::string actor_id;   // "master", or the API key's id
    std::string csrf_token;
    std::int64_t created_at = 0;
    std::int64_t last_seen_at = 0;
    std::int64_t expires_at = 0;
    std::optional<std::string> ip;
    std::optional<std::string> user_agent;
};

class SessionStore {
  public:
    explicit SessionStore(db::Database& db) : m_db(&db) {}

    Expected<void> create(const SessionRow& s);
    // The session, when it is neither past its end nor idle for `idle_seconds` or more; its
    // last_seen_at becomes `now` when a minute or more older. A session found stale is deleted.
    Expected<std::optional<SessionRow>> use(const std::string& id_sha256, std::int64_t now,
                                            std::int64_t idle_seconds);
    // Sign-out: true when there was such a session.
    Expected<bool> remove(const std::string& id_sha256);
    // Every session of one actor (all master sessions when the password changes; a key's when it
    // is revoked); how many.
    Expected<std::int64_t> remove_for(const std::string& actor_kind, const std::string& actor_id);
    // Sessions past their end or idle for `idle_seconds`; how many.
    Expected<std::int64_t> remove_stale(std::int64_t now, std::int64_t idle_seconds);

  private:
    db::Database* m_db;
};

} // namespace keysat::store
