#pragma once
// The renewal worker: a background thread of keysat-serve that runs service::renewal_pass every
// `interval_s` seconds (the first pass one second after start): renewal invoices open `lead_days`
// before a period ends, unpaid periods go past due and unpaid graces lapse. It writes through
// App::database(), so each commit clears the validation cache at once. Passes are safe to
// overlap with another keysat-serve on the same database.

#include <stop_token>
#include <thread>

#include "keysat/api/app.hpp"

namespace keysat::api {

class RenewalWorker {
  public:
    // `app` must outlive it; without a signing key it does nothing.
    RenewalWorker(const App& app, int interval_s, int lead_days);
    ~RenewalWorker(); // stops after the pass in progress

  private:
    void run(std::stop_token stop);
    const App& m_app;
    int m_interval_s;
    int m_lead_days;
    std::jthread m_thread;
};

} // namespace keysat::api
