#include "keysat/api/maintenance.hpp"

#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "keysat/service/backups.hpp"

namespace keysat::api {

Maintenance::Maintenance(const App& app, service::RetentionPolicy policy, Backups backups,
                         int interval_s)
    : m_app(app), m_policy(policy), m_backups(std::move(backups)), m_interval_s(interval_s),
      m_thread([this](std::stop_token st) { run(st); }) {}

Maintenance::~Maintenance() {
    m_thread.request_stop();
}

void Maintenance::run(std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any wake;
    for (;;) {
        {
            std::unique_lock lock(m);
            if (wake.wait_for(lock, stop, std::chrono::seconds(m_interval_s),
                              [] { return false; }) ||
                stop.stop_requested())
                return;
        }
        // A connection per pass: nothing held between passes (a cache, a file descriptor).
        auto db = db::Database::open(m_app.db_path, db::OpenMode::read_write);
        if (!db) {
            std::fprintf(stderr, "keysat-serve: maintenance: %s\n", db.error().message.c_str());
            continue;
        }
        auto report = service::prune(*db, m_policy, m_app.clock->now(), stop);
        if (!report)
            std::fprintf(stderr, "keysat-serve: maintenance: %s (the next pass tries again)\n",
                         report.error().message.c_str());
        else if (report->validations + report->deliveries > 0)
            std::fprintf(stderr,
                         "keysat-serve: maintenance: %lld validation-log row(s) rolled up and "
                         "removed, %lld delivered webhook deliveries removed\n",
                         static_cast<long long>(report->validations),
                         static_cast<long long>(report->deliveries));
        (void)db->exec("PRAGMA wal_checkpoint(PASSIVE)");
        if (!m_backups.dir.empty()) {
            std::int64_t now = m_app.clock->now();
            auto last = service::newest_backup_time(m_backups.dir);
            if (!last || now - *last >= m_backups.interval_s) {
                auto taken = service::take_backup(*db, m_backups.dir, m_backups.keep, now);
                if (taken)
                    std::fprintf(stderr,
                                 "keysat-serve: backup %s written and checked; %d older one(s) "
                                 "removed\n",
                                 taken->path.c_str(), taken->removed);
                else
                    std::fprintf(stderr, "keysat-serve: backup: %s\n",
                                 taken.error().message.c_str());
            }
        }
    }
}

} // namespace keysat::api
