#pragma once
// GET /metrics in the Prometheus text format (version 0.0.4), served only on metrics_bind:
// requests by route and status with latency histograms, validation results, and at each scrape
// the webhook queue, dead deliveries, pending invoices, database and WAL sizes and the age of
// the newest scheduled backup. Every name starts with keysat_.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::api {

// What /healthz reports besides "the database answers": the conditions a supervisor should act
// on before they become an outage. Degraded when any holds.
struct Health {
    bool writes_failing = false;   // a write was refused for want of space and none succeeded since
    bool disk_nearly_full = false; // under k_disk_low_bytes or k_disk_low_percent free
    std::int64_t disk_free_bytes = -1; // where the database is; -1 when unknown
    std::int64_t webhook_backlog = 0;  // deliveries waiting, counted up to k_webhook_backlog
    static constexpr std::int64_t k_disk_low_bytes = 256LL << 20;
    static constexpr int k_disk_low_percent = 2;
    static constexpr std::int64_t k_webhook_backlog = 1000;

    bool degraded() const {
        return writes_failing || disk_nearly_full || webhook_backlog >= k_webhook_backlog;
    }
    // The names of the conditions that hold: database_read_only, disk_nearly_full,
    // webhook_backlog.
    std::vector<std::string> reasons() const;
};
Health check_health(db::Database& db, const std::filesystem::path& db_path);

class Metrics {
  public:
    // A request answered: method, route pattern ("" when none matched), status, seconds.
    void request(const std::string& method, const std::string& route, int status, double seconds);
    // A validation's result ("ok" or the refusal's reason).
    void validation(const std::string& result);

    // The text of a scrape: the counters, then what `db` and the files say now.
    // `log_dropped`: validation-log rows dropped so far (ValidationLog::dropped).
    std::string render(db::Database& db, const std::filesystem::path& db_path,
                       const std::filesystem::path& backup_dir, std::int64_t now,
                       std::uint64_t log_dropped = 0) const;

    // Upper bounds of the latency buckets, in seconds (then +Inf).
    static constexpr std::array<double, 12> k_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

  private:
    struct Histogram {
        std::array<std::uint64_t, k_buckets.size()> le{}; // not cumulative here
        std::uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex m_mutex;
    std::map<std::tuple<std::string, std::string, int>, std::uint64_t> m_requests;
    std::map<std::pair<std::string, std::string>, Histogram> m_latency;
    std::map<std::string, std::uint64_t> m_validations;
};

} // namespace keysat::api
