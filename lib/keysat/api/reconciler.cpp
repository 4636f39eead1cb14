#include "keysat/api/reconciler.hpp"

#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "keysat/payments/btcpay.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/store/account_store.hpp"

namespace keysat::api {

Reconciler::Reconciler(const App& app, int interval_s)
    : m_app(app), m_interval_s(interval_s), m_thread([this](std::stop_token st) { run(st); }) {}

Reconciler::~Reconciler() {
    m_thread.request_stop();
}

void Reconciler::run(std::stop_token stop) {
    if (!m_app.signer || m_app.outbound == nullptr)
        return;
    auto db = db::Database::open(m_app.db_path, db::OpenMode::read_write);
    if (!db) {
        std::fprintf(stderr, "keysat-serve: reconciler: %s\n", db.error().message.c_str());
        return;
    }
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
        auto status_of =
            [&](const store::InvoiceRow& invoice) -> service::Checked<service::ProviderStatus> {
            if (stop.stop_requested()) // stopping: the rest waits for the next start
                return std::unexpected(service::Refused{"upstream_error", "stopping"});
            auto provider = store::AccountStore(*db).find_provider(*invoice.provider_id);
            auto client =
                provider && *provider && (*provider)->status == "connected"
                    ? payments::make_provider(**provider, *m_app.outbound, m_app.btcpay_public_url)
                    : nullptr;
            if (!client)
                return std::unexpected(service::Refused{"upstream_error", "no such provider"});
            return client->status(*invoice.provider_invoice_id);
        };
        auto report = service::reconcile(*db, *m_app.signer, status_of, m_app.clock->now());
        if (report.settled > 0 || report.closed > 0)
            std::fprintf(stderr,
                         "keysat-serve: reconciler: %d invoice(s) checked, %d settled, %d closed\n",
                         report.checked, report.settled, report.closed);
    }
}

} // namespace keysat::api
