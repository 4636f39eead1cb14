#include "keysat/api/webhook_worker.hpp"

#include <chrono>
#include <cstdio>
#include <future>

#include <fmt/format.h>

#include "keysat/http/client.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/webhook_store.hpp"
#include "keysat/util/clock.hpp"

namespace keysat::api {

WebhookWorker::WebhookWorker(WebhookWorkerOptions options)
    : m_options(std::move(options)), m_thread([this](std::stop_token st) { run(st); }) {}

WebhookWorker::~WebhookWorker() {
    m_thread.request_stop();
}

void WebhookWorker::run(std::stop_token stop) {
    auto db = db::Database::open(m_options.db_path, db::OpenMode::read_write);
    if (!db) {
        std::fprintf(stderr, "keysat-serve: webhooks: %s\n", db.error().message.c_str());
        return;
    }
    store::WebhookStore hooks(*db);
    // Schedule times are kept in "units" (seconds in production) so that tests can shrink them.
    auto now_units = [&] {
        // Wall-clock based, like the next_attempt_at that events are queued with.
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count() /
               m_options.unit_ms;
    };
    while (!stop.stop_requested()) {
        auto due = hooks.due(now_units(), m_options.senders);
        if (!due || due->empty()) {
            std::this_thread::sleep_for(
                std::chrono::milliseconds(std::min(m_options.unit_ms, 200)));
            continue;
        }
        std::vector<std::future<http::ClientResult>> sending;
        for (const auto& d : *due) {
            auto endpoint = hooks.find_endpoint(d.endpoint_id);
            if (!endpoint || !*endpoint || !(*endpoint)->active) {
                (void)hooks.mark_failed(d.id, std::nullopt, "endpoint gone or inactive",
                                        std::nullopt);
                sending.emplace_back();
                continue;
            }
            auto headers =
                service::signature_headers((*endpoint)->secret, d.body, SystemClock().now());
            headers.emplace_back("X-Keysat-Event", d.event_type);
            headers.emplace_back("X-Keysat-Delivery", d.id);
            sending.push_back(std::async(std::launch::async, [url = (*endpoint)->url, body = d.body,
                                                              headers, t = m_options.timeout_s] {
                return http::post(url, body, headers, t, t);
            }));
        }
        for (std::size_t i = 0; i < sending.size(); ++i) {
            if (!sending[i].valid())
                continue;
            auto result = sending[i].get();
            const auto& d = (*due)[i];
            if (result.status >= 200 && result.status < 300) {
                (void)hooks.mark_delivered(d.id, result.status, SystemClock().now());
                continue;
            }
            auto delay = service::retry_delay(d.attempts + 1);
            std::string why =
                result.status == 0 ? result.error : fmt::format("HTTP {}", result.status);
            (void)hooks.mark_failed(
                d.id,
                result.status == 0 ? std::nullopt : std::optional<std::int64_t>(result.status), why,
                delay ? std::optional<std::int64_t>(now_units() + *delay) : std::nullopt);
        }
    }
}

} // namespace keysat::api
