#include "keysat/api/maintenance.hpp"

#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace keysat::api {

Maintenance::Maintenance(const App& app, service::RetentionPolicy policy, int interval_s)
    : m_app(app), m_policy(policy), m_interval_s(interval_s),
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
    }
}

} // namespace keysat::api
