#include "keysat/service/recorder.hpp"

#include <fmt/format.h>

#include "keysat/crypto/ed25519.hpp"
#include "keysat/db/open.hpp"
#include "keysat/service/ledger.hpp"

namespace keysat::service {

Expected<IssueRecorder> IssueRecorder::open(const std::filesystem::path& path,
                                            const crypto::SecretKey& key, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(opened, db::open_current(path));
    auto db = std::make_unique<db::Database>(std::move(opened));
    {
        KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(*db));
        store::SigningKeyStore keys(*db);
        KEYSAT_TRY(keys.ensure(crypto::key_id_text(key.key_id()), key.public_key().bytes, now));
        KEYSAT_TRY(tx.commit());
    }
    KEYSAT_TRY_ASSIGN(store, store::LicenseStore::open(*db));
    return IssueRecorder(std::move(db), std::move(store));
}

Expected<std::optional<store::LicenseRow>> IssueRecorder::existing(const std::string& id_key) {
    return m_store.find_by_id_key(id_key);
}

Expected<std::vector<store::InsertOutcome>>
IssueRecorder::record(std::size_t count,
                      const std::function<const issuing::LedgerRecord&(std::size_t)>& at,
                      std::int64_t now) {
    std::vector<store::InsertOutcome> outcomes;
    outcomes.reserve(count);
    KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(*m_db));
    for (std::size_t i = 0; i < count; ++i) {
        auto row = license_row(at(i), "issue");
        auto outcome = m_store.insert(row, now);
        if (!outcome)
            return usage_error(
                fmt::format("recording license {}: {}", row.id, outcome.error().message));
        if (*outcome == store::InsertOutcome::conflict)
            return usage_error(fmt::format("license {} (or its key) is already recorded with "
                                           "different content; nothing of this batch was "
                                           "recorded",
                                           row.id));
        outcomes.push_back(*outcome);
    }
    KEYSAT_TRY(tx.commit());
    return outcomes;
}

} // namespace keysat::service
