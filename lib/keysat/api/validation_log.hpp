#pragma once
// The validation log and machines' last-seen times, written off the request path: requests
// queue them, one background thread writes them in batches.

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "keysat/store/access_store.hpp"

namespace keysat::api {

class ValidationLog {
  public:
    explicit ValidationLog(std::filesystem::path db_path);
    // Writes what is queued, then stops the writer.
    ~ValidationLog();

    // Queues a row; never blocks on the database. Rows beyond a bound are dropped (and counted)
    // rather than letting memory grow when the disk cannot keep up.
    void push(store::ValidationRow row);
    // Queues a machine's last-seen time. A machine seen again within a minute of the time last
    // queued is not written again: last-seen times are kept to the minute, which spares the
    // database a write per validation of a busy machine.
    void push_heartbeat(std::string machine_id, std::int64_t at);
    // Rows dropped so far: beyond the queue's bound, or in a batch that could not be written.
    std::size_t dropped() const;

  private:
    void run(std::stop_token stop);
    // One transaction; false when it could not be committed (nothing of it was written).
    static bool write(db::Database& db, const std::vector<store::ValidationRow>& rows,
                      const std::vector<std::pair<std::string, std::int64_t>>& heartbeats);

    std::filesystem::path m_db_path;
    mutable std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::vector<store::ValidationRow> m_queue;
    std::vector<std::pair<std::string, std::int64_t>> m_heartbeats;
    std::unordered_map<std::string, std::int64_t> m_last_heartbeat; // queued, by machine
    std::size_t m_dropped = 0;
    std::jthread m_writer;
};

} // namespace keysat::api
