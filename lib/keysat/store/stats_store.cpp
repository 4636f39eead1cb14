#include "keysat/store/stats_store.hpp"

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

// Every query of the dashboard, in one place so that their plans can be shown (plans()).
constexpr const char* k_revenue =
    "SELECT day, product_id, currency, amount, invoices FROM revenue_daily WHERE day >= ? ORDER BY "
    "day, product_id, currency";
constexpr const char* k_licenses =
    "SELECT day, '', count FROM licenses_daily WHERE day >= ? AND count > 0 ORDER BY day";
constexpr const char* k_validations =
    "SELECT day, result, count FROM validation_daily WHERE day >= ? ORDER BY day, result";
constexpr const char* k_machines =
    "SELECT value FROM dashboard_counts WHERE name = 'active_machines'";
constexpr const char* k_open =
    "SELECT count(*) FROM invoices WHERE status IN ('new', 'processing')";
constexpr const char* k_failed = "SELECT count(*) FROM webhook_deliveries WHERE dead = 1";

Expected<std::vector<DailyCount>> daily_counts(db::Database& db, std::string_view sql,
                                               std::int64_t from) {
    KEYSAT_TRY_ASSIGN(s, db.prepare(sql));
    s.bind(1, from);
    return read_all<DailyCount>(s, [](const db::Statement& st) {
        return DailyCount{st.column_int(0), st.column_text(1), st.column_int(2)};
    });
}

} // namespace

Expected<std::vector<DailyRevenue>> StatsStore::revenue(std::int64_t from) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(k_revenue));
    s.bind(1, from);
    return read_all<DailyRevenue>(s, [](const db::Statement& st) {
        return DailyRevenue{st.column_int(0), st.column_text(1), st.column_text(2),
                            st.column_int(3), st.column_int(4)};
    });
}

Expected<std::vector<DailyCount>> StatsStore::licenses_issued(std::int64_t from) {
    return daily_counts(*m_db, k_licenses, from);
}

Expected<std::vector<DailyCount>> StatsStore::validations(std::int64_t from) {
    return daily_counts(*m_db, k_validations, from);
}

Expected<std::int64_t> StatsStore::active_machines() {
    return m_db->query_int(k_machines);
}

Expected<std::int64_t> StatsStore::open_invoices() {
    return m_db->query_int(k_open);
}

Expected<std::int64_t> StatsStore::failed_deliveries() {
    return m_db->query_int(k_failed);
}

Expected<std::vector<std::string>> StatsStore::plans() {
    std::vector<std::string> out;
    for (const char* sql : {k_revenue, k_licenses, k_validations, k_machines, k_open, k_failed}) {
        KEYSAT_TRY_ASSIGN(s, m_db->prepare(std::string("EXPLAIN QUERY PLAN ") + sql));
        if (std::string_view(sql).find('?') != std::string_view::npos)
            s.bind(1, std::int64_t{0});
        std::string plan;
        for (;;) {
            KEYSAT_TRY_ASSIGN(row, s.step());
            if (!row)
                break;
            plan += (plan.empty() ? "" : "; ") + s.column_text(3);
        }
        out.push_back(std::move(plan));
    }
    return out;
}

} // namespace keysat::store
