#pragma once
// The operator's dashboard figures: each a read of an index or a rollup over a date range, never
// a scan of a table that grows without end (validation_daily and the range indexes of migration
// 0008). Days are UTC days since 1970-01-01.

#include <cstdint>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::store {

// Settled invoices of one day, product and currency.
struct DailyRevenue {
    std::int64_t day = 0;
    std::string product_id;
    std::string currency;
    std::int64_t amount = 0; // sats, or cents
    std::int64_t invoices = 0;
};

// A count of one day, by `key` (a validation's result; "" when not split).
struct DailyCount {
    std::int64_t day = 0;
    std::string key;
    std::int64_t count = 0;
};

class StatsStore {
  public:
    explicit StatsStore(db::Database& db) : m_db(&db) {}

    // From day `from` on (inclusive), ordered by day.
    Expected<std::vector<DailyRevenue>> revenue(std::int64_t from);
    Expected<std::vector<DailyCount>> licenses_issued(std::int64_t from);
    Expected<std::vector<DailyCount>> validations(std::int64_t from);
    // Now: machines not deactivated, invoices awaiting payment, deliveries that gave up.
    Expected<std::int64_t> active_machines();
    Expected<std::int64_t> open_invoices();
    Expected<std::int64_t> failed_deliveries();
    // SQLite's plan of each query above, in that order (EXPLAIN QUERY PLAN's details joined by
    // "; "): what the tests and the benchmark check for full scans.
    Expected<std::vector<std::string>> plans();

  private:
    db::Database* m_db;
};

} // namespace keysat::store
