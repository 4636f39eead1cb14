#include "keysat/api/validation_log.hpp"

#include <chrono>
#include <cstdio>

#include "keysat/store/machine_store.hpp"

namespace keysat::api {

namespace {
constexpr std::size_t k_max_queue = 100000;
// Rows are committed every 200 ms, or sooner once this many are queued. Large commits matter:
// the (license_id, at) index takes random inserts, and each commit writes every index page it
// touched to the WAL again; at 512 rows a commit the writer used a quarter of the server's CPU.
constexpr std::size_t k_batch = 16384;
constexpr std::int64_t k_heartbeat_resolution_s = 60;
} // namespace

ValidationLog::ValidationLog(std::filesystem::path db_path)
    : m_db_path(std::move(db_path)), m_writer([this](std::stop_token st) { run(st); }) {}

ValidationLog::~ValidationLog() {
    m_writer.request_stop();
    m_wake.notify_all();
}

void ValidationLog::push(store::ValidationRow row) {
    {
        std::lock_guard lock(m_mutex);
        if (m_queue.size() >= k_max_queue) {
            ++m_dropped;
            return;
        }
        m_queue.push_back(std::move(row));
        // The writer wakes by itself every 200 ms; waking it per row would make every request
        // a futex call and contend for this mutex (measured: it halved validate throughput).
        if (m_queue.size() != k_batch)
            return;
    }
    m_wake.notify_one();
}

void ValidationLog::push_heartbeat(std::string machine_id, std::int64_t at) {
    {
        std::lock_guard lock(m_mutex);
        if (m_last_heartbeat.size() >= k_max_queue)
            m_last_heartbeat.clear(); // bounded; at worst a few extra writes
        auto [last, fresh] = m_last_heartbeat.try_emplace(machine_id, at);
        if (!fresh && at - last->second < k_heartbeat_resolution_s && at >= last->second)
            return;
        last->second = at;
        if (m_heartbeats.size() >= k_max_queue) {
            ++m_dropped;
            return;
        }
        m_heartbeats.emplace_back(std::move(machine_id), at);
        if (m_heartbeats.size() != k_batch)
            return;
    }
    m_wake.notify_one();
}

std::size_t ValidationLog::dropped() const {
    std::lock_guard lock(m_mutex);
    return m_dropped;
}

bool ValidationLog::write(db::Database& db, const std::vector<store::ValidationRow>& rows,
                          const std::vector<std::pair<std::string, std::int64_t>>& heartbeats) {
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return false;
    store::AccessStore access(db);
    store::MachineStore machines(db);
    if (!access.append_validations(rows))
        return false; // the transaction rolls back: all of the batch or none of it
    for (const auto& [id, at] : heartbeats)
        (void)machines.heartbeat(id, at);
    return tx->commit().has_value();
}

void ValidationLog::run(std::stop_token stop) {
    auto db = db::Database::open(m_db_path, db::OpenMode::read_write);
    // Two sets of buffers swapped back and forth keep their capacity: regrowing (and freeing) a
    // large buffer on every batch showed up as malloc consolidation under load.
    std::vector<store::ValidationRow> batch;
    std::vector<std::pair<std::string, std::int64_t>> heartbeats;
    std::size_t reported = 0;
    bool failing = false;
    for (;;) {
        batch.clear();
        heartbeats.clear();
        std::size_t dropped = 0;
        {
            std::unique_lock lock(m_mutex);
            // Wake on rows or stop; wait a little so that rows arrive in batches.
            m_wake.wait_for(lock, stop, std::chrono::milliseconds(200), [&] {
                return m_queue.size() >= k_batch || m_heartbeats.size() >= k_batch;
            });
            batch.swap(m_queue);
            heartbeats.swap(m_heartbeats);
            dropped = m_dropped;
        }
        if (dropped != reported) {
            std::fprintf(stderr,
                         "keysat-serve: the validation log fell behind: %zu rows dropped in "
                         "all\n",
                         dropped);
            reported = dropped;
        }
        // A batch that cannot be written (a full disk) is dropped and counted, never retried:
        // the workers must not wait on the disk, and memory must not grow while it is full.
        // The next batch tries again, so writing resumes by itself once there is space.
        if (db && (!batch.empty() || !heartbeats.empty()) && !write(*db, batch, heartbeats)) {
            std::lock_guard lock(m_mutex);
            m_dropped += batch.size();
            reported += batch.size(); // said once below, not as "fell behind"
            if (!failing)
                std::fprintf(stderr,
                             "keysat-serve: the validation log cannot be written (%s); rows are "
                             "dropped and counted until it can\n",
                             db::writes_failing() ? "the disk is full" : "database error");
            failing = true;
        } else if (failing && !batch.empty()) {
            std::fprintf(stderr, "keysat-serve: the validation log is written again\n");
            failing = false;
        }
        if (stop.stop_requested()) {
            std::lock_guard lock(m_mutex);
            if (m_queue.empty() && m_heartbeats.empty())
                return;
        }
    }
}

} // namespace keysat::api
