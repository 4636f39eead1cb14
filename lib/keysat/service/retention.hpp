#pragma once
// Retention: what keysat-serve keeps of the tables that grow with traffic, and for how long.
//   - validation-log rows: `validation_log_days` (0: for good); rolled up per UTC day, product,
//     license and result into validation_rollup before they go, so no count is lost (and
//     validation_daily, which the dashboard reads, counted them when they were written);
//   - delivered webhook deliveries: `webhook_log_days` after delivery (0: for good); deliveries
//     still pending or dead stay for the operator;
//   - rate-limit buckets untouched for a day (full again whatever their rate);
//   - console sessions past their end or idle for 30 minutes; BTCPay connect states after
//     30 minutes.
// The audit log is never pruned. Work goes in batches of `batch` rows, each its own short
// transaction, so no writer waits long behind a prune.

#include <cstdint>
#include <stop_token>

#include "keysat/db/database.hpp"

namespace keysat::service {

struct RetentionPolicy {
    int validation_log_days = 30;
    int webhook_log_days = 30;
    int batch = 5000;
};

struct PruneReport {
    std::int64_t validations = 0;
    std::int64_t deliveries = 0;
    std::int64_t buckets = 0;
    std::int64_t sessions = 0;
    std::int64_t connect_states = 0;
};

// One pass at `now`: batches until each table has nothing left to remove (or `stop` is asked).
Expected<PruneReport> prune(db::Database& db, const RetentionPolicy& policy, std::int64_t now,
                            std::stop_token stop = {});

} // namespace keysat::service
