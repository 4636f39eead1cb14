#pragma once
// keysat-issue --db: records the licenses it signs in the database as it goes.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keysat/crypto/signing.hpp"
#include "keysat/db/database.hpp"
#include "keysat/issuing/ledger.hpp"
#include "keysat/store/license_store.hpp"

namespace keysat::service {

class IssueRecorder {
  public:
    // Opens the database (which must exist and be current) and records the signing key's
    // public half.
    static Expected<IssueRecorder> open(const std::filesystem::path& path,
                                        const crypto::SecretKey& key, std::int64_t now);

    // The license already recorded under an idempotency key, if any.
    Expected<std::optional<store::LicenseRow>> existing(const std::string& id_key);

    // Records a batch of licenses in one transaction: all of them or none. Returns each
    // license's outcome: inserted, unchanged (already there), or already_issued (its idempotency
    // key holds another license, which stays). A conflict fails the whole batch.
    Expected<std::vector<store::InsertOutcome>>
    record(std::size_t count, const std::function<const issuing::LedgerRecord&(std::size_t)>& at,
           std::int64_t now);

  private:
    IssueRecorder(std::unique_ptr<db::Database> db, store::LicenseStore store)
        : m_db(std::move(db)), m_store(std::move(store)) {}
    std::unique_ptr<db::Database> m_db; // heap: the store points into it
    store::LicenseStore m_store;
};

} // namespace keysat::service
