#pragma once
// Internal to lib/keysat/http: the event loop's connection state and Server::Impl, shared by
// server.cpp (the epoll loop and each connection's life), request_reader.cpp (reading, parsing
// and dispatching requests) and response_writer.cpp (answers, file bodies, the request log).

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <regex>
#include <stop_token>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>

#include <fmt/format.h>

#include "keysat/http/file_response.hpp"
#include "keysat/http/parser.hpp"

namespace keysat::http {

namespace detail {

using Clock = std::chrono::steady_clock;

struct Route {
    std::string method;
    std::string pattern;
    bool literal = false; // no regular-expression syntax: compared as a string
    std::regex re;
    Handler handler;
};

constexpr std::size_t k_file_chunk = 256 * 1024;
constexpr std::size_t k_read_chunk = 64 * 1024;
constexpr int k_requests_per_turn = 16; // pipelined requests served before other clients
// A request body must average at least this rate (after the head's read timeout), so that a
// client sending a byte per read timeout cannot hold a connection for ever.
constexpr std::uint64_t k_min_body_bytes_per_s = 8 * 1024;

// A worker's buffer for recv(): bytes are appended to a connection's own buffer from here.
std::vector<char>& read_buffer();

// One client connection. Only one worker touches it at a time (it is armed with EPOLLONESHOT);
// the sweeper reads `armed_deadline` and `between_requests` under the registry lock.
struct Connection {
    int fd = -1;
    std::string remote;

    // Reading: received bytes, and the request being read.
    std::string in;                   // received, not yet consumed
    Clock::time_point head_started{}; // the first byte of the request being read (or of the
                                      // empty lines before it)
    bool head_complete = false;       // `req` and `head` hold its parsed head; its body is coming
    Request req;
    detail::Head head;
    detail::ChunkState chunks; // a chunked body decoded so far
    bool continue_sent = false;
    bool rdhup_seen = false;  // the client's FIN has arrived: no more EPOLLRDHUP asked for,
                              // and everything before it is read on the next wake-up
    bool peer_closed = false; // that FIN has been read: nothing more will come

    // Writing: the answer being sent.
    std::string out; // a response head and body, or a chunk of a file
    std::size_t out_pos = 0;
    std::shared_ptr<FileBody> file; // a file body still being sent
    std::uint64_t file_pos = 0, file_end = 0;
    Clock::time_point last_sent{}; // the write timeout runs from here
    int served = 0;                // requests answered on this connection
    bool close_after = false;      // close once everything queued is sent
    bool lingering = false;        // answered and shut down for writing: reading until the client
                            // closes, so that unread bytes do not turn our close into a reset

    // Shared with the sweeper. The deadline (steady-clock nanoseconds) while armed, -1 while a
    // worker has it: one word, so that the sweeper's compare-and-swap fails when a worker
    // re-armed it in the meantime.
    std::atomic<std::int64_t> armed_deadline = -1;
    std::atomic<bool> between_requests = false; // armed with nothing read or queued

    bool sending() const { return out_pos < out.size() || (file && file_pos < file_end); }
};

// One request log line: method, path (never the query), status, time, remote address.
// `path`: what the log shows for the request's path (empty: the path itself).
std::string log_line(bool json, const Request& req, int status, double ms,
                     std::string_view path = {});

// The request log: lines are appended to a buffer and written to stderr by one thread every
// 50 ms, so that requests neither make a write() each nor queue on stderr's lock.
class LogSink {
  public:
    LogSink() : m_writer([this](std::stop_token st) { run(st); }) {}
    ~LogSink() {
        m_writer.request_stop();
        m_wake.notify_all();
        m_writer.join();
        flush();
    }
    void append(const std::string& line) {
        std::lock_guard lock(m_mutex);
        if (m_buffer.size() < (8 << 20)) // stderr blocked: drop lines rather than grow forever
            m_buffer += line;
    }

  private:
    // Only the writer thread (and the destructor, after it) flushes. The two buffers are swapped
    // back and forth and keep their capacity: regrowing and freeing a large buffer on every
    // flush showed up as malloc consolidation under load.
    void flush() {
        {
            std::lock_guard lock(m_mutex);
            m_out.swap(m_buffer);
        }
        if (!m_out.empty())
            std::fwrite(m_out.data(), 1, m_out.size(), stderr);
        m_out.clear();
    }
    void run(std::stop_token stop) {
        while (!stop.stop_requested()) {
            {
                std::unique_lock lock(m_mutex);
                m_wake.wait_for(lock, stop, std::chrono::milliseconds(50), [] { return false; });
            }
            flush();
        }
    }
    std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::string m_buffer;
    std::string m_out;
    std::jthread m_writer;
};

} // namespace detail

struct Server::Impl {
    ServerOptions options;
    detail::Limits limits;
    detail::LogSink log; // destroyed after the loop has stopped: the last lines are flushed
    std::vector<detail::Route> routes;
    std::vector<std::pair<std::string, std::string>> route_list;

    int listen_fd = -1;
    int epoll_fd = -1;
    int wake_fd = -1; // level-triggered: once written, every worker sees it and leaves
    char listen_tag = 0, wake_tag = 0;

    std::atomic<bool> stopping = false;
    std::atomic<bool> accept_paused = false; // out of descriptors: the sweeper re-arms
    std::mutex registry_mutex;
    std::unordered_set<detail::Connection*> connections;
    std::mutex stop_mutex;
    std::condition_variable stop_cv;
    bool stop_requested = false;

    void worker();
    void accept_ready();
    void serve(detail::Connection* c, std::uint32_t events);
    bool read_available(detail::Connection* c);
    // Takes the next complete request off `c->in` and queues its answer; false when the
    // request is not complete yet.
    bool next_request(detail::Connection* c);
    // A request whose body is still coming: refuses it when it cannot complete, sends the 100
    // Continue it asked for; false when it is simply waiting.
    bool await_body(detail::Connection* c);
    void answer(detail::Connection* c, Request& req, const detail::Head& head);
    void queue(detail::Connection* c, const Request& req, Response& res, bool keep_alive,
               bool head_only, bool http10);
    void refuse(detail::Connection* c, int status);
    bool flush(detail::Connection* c);
    void arm(detail::Connection* c, std::uint32_t events, detail::Clock::time_point deadline);
    void close_connection(detail::Connection* c);
    // Everything queued is sent and the connection ends: shut down our side, then linger.
    void finish(detail::Connection* c);
    void linger(detail::Connection* c);
    void sweep(bool closing_idle);
    // The read cap: one request's head and body and one read more.
    std::size_t read_cap() const {
        return limits.max_head + limits.max_body + detail::k_read_chunk;
    }
    // Forgets the request being read.
    static void reset_request(detail::Connection* c);
    const detail::Route* find_route(Request& req, std::string& allowed) const;
    // Calls the route's handler, through options.around when set.
    Response run(const detail::Route& route, const Request& req) const;
};

} // namespace keysat::http
