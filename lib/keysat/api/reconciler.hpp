#pragma once
// Asks the payment providers, in the background, about invoices still pending (younger than
// 72 h): a webhook that never came still settles its invoice, and expired ones give their code's
// use back. The rules are service::reconcile's.

#include <filesystem>
#include <stop_token>
#include <thread>

#include "keysat/api/app.hpp"

namespace keysat::api {

class Reconciler {
  public:
    // Runs every `interval_s` seconds, the first pass one interval after start. `app` must
    // outlive it; without a signing key it does nothing.
    Reconciler(const App& app, int interval_s);
    ~Reconciler(); // stops after the pass in progress

  private:
    void run(std::stop_token stop);
    const App& m_app;
    int m_interval_s;
    std::jthread m_thread;
};

} // namespace keysat::api
