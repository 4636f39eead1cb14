#include "keysat/service/retention.hpp"

#include "keysat/store/retention_store.hpp"
#include "keysat/store/session_store.hpp"

namespace keysat::service {

namespace {

constexpr std::int64_t k_day = 86400;
constexpr std::int64_t k_session_idle = 30 * 60; // the console's idle limit
constexpr std::int64_t k_connect_state_life = 30 * 60;

// Runs `batch_once` in its own transaction until it removes fewer than `limit` rows; the total.
template <typename F>
Expected<std::int64_t> in_batches(db::Database& db, int limit, std::stop_token stop, F batch_once) {
    std::int64_t total = 0;
    for (;;) {
        KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(db));
        KEYSAT_TRY_ASSIGN(n, batch_once());
        KEYSAT_TRY(tx.commit());
        total += n;
        if (n < limit || stop.stop_requested())
            return total;
    }
}

} // namespace

Expected<PruneReport> prune(db::Database& db, const RetentionPolicy& policy, std::int64_t now,
                            std::stop_token stop) {
    PruneReport report;
    store::RetentionStore rows(db);
    int limit = policy.batch;
    if (policy.validation_log_days > 0) {
        KEYSAT_TRY_ASSIGN(n, in_batches(db, limit, stop, [&] {
                              return rows.prune_validations(
                                  now - policy.validation_log_days * k_day, limit);
                          }));
        report.validations = n;
    }
    if (policy.webhook_log_days > 0) {
        KEYSAT_TRY_ASSIGN(n, in_batches(db, limit, stop, [&] {
                              return rows.prune_deliveries(now - policy.webhook_log_days * k_day,
                                                           limit);
                          }));
        report.deliveries = n;
    }
    KEYSAT_TRY_ASSIGN(buckets, in_batches(db, limit, stop,
                                          [&] { return rows.prune_buckets(now - k_day, limit); }));
    report.buckets = buckets;
    KEYSAT_TRY_ASSIGN(sessions, store::SessionStore(db).remove_stale(now, k_session_idle));
    report.sessions = sessions;
    KEYSAT_TRY_ASSIGN(states, rows.prune_connect_states(now - k_connect_state_life));
    report.connect_states = states;
    return report;
}

} // namespace keysat::service
