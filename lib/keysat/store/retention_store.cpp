#include "keysat/store/retention_store.hpp"

namespace keysat::store {

Expected<std::int64_t> RetentionStore::prune_validations(std::int64_t before, int limit) {
    // The batch: the oldest rows by id (ids grow with time, so they lead the table), up to the
    // last one of `limit` that is old enough.
    KEYSAT_TRY_ASSIGN(last, m_db->prepare("SELECT max(id) FROM (SELECT id FROM validation_log "
                                          "WHERE at < ? ORDER BY id LIMIT ?)"));
    last.bind(1, before).bind(2, limit);
    KEYSAT_TRY_ASSIGN(row, last.step());
    if (!row || last.column_is_null(0))
        return 0;
    std::int64_t upto = last.column_int(0);
    KEYSAT_TRY_ASSIGN(rollup,
                      m_db->prepare("INSERT INTO validation_rollup (day, product_id, license_id, "
                                    "result, count) SELECT v.at / 86400, coalesce(l.product_id, "
                                    "''), coalesce(v.license_id, ''), v.result, count(*) FROM "
                                    "validation_log v LEFT JOIN licenses l ON l.id = v.license_id "
                                    "WHERE v.id <= ?1 AND v.at < ?2 GROUP BY 1, 2, 3, 4 "
                                    "ON CONFLICT (day, product_id, license_id, result) DO UPDATE "
                                    "SET count = count + excluded.count"));
    rollup.bind(1, upto).bind(2, before);
    KEYSAT_TRY(rollup.run());
    KEYSAT_TRY_ASSIGN(remove, m_db->prepare("DELETE FROM validation_log WHERE id <= ? AND at < ?"));
    remove.bind(1, upto).bind(2, before);
    KEYSAT_TRY(remove.run());
    return m_db->changes();
}

Expected<std::int64_t> RetentionStore::prune_deliveries(std::int64_t before, int limit) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM "
                                       "webhook_deliveries WHERE delivered_at IS NOT NULL AND "
                                       "delivered_at < ? LIMIT ?)"));
    s.bind(1, before).bind(2, limit);
    KEYSAT_TRY(s.run());
    return m_db->changes();
}

Expected<std::int64_t> RetentionStore::prune_buckets(std::int64_t before, int limit) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM rate_limit_buckets WHERE bucket IN (SELECT "
                                       "bucket FROM rate_limit_buckets WHERE updated_at < ? "
                                       "LIMIT ?)"));
    s.bind(1, before).bind(2, limit);
    KEYSAT_TRY(s.run());
    return m_db->changes();
}

Expected<std::int64_t> RetentionStore::prune_connect_states(std::int64_t before) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM provider_connect_states WHERE created_at < ?"));
    s.bind(1, before);
    KEYSAT_TRY(s.run());
    return m_db->changes();
}

} // namespace keysat::store
