#pragma once
// keysat-serve's housekeeping, in the background: every minute (the first pass one minute after
// start) a retention pass (service::prune: the validation log rolled up and trimmed, delivered
// webhook deliveries, idle rate-limit buckets, stale console sessions and connect states), then a
// passive WAL checkpoint so the WAL can be reset, and shrink to journal_size_limit, once readers
// move on.

#include <stop_token>
#include <thread>

#include "keysat/api/app.hpp"
#include "keysat/service/retention.hpp"

namespace keysat::api {

class Maintenance {
  public:
    // `app` must outlive it.
    Maintenance(const App& app, service::RetentionPolicy policy, int interval_s = 60);
    ~Maintenance(); // stops after the batch in progress

  private:
    void run(std::stop_token stop);
    const App& m_app;
    service::RetentionPolicy m_policy;
    int m_interval_s;
    std::jthread m_thread;
};

} // namespace keysat::api
