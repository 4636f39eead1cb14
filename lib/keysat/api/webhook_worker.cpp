#include "keysat/api/webhook_worker.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "keysat/http/client.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/webhook_store.hpp"
#include "keysat/util/clock.hpp"

namespace keysat::api {

namespace {

struct Finished {
    std::string delivery_id;
    std::string endpoint_id;
    std::int64_t attempts = 0; // before this one
    http::ClientResult result;
};

// The sender threads' results, collected by the worker's own thread (which alone writes to the
// database).
struct Mailbox {
    std::mutex mutex;
    std::condition_variable_any cv;
    std::deque<Finished> finished;
};

} // namespace

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
    Mailbox mailbox;
    std::map<std::string, std::jthread> senders; // by delivery id
    std::set<std::string> in_flight;             // delivery ids
    std::map<std::string, int> in_flight_per_endpoint;

    // Deliveries in flight to an endpoint (looked up without adding an entry).
    auto busy = [&](const std::string& endpoint_id) {
        auto it = in_flight_per_endpoint.find(endpoint_id);
        return it == in_flight_per_endpoint.end() ? 0 : it->second;
    };
    auto record = [&](const Finished& f) {
        in_flight.erase(f.delivery_id);
        senders.erase(f.delivery_id); // its thread has finished: joins at once
        if (--in_flight_per_endpoint[f.endpoint_id] <= 0)
            in_flight_per_endpoint.erase(f.endpoint_id);
        const auto& r = f.result;
        if (r.outcome == http::Outcome::answered && r.status >= 200 && r.status < 300) {
            (void)hooks.mark_delivered(f.delivery_id, r.status, SystemClock().now());
            return;
        }
        if (r.error == "cancelled")
            return; // stopping: the delivery stays due as it was
        auto delay = service::retry_delay(f.attempts + 1);
        bool answered = r.outcome == http::Outcome::answered;
        std::string why = answered ? fmt::format("HTTP {}", r.status) : r.error;
        if (r.outcome == http::Outcome::timed_out)
            why = "timed out: " + why;
        (void)hooks.mark_failed(
            f.delivery_id, answered ? std::optional<std::int64_t>(r.status) : std::nullopt, why,
            delay ? std::optional<std::int64_t>(now_units() + *delay) : std::nullopt);
    };

    while (!stop.stop_requested()) {
        std::deque<Finished> done;
        {
            std::lock_guard lock(mailbox.mutex);
            done.swap(mailbox.finished);
        }
        for (const auto& f : done)
            record(f);

        int free = m_options.senders - static_cast<int>(in_flight.size());
        bool started = false;
        if (free > 0) {
            // Ask for more than fits: some may be in flight or wait on a busy endpoint.
            auto due =
                hooks.due(now_units(), static_cast<std::int64_t>(in_flight.size()) + 8 * free);
            for (const auto& d : due ? *due : std::vector<store::DeliveryRow>{}) {
                if (free == 0)
                    break;
                if (in_flight.contains(d.id) || busy(d.endpoint_id) >= m_options.per_endpoint)
                    continue;
                auto endpoint = hooks.find_endpoint(d.endpoint_id);
                if (!endpoint || !*endpoint || !(*endpoint)->active) {
                    (void)hooks.mark_failed(d.id, std::nullopt, "endpoint gone or inactive",
                                            std::nullopt);
                    continue;
                }
                http::ClientRequest request;
                request.url = (*endpoint)->url;
                request.body = d.body;
                request.headers =
                    service::signature_headers((*endpoint)->secret, d.body, SystemClock().now());
                request.headers.emplace_back("X-Keysat-Event", d.event_type);
                request.headers.emplace_back("X-Keysat-Delivery", d.id);
                request.deadline = std::chrono::seconds(m_options.timeout_s);
                request.policy = m_options.policy;
                in_flight.insert(d.id);
                ++in_flight_per_endpoint[d.endpoint_id];
                --free;
                started = true;
                senders[d.id] = std::jthread([&mailbox, request = std::move(request), id = d.id,
                                              endpoint = d.endpoint_id,
                                              attempts = d.attempts](std::stop_token st) {
                    auto result = http::send(request, st);
                    std::lock_guard lock(mailbox.mutex);
                    mailbox.finished.push_back({id, endpoint, attempts, std::move(result)});
                    mailbox.cv.notify_all();
                });
            }
        }
        if (started)
            continue;
        std::unique_lock lock(mailbox.mutex);
        mailbox.cv.wait_for(lock, stop, std::chrono::milliseconds(std::min(m_options.unit_ms, 200)),
                            [&] { return !mailbox.finished.empty(); });
    }
    // Cancel what is in flight and wait for the threads (each returns within moments).
    for (auto& [id, t] : senders)
        t.request_stop();
    senders.clear();
}

} // namespace keysat::api
