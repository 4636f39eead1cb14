#pragma once
// An HTTP receiver of outbound webhooks on loopback: records every POST to /hook with the
// headers that sign it, and can fail the first few.

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace keysat::test {

struct Received {
    std::string body, event, delivery, signature, signature_v2;
};

// Records every POST; answers 500 to the first `fail_first` of them.
class WebhookReceiver {
  public:
    explicit WebhookReceiver(int fail_first = 0) : m_fail_first(fail_first) {
        m_server.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(m_mutex);
            m_received.push_back({req.body, req.get_header_value("X-Keysat-Event"),
                                  req.get_header_value("X-Keysat-Delivery"),
                                  req.get_header_value("X-Keysat-Signature"),
                                  req.get_header_value("X-Keysat-Signature-V2")});
            res.status = static_cast<int>(m_received.size()) <= m_fail_first ? 500 : 200;
        });
        m_port = m_server.bind_to_any_port("127.0.0.1");
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
        // stop() does nothing before the server runs, so do not hand out a receiver earlier.
        while (!m_server.is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~WebhookReceiver() {
        m_server.stop();
        m_thread.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/hook"; }
    std::vector<Received> received() {
        std::lock_guard lock(m_mutex);
        return m_received;
    }
    // Waits until `n` requests arrived (up to `seconds`).
    bool wait_for(std::size_t n, int seconds = 10) {
        for (int i = 0; i < seconds * 50; ++i) {
            if (received().size() >= n)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }

  private:
    httplib::Server m_server;
    int m_port = 0;
    int m_fail_first;
    std::thread m_thread;
    std::mutex m_mutex;
    std::vector<Received> m_received;
};

} // namespace keysat::test
