#pragma once
// Repository of scoped API keys (stored only as SHA-256), the audit log, the validation log,
// settings and rate-limit buckets: the server's access and operations bookkeeping.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::store {

struct ApiKeyRow {
    std::string id;
    std::string name;
    std::string key_sha256; // hex; the key itself is shown once and never stored
    std::string scopes_json = "[]";
    std::int64_t created_at = 0;
    std::optional<std::int64_t> last_used_at;
    std::optional<std::int64_t> revoked_at;
};

struct AuditRow {
    std::int64_t id = 0; // assigned on insert
    std::int64_t at = 0;
    std::string actor_kind;                // master, api_key, system
    std::optional<std::string> actor_id;   // the API key's id, or "master"
    std::optional<std::string> actor_hmac; // hex HMAC-SHA256 of the credential, server secret
    std::string action;                    // dotted, e.g. license.revoke
    std::optional<std::string> target;
    std::optional<std::string> request_ip;
    std::string details_json = "{}";
};

struct AuditFilter {
    std::optional<std::string> action;
    std::optional<std::string> actor_id;
    std::optional<std::string> actor_hmac;
    std::optional<std::string> target; // the row an action named
    std::optional<std::int64_t> since;
    std::optional<std::int64_t> until;
    std::int64_t limit = 100;
};

struct ValidationRow {
    std::int64_t at = 0;
    std::optional<std::string> license_id;
    std::string result;
    std::optional<std::string> fingerprint_sha256;
    std::optional<std::string> request_ip;
};

class AccessStore {
  public:
    explicit AccessStore(db::Database& db) : m_db(&db) {}

    Expected<void> create_api_key(const ApiKeyRow& k);
    // The key with this hash unless it was revoked.
    Expected<std::optional<ApiKeyRow>> find_active_api_key(const std::string& key_sha256);
    Expected<bool> revoke_api_key(const std::string& id, std::int64_t now);
    Expected<bool> touch_api_key(const std::string& id, std::int64_t now);
    // Ordered by creation time then id.
    Expected<std::vector<ApiKeyRow>> list_api_keys();

    Expected<void> append_audit(const AuditRow& a);
    // Newest first.
    Expected<std::vector<AuditRow>> list_audit(const AuditFilter& filter);

    // Appends a batch of validation results in one transaction (kept off request paths).
    Expected<void> append_validations(const std::vector<ValidationRow>& rows);
    // A license's newest validation-log rows, newest first.
    Expected<std::vector<ValidationRow>> validations_of(const std::string& license_id,
                                                        std::int64_t limit);

    Expected<std::optional<std::string>> setting(const std::string& key);
    Expected<void> set_setting(const std::string& key, const std::string& value, std::int64_t now);

    // Token bucket: refills `rate_per_s` tokens per second up to `burst`, then takes one.
    // False when the bucket is empty. Buckets live in the database so limits survive restarts.
    Expected<bool> take_token(const std::string& bucket, double rate_per_s, double burst,
                              std::int64_t now);

  private:
    db::Database* m_db;
};

} // namespace keysat::store
