#pragma once
// Sends due webhook deliveries in the background with bounded concurrency and timeouts, so an
// endpoint that hangs holds one sender at most. Deliveries live in the database: a restart
// resumes them, and a delivered one is never sent again.

#include <filesystem>
#include <stop_token>
#include <thread>
#include <vector>

namespace keysat::api {

struct WebhookWorkerOptions {
    std::filesystem::path db_path;
    int senders = 4;
    int timeout_s = 10;
    int unit_ms = 1000; // one second of the retry schedule; tests shorten it
};

class WebhookWorker {
  public:
    explicit WebhookWorker(WebhookWorkerOptions options);
    // Stops after the attempts in flight finish.
    ~WebhookWorker();

  private:
    void run(std::stop_token stop);
    WebhookWorkerOptions m_options;
    std::jthread m_thread;
};

} // namespace keysat::api
