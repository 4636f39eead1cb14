#pragma once
// Removing what grows with traffic (migration 0009): validation-log rows rolled up into
// validation_rollup before they go, delivered webhook deliveries, idle rate-limit buckets and
// expired BTCPay connect states. Each call is one bounded batch in the caller's transaction.

#include <cstdint>

#include "keysat/db/database.hpp"

namespace keysat::store {

class RetentionStore {
  public:
    explicit RetentionStore(db::Database& db) : m_db(&db) {}

    // Rolls up, then deletes, the oldest validation-log rows (at most `limit`) logged before
    // `before`; how many went.
    Expected<std::int64_t> prune_validations(std::int64_t before, int limit);
    // Deletes deliveries delivered before `before` (at most `limit`); how many.
    Expected<std::int64_t> prune_deliveries(std::int64_t before, int limit);
    // Deletes rate-limit buckets last touched before `before` (at most `limit`); how many.
    Expected<std::int64_t> prune_buckets(std::int64_t before, int limit);
    // Deletes BTCPay connect states started before `before`; how many.
    Expected<std::int64_t> prune_connect_states(std::int64_t before);

  private:
    db::Database* m_db;
};

} // namespace keysat::store
