#include "keysat/api/renewal_worker.hpp"

#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "keysat/service/subscriptions.hpp"

namespace keysat::api {

RenewalWorker::RenewalWorker(const App& app, int interval_s, int lead_days)
    : m_app(app), m_interval_s(interval_s), m_lead_days(lead_days),
      m_thread([this](std::stop_token st) { run(st); }) {}

RenewalWorker::~RenewalWorker() {
    m_thread.request_stop();
}

void RenewalWorker::run(std::stop_token stop) {
    if (!m_app.signer)
        return;
    std::mutex m;
    std::condition_variable_any wake;
    auto wait = std::chrono::seconds(1);
    for (;;) {
        {
            std::unique_lock lock(m);
            if (wake.wait_for(lock, stop, wait, [] { return false; }) || stop.stop_requested())
                return;
        }
        wait = std::chrono::seconds(m_interval_s);
        auto db = m_app.database();
        if (!db) {
            std::fprintf(stderr, "keysat-serve: renewals: %s\n", db.error().message.c_str());
            continue;
        }
        auto report = service::renewal_pass(**db, *m_app.signer, checkout_with(m_app, **db),
                                            auto_charge_with(m_app), *m_app.clock,
                                            static_cast<std::int64_t>(m_lead_days) * 86400);
        if (report.opened + report.retried + report.failed + report.past_due + report.lapsed > 0)
            std::fprintf(stderr,
                         "keysat-serve: renewals: %d invoice(s) opened (%d charged to a saved "
                         "card), %d finished, %d failed, %d past due, %d lapsed\n",
                         report.opened, report.charged, report.retried, report.failed,
                         report.past_due, report.lapsed);
    }
}

} // namespace keysat::api
