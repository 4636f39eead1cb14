#pragma once
// Repository of outbound webhook endpoints and their deliveries (the retry queue).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::store {

struct WebhookEndpointRow {
    std::string id;
    std::string url;
    std::string secret;
    std::string events_json = "[]"; // empty: every event
    bool active = true;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::string description;
};

struct DeliveryRow {
    std::string id;
    std::string endpoint_id;
    std::string event_type;
    std::string body; // serialized once; the same bytes on every attempt
    std::int64_t attempts = 0;
    std::optional<std::int64_t> next_attempt_at;
    std::optional<std::int64_t> last_status;
    std::optional<std::string> last_error;
    std::optional<std::int64_t> delivered_at;
    bool dead = false;
    std::int64_t created_at = 0;
};

class WebhookStore {
  public:
    explicit WebhookStore(db::Database& db) : m_db(&db) {}

    Expected<void> create_endpoint(const WebhookEndpointRow& e);
    Expected<bool> update_endpoint(const WebhookEndpointRow& e);
    Expected<bool> delete_endpoint(const std::string& id);
    Expected<std::optional<WebhookEndpointRow>> find_endpoint(const std::string& id);
    // Ordered by creation time then id; `active_only` keeps active endpoints.
    Expected<std::vector<WebhookEndpointRow>> list_endpoints(bool active_only);

    Expected<void> enqueue(const DeliveryRow& d);
    // Deliveries due at `now` (not delivered, not dead), oldest due first, at most `limit`.
    Expected<std::vector<DeliveryRow>> due(std::int64_t now, std::int64_t limit);
    // Records a success.
    Expected<bool> mark_delivered(const std::string& id, std::int64_t status, std::int64_t now);
    // Records a failure: the next attempt at `next_attempt_at`, or dead when nullopt.
    Expected<bool> mark_failed(const std::string& id, std::optional<std::int64_t> status,
                               const std::string& error,
                               std::optional<std::int64_t> next_attempt_at);
    // An operator's retry of a failed or dead delivery: due now again.
    Expected<bool> retry(const std::string& id, std::int64_t now);
    // filter: pending, delivered, failed (dead) or all; newest first; of one endpoint unless
    // `endpoint_id` is empty.
    Expected<std::vector<DeliveryRow>> list_deliveries(const std::string& filter,
                                                       std::int64_t limit,
                                                       const std::string& endpoint_id = "");

  private:
    db::Database* m_db;
};

} // namespace keysat::store
