#pragma once
// The validation log, written off the request path: requests queue rows, one background thread
// writes them in batches.

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
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
    std::size_t dropped() const;

  private:
    void run(std::stop_token stop);

    std::filesystem::path m_db_path;
    mutable std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::vector<store::ValidationRow> m_queue;
    std::size_t m_dropped = 0;
    std::jthread m_writer;
};

} // namespace keysat::api
