#pragma once
// A TCP listener on 127.0.0.1 that hands each connection to a function on its own thread: for
// tests of receivers that misbehave (trickle, never answer, answer too much) in ways an HTTP
// server library will not.

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace keysat::test {

class RawReceiver {
  public:
    // `handle(fd, stopping)` owns nothing: the receiver closes fd after it returns. Handlers
    // that wait should return when `stopping` becomes true.
    using Handler = std::function<void(int fd, const std::atomic<bool>& stopping)>;
    explicit RawReceiver(Handler handle);
    ~RawReceiver();
    int port() const { return m_port; }
    std::string url(const std::string& path = "/hook") const;
    int connections() const { return m_connections; }

    // Reads a request head (up to the blank line); empty when the peer closed first.
    static std::string read_head(int fd);
    // Reads a request head and its Content-Length body; empty when the peer closed first.
    static std::string read_request(int fd);
    // Writes all of `data`; false when the peer is gone.
    static bool write_all(int fd, std::string_view data);

  private:
    int m_listen = -1;
    int m_port = 0;
    Handler m_handle;
    std::atomic<bool> m_stopping = false;
    std::atomic<int> m_connections = 0;
    std::mutex m_mutex;
    std::vector<std::thread> m_threads;
    std::thread m_acceptor;
};

} // namespace keysat::test
