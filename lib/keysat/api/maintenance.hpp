#pragma once
// keysat-serve's housekeeping, in the background: every maintenance_interval (a minute unless
// set; the first pass one interval after start) a retention pass (service::prune: the validation
// log rolled up and trimmed, delivered webhook deliveries, idle rate-limit buckets, stale console
// sessions and connect states), then a passive WAL checkpoint so the WAL can be reset, and shrink
// to journal_size_limit, once readers move on; and, with a backup directory, a scheduled backup
// when the newest one there is `interval` old (service::take_backup).

#include <stop_token>
#include <thread>

#include "keysat/api/app.hpp"
#include "keysat/service/retention.hpp"

#include <filesystem>

namespace keysat::api {

class Maintenance {
  public:
    struct Backups {
        std::filesystem::path dir; // empty: none
        std::int64_t interval_s = 86400;
        int keep = 7;
    };
    // `app` must outlive it.
    Maintenance(const App& app, service::RetentionPolicy policy, Backups backups,
                int interval_s = 60);
    ~Maintenance(); // stops after the batch in progress

  private:
    void run(std::stop_token stop);
    const App& m_app;
    service::RetentionPolicy m_policy;
    Backups m_backups;
    int m_interval_s;
    std::jthread m_thread;
};

} // namespace keysat::api
