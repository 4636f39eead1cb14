#pragma once
// Sends due webhook deliveries in the background. Each delivery has one total deadline and
// runs on its own thread; deliveries to different endpoints proceed independently (a slow
// receiver holds at most `per_endpoint` senders), and at most `senders` run at once.
// Deliveries live in the database: a restart resumes them, and a delivered one is never sent
// again. Every request goes through the outbound policy.

#include <filesystem>
#include <stop_token>
#include <thread>
#include <vector>

#include "keysat/http/outbound.hpp"

namespace keysat::api {

struct WebhookWorkerOptions {
    std::filesystem::path db_path;
    int senders = 4;
    int timeout_s = 10;   // a delivery's whole exchange
    int unit_ms = 1000;   // one second of the retry schedule; tests shorten it
    int per_endpoint = 2; // deliveries to one endpoint in flight at most
    const http::OutboundPolicy* policy = nullptr; // required; outlives the worker
};

class WebhookWorker {
  public:
    explicit WebhookWorker(WebhookWorkerOptions options);
    // Cancels the attempts in flight (they stay due and are sent after a restart) and stops.
    ~WebhookWorker();

  private:
    void run(std::stop_token stop);
    WebhookWorkerOptions m_options;
    std::jthread m_thread;
};

} // namespace keysat::api
