// The outbound HTTP client: cpp-httplib's, the only place that includes httplib.h, driven so
// that a receiver cannot hold it longer than the deadline or make it buffer more than the cap.

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "keysat/http/client.hpp"
#include "keysat/http/parser.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::http {

namespace {

using Clock = std::chrono::steady_clock;

// Stops the client when the deadline passes or the caller cancels, whichever comes first,
// unless the exchange finished before.
class Watchdog {
  public:
    Watchdog(httplib::ClientImpl& client, Clock::time_point deadline, std::stop_token stop)
        : m_thread([this, &client, deadline, stop] {
              std::unique_lock lock(m_mutex);
              bool finished = m_cv.wait_until(lock, stop, deadline, [this] { return m_done; });
              if (finished)
                  return;
              m_fired = stop.stop_requested() ? Fired::cancelled : Fired::deadline;
              // stop() does nothing before the socket exists and waits while httplib holds its
              // socket lock (connect, TLS handshake): ask again until the exchange is over.
              do {
                  lock.unlock();
                  client.stop();
                  lock.lock();
              } while (
                  !m_cv.wait_for(lock, std::chrono::milliseconds(50), [this] { return m_done; }));
          }) {}
    ~Watchdog() { finish(); }
    void finish() {
        {
            std::lock_guard lock(m_mutex);
            m_done = true;
        }
        m_cv.notify_all();
        if (m_thread.joinable())
            m_thread.join();
    }
    enum class Fired { no, deadline, cancelled };
    Fired fired() {
        std::lock_guard lock(m_mutex);
        return m_fired;
    }

  private:
    std::mutex m_mutex;
    std::condition_variable_any m_cv;
    bool m_done = false;
    Fired m_fired = Fired::no;
    std::thread m_thread;
};

std::pair<time_t, time_t> split(std::chrono::milliseconds ms) {
    auto s = std::max<std::int64_t>(ms.count(), 1);
    return {static_cast<time_t>(s / 1000), static_cast<time_t>((s % 1000) * 1000)};
}

} // namespace

const char* to_string(Outcome o) {
    switch (o) {
    case Outcome::answered:
        return "answered";
    case Outcome::refused:
        return "refused";
    case Outcome::timed_out:
        return "timed out";
    case Outcome::failed:
        break;
    }
    return "failed";
}

ClientResult send(const ClientRequest& request, std::stop_token stop) {
    ClientResult out;
    auto start = Clock::now();
    auto deadline = start + request.deadline;
    auto remaining = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    };
    if (request.policy == nullptr) {
        out.error = "no outbound policy";
        return out;
    }
    auto vetted = vet(*request.policy, request.url, request.deadline);
    if (!vetted) {
        out.outcome = is_refusal(vetted.error())
                          ? Outcome::refused
                          : (vetted.error().message.find("timed out") != std::string::npos
                                 ? Outcome::timed_out
                                 : Outcome::failed);
        out.error = vetted.error().message;
        return out;
    }
    if (remaining().count() <= 0) {
        out.outcome = Outcome::timed_out;
        out.error = "the deadline passed during the lookup";
        return out;
    }
    const Url& url = vetted->url;
    std::unique_ptr<httplib::ClientImpl> client;
    if (url.scheme == "https")
        client = std::make_unique<httplib::SSLClient>(url.host, url.port);
    else
        client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
    // Connect to the address that was checked, never to a second lookup's answer; TLS still
    // verifies the certificate against the host name.
    client->set_hostname_addr_map({{url.host, net::to_string(vetted->address)}});
    client->set_decompress(false);
    client->set_follow_location(false);
    client->set_keep_alive(false);
    client->set_tcp_nodelay(true); // head and body go out at once, not 40 ms apart
    auto [sec, usec] = split(remaining());
    client->set_connection_timeout(sec, usec);
    client->set_read_timeout(sec, usec);
    client->set_write_timeout(sec, usec);

    httplib::Request req;
    req.method = request.method;
    req.path = url.target;
    for (const auto& [k, v] : request.headers)
        req.headers.emplace(k, v);
    req.headers.emplace("Host", url.host_header());
    req.headers.emplace("Accept-Encoding", "identity");
    if (!url.userinfo.empty()) {
        std::string credentials = detail::percent_decode(url.userinfo, false);
        req.headers.emplace("Authorization",
                            "Basic " + base64_encode(ByteView(reinterpret_cast<const std::uint8_t*>(
                                                                  credentials.data()),
                                                              credentials.size())));
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
        req.body = request.body;
        req.headers.emplace("Content-Type", request.content_type);
    }
    bool answered = false;
    req.response_handler = [&](const httplib::Response& r) {
        out.status = r.status;
        answered = true;
        return true;
    };
    req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
        std::size_t room = request.max_reply_bytes - out.body.size();
        out.body.append(data, std::min(n, room));
        if (n > room) {
            out.truncated = true;
            return false; // stop reading; the connection is closed, not drained
        }
        return true;
    };

    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    Watchdog watchdog(*client, deadline, stop);
    bool ok = client->send(req, res, error);
    watchdog.finish();
    auto fired = watchdog.fired();
    if (ok || (answered && out.truncated)) {
        out.outcome = Outcome::answered;
        return out;
    }
    if (answered && fired == Watchdog::Fired::deadline) {
        // The status came in time, the body did not: an answer, cut short.
        out.outcome = Outcome::answered;
        out.truncated = true;
        return out;
    }
    out.status = 0;
    out.body.clear();
    if (fired == Watchdog::Fired::cancelled) {
        out.error = "cancelled";
    } else if (fired == Watchdog::Fired::deadline || error == httplib::Error::ConnectionTimeout ||
               remaining().count() <= 0) {
        out.outcome = Outcome::timed_out;
        out.error = fmt::format("no complete answer within {} ms", request.deadline.count());
    } else {
        out.error = httplib::to_string(error);
    }
    return out;
}

} // namespace keysat::http
