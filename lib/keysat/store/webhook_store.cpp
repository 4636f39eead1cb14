#include "keysat/store/webhook_store.hpp"

#include <fmt/format.h>

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

constexpr const char* k_endpoint_columns =
    "id, url, secret, events, active, created_at, updated_at, description";
constexpr const char* k_delivery_columns = "id, endpoint_id, event_type, body, attempts, "
                                           "next_attempt_at, last_status, last_error, "
                                           "delivered_at, dead, created_at";

WebhookEndpointRow read_endpoint(const db::Statement& s) {
    return WebhookEndpointRow{s.column_text(0), s.column_text(1),     s.column_text(2),
                              s.column_text(3), s.column_int(4) != 0, s.column_int(5),
                              s.column_int(6),  s.column_text(7)};
}

DeliveryRow read_delivery(const db::Statement& s) {
    return DeliveryRow{s.column_text(0), s.column_text(1),     s.column_text(2), s.column_text(3),
                       s.column_int(4),  opt_int(s, 5),        opt_int(s, 6),    opt_text(s, 7),
                       opt_int(s, 8),    s.column_int(9) != 0, s.column_int(10)};
}

void bind_endpoint(db::Statement& s, const WebhookEndpointRow& e) {
    s.bind(1, e.id)
        .bind(2, e.url)
        .bind(3, e.secret)
        .bind(4, e.events_json)
        .bind(5, std::int64_t{e.active})
        .bind(6, e.created_at)
        .bind(7, e.updated_at)
        .bind(8, e.description);
}

} // namespace

Expected<void> WebhookStore::create_endpoint(const WebhookEndpointRow& e) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("INSERT INTO webhook_endpoints ({}) VALUES (?, "
                                                   "?, ?, ?, ?, ?, ?, ?)",
                                                   k_endpoint_columns)));
    bind_endpoint(s, e);
    return s.run();
}

Expected<bool> WebhookStore::update_endpoint(const WebhookEndpointRow& e) {
    KEYSAT_TRY_ASSIGN(s,
                      m_db->prepare("UPDATE webhook_endpoints SET url = ?2, secret = ?3, "
                                    "events = ?4, active = ?5, updated_at = ?7, description = ?8 "
                                    "WHERE id = ?1"));
    bind_endpoint(s, e);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> WebhookStore::delete_endpoint(const std::string& id) {
    // Deliveries keep their history; an endpoint with deliveries is deactivated instead.
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM webhook_endpoints WHERE id = ? AND NOT EXISTS "
                                       "(SELECT 1 FROM webhook_deliveries WHERE endpoint_id = "
                                       "webhook_endpoints.id)"));
    s.bind(1, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    if (n == 1)
        return true;
    KEYSAT_TRY_ASSIGN(off, m_db->prepare("UPDATE webhook_endpoints SET active = 0 WHERE id = ?"));
    off.bind(1, id);
    KEYSAT_TRY_ASSIGN(m, run_changes(*m_db, off));
    return m == 1;
}

Expected<std::optional<WebhookEndpointRow>> WebhookStore::find_endpoint(const std::string& id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM webhook_endpoints WHERE id = ?",
                                                   k_endpoint_columns)));
    s.bind(1, id);
    return read_first<WebhookEndpointRow>(s, read_endpoint);
}

Expected<std::vector<WebhookEndpointRow>> WebhookStore::list_endpoints(bool active_only) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM webhook_endpoints WHERE "
                                                   "active = 1 OR ? = 0 ORDER BY created_at, id",
                                                   k_endpoint_columns)));
    s.bind(1, std::int64_t{active_only});
    return read_all<WebhookEndpointRow>(s, read_endpoint);
}

Expected<void> WebhookStore::enqueue(const DeliveryRow& d) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("INSERT INTO webhook_deliveries ({}) VALUES (?, "
                                                   "?, ?, ?, 0, ?, NULL, NULL, NULL, 0, ?)",
                                                   k_delivery_columns)));
    s.bind(1, d.id)
        .bind(2, d.endpoint_id)
        .bind(3, d.event_type)
        .bind(4, d.body)
        .bind(5, d.next_attempt_at.value_or(d.created_at))
        .bind(6, d.created_at);
    return s.run();
}

Expected<std::vector<DeliveryRow>> WebhookStore::due(std::int64_t now, std::int64_t limit) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM webhook_deliveries WHERE "
                                                   "delivered_at IS NULL AND dead = 0 AND "
                                                   "next_attempt_at <= ? ORDER BY "
                                                   "next_attempt_at, id LIMIT ?",
                                                   k_delivery_columns)));
    s.bind(1, now).bind(2, limit);
    return read_all<DeliveryRow>(s, read_delivery);
}

Expected<bool> WebhookStore::mark_delivered(const std::string& id, std::int64_t status,
                                            std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE webhook_deliveries SET attempts = attempts + 1, "
                                       "last_status = ?, last_error = NULL, delivered_at = ?, "
                                       "next_attempt_at = NULL WHERE id = ? AND delivered_at IS "
                                       "NULL"));
    s.bind(1, status).bind(2, now).bind(3, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> WebhookStore::mark_failed(const std::string& id, std::optional<std::int64_t> status,
                                         const std::string& error,
                                         std::optional<std::int64_t> next_attempt_at) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE webhook_deliveries SET attempts = attempts + 1, "
                                       "last_status = ?, last_error = ?, next_attempt_at = ?, "
                                       "dead = ? WHERE id = ? AND delivered_at IS NULL"));
    s.bind(1, status)
        .bind(2, error)
        .bind(3, next_attempt_at)
        .bind(4, std::int64_t{!next_attempt_at.has_value()})
        .bind(5, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> WebhookStore::retry(const std::string& id, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE webhook_deliveries SET dead = 0, next_attempt_at = "
                                       "? WHERE id = ? AND delivered_at IS NULL"));
    s.bind(1, now).bind(2, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::vector<DeliveryRow>> WebhookStore::list_deliveries(const std::string& filter,
                                                                 std::int64_t limit,
                                                                 const std::string& endpoint_id) {
    std::string where;
    if (filter == "pending")
        where = "delivered_at IS NULL AND dead = 0";
    else if (filter == "delivered")
        where = "delivered_at IS NOT NULL";
    else if (filter == "failed")
        where = "dead = 1";
    else if (filter == "all")
        where = "1 = 1";
    else
        return usage_error(fmt::format("delivery filter '{}' is not pending, delivered, failed or "
                                       "all",
                                       filter));
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM webhook_deliveries WHERE {} "
                                                   "AND (?1 = '' OR endpoint_id = ?1) ORDER BY "
                                                   "created_at DESC, id LIMIT ?2",
                                                   k_delivery_columns, where)));
    s.bind(1, endpoint_id).bind(2, limit);
    return read_all<DeliveryRow>(s, read_delivery);
}

} // namespace keysat::store
