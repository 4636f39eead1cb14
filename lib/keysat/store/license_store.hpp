#pragma once
// Repository of licenses and the signing keys that signed them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"
#include "keysat/util/bytes.hpp"

namespace keysat::store {

struct LicenseRow {
    std::string id;
    std::string product_id;
    std::optional<std::string> policy_id;
    std::optional<std::string> invoice_id;
    std::string status = "active";
    std::optional<std::string> buyer_email;
    std::int64_t issued_at = 0;
    std::optional<std::int64_t> expires_at; // nullopt: perpetual
    std::int64_t grace_days = 0;
    std::int64_t max_machines = 0; // 0: unlimited
    std::string entitlements_json = "[]";
    bool is_trial = false;
    std::optional<std::string> fingerprint_sha256;
    std::string license_key;
    std::string signing_key_id;
    std::optional<std::string> id_key;
    std::string source = "server"; // server, issue, ledger
    // Read only: set by the suspend and revoke operations.
    std::optional<std::string> suspension_reason;
    std::optional<std::string> revocation_reason;
};

// inserted: a new row. unchanged: the same license was there. already_issued: another license
// was recorded under the same idempotency key. conflict: the id or key is taken by other content.
enum class InsertOutcome { inserted, unchanged, already_issued, conflict };

class LicenseStore {
  public:
    // Prepares its statements once; `db` must outlive the store.
    static Expected<LicenseStore> open(db::Database& db);

    // Inserts a license unless it, or another license with its idempotency key, is there.
    Expected<InsertOutcome> insert(const LicenseRow& row, std::int64_t now);

    // The license recorded under an idempotency key.
    Expected<std::optional<LicenseRow>> find_by_id_key(const std::string& id_key);
    Expected<std::optional<LicenseRow>> find(const std::string& id);
    Expected<std::int64_t> count();

    // Status changes: suspend (active only), unsuspend (suspended only), revoke (not revoked:
    // final). True when the license changed. Reasons are kept for support.
    Expected<bool> suspend(const std::string& id, const std::string& reason, std::int64_t now);
    Expected<bool> unsuspend(const std::string& id, std::int64_t now);
    Expected<bool> revoke(const std::string& id, const std::string& reason, std::int64_t now);
    // Rewrites a license's terms and key (a renewal, a tier change): policy, expiry, grace,
    // machines, entitlements, trial flag, key and signing key, unless it is revoked. True when
    // it changed.
    Expected<bool> reissue(const LicenseRow& row, std::int64_t now);
    // Licenses of a buyer (email compared case-insensitively) or of an invoice, newest first.
    Expected<std::vector<LicenseRow>> search(const std::optional<std::string>& email,
                                             const std::optional<std::string>& invoice_id,
                                             std::int64_t limit);
    // Licenses of a product and/or in a status (either may be absent), newest first.
    Expected<std::vector<LicenseRow>> list(const std::optional<std::string>& product_id,
                                           const std::optional<std::string>& status,
                                           std::int64_t limit);

  private:
    LicenseStore(db::Database& db, db::Statement insert, db::Statement by_id,
                 db::Statement by_id_key)
        : m_db(&db), m_insert(std::move(insert)), m_by_id(std::move(by_id)),
          m_by_id_key(std::move(by_id_key)) {}
    // Reads the next row; resets the statement when done (and after the row unless reading
    // several).
    Expected<std::optional<LicenseRow>> read_one(db::Statement& stmt, bool reset_after = true);
    // Every remaining row of a bound statement.
    Expected<std::vector<LicenseRow>> read_many(db::Statement& stmt);

    db::Database* m_db;
    db::Statement m_insert;
    db::Statement m_by_id;
    db::Statement m_by_id_key;
};

struct SigningKeyRow {
    std::string key_id;
    Bytes public_key;
    std::int64_t created_at = 0;
    std::optional<std::int64_t> retired_at;
};

class SigningKeyStore {
  public:
    explicit SigningKeyStore(db::Database& db) : m_db(&db) {}
    // Records a verification key; the same id with another public key is an error.
    Expected<void> ensure(const std::string& key_id, ByteView public_key, std::int64_t now);
    // Every key, oldest first.
    Expected<std::vector<SigningKeyRow>> list();

  private:
    db::Database* m_db;
};

} // namespace keysat::store
