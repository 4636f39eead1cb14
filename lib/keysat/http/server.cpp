#include "keysat/http/server.hpp"

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

namespace {

using Clock = std::chrono::steady_clock;

// The path as logged: decoded paths can hold any byte, so quotes, backslashes, control
// characters (and, in JSON lines, non-ASCII bytes) are escaped: no request can forge or break a
// log line.
std::string loggable(const std::string& path, bool json) {
    std::string out;
    for (unsigned char c : path) {
        bool plain = c >= 0x20 && c != 0x7f && c != '"' && c != '\\' && (!json || c < 0x80);
        if (plain)
            out += static_cast<char>(c);
        else
            out += json ? fmt::format("\\u{:04x}", c) : fmt::format("\\x{:02x}", c);
    }
    return out;
}

std::string log_line(bool json, const Request& req, int status, double ms) {
    // The path only: query strings can hold tokens and must never reach a log.
    if (json)
        return fmt::format(R"({{"method":"{}","path":"{}","status":{},"ms":{:.2f},"remote":"{}"}})"
                           "\n",
                           loggable(req.method, true), loggable(req.path, true), status, ms,
                           req.remote_addr);
    return fmt::format("{} {} {} {:.2f}ms {}\n", loggable(req.method, false),
                       loggable(req.path, false), status, ms, req.remote_addr);
}

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

const char* reason_phrase(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}

// The Date header's value, formatted once a second per thread.
const std::string& http_date_now() {
    thread_local std::time_t t_last = 0;
    thread_local std::string t_text;
    std::time_t now = std::time(nullptr);
    if (now != t_last) {
        std::tm tm{};
        ::gmtime_r(&now, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        t_text = buf;
        t_last = now;
    }
    return t_text;
}

std::string address_text(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, buf, sizeof buf);
    else if (ss.ss_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr, buf,
                    sizeof buf);
    return buf;
}

std::int64_t ns_since_epoch(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Headers the server sets itself.
bool framing_header(const std::string& name) {
    std::string n = name;
    for (auto& ch : n)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return n == "content-length" || n == "transfer-encoding" || n == "connection" || n == "date" ||
           n == "content-type";
}

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
std::vector<char>& read_buffer() {
    thread_local std::vector<char> t_buffer(k_read_chunk);
    return t_buffer;
}

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

} // namespace

std::string Request::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

std::optional<std::string> Request::query_value(const std::string& name) const {
    auto it = query.find(name);
    if (it == query.end())
        return std::nullopt;
    return it->second;
}

struct Server::Impl {
    ServerOptions options;
    detail::Limits limits;
    LogSink log; // destroyed after the loop has stopped: the last lines are flushed
    std::vector<Route> routes;
    std::vector<std::pair<std::string, std::string>> route_list;

    int listen_fd = -1;
    int epoll_fd = -1;
    int wake_fd = -1; // level-triggered: once written, every worker sees it and leaves
    char listen_tag = 0, wake_tag = 0;

    std::atomic<bool> stopping = false;
    std::atomic<bool> accept_paused = false; // out of descriptors: the sweeper re-arms
    std::mutex registry_mutex;
    std::unordered_set<Connection*> connections;
    std::mutex stop_mutex;
    std::condition_variable stop_cv;
    bool stop_requested = false;

    void worker();
    void accept_ready();
    void serve(Connection* c, std::uint32_t events);
    bool read_available(Connection* c);
    // Takes the next complete request off `c->in` and queues its answer; false when the
    // request is not complete yet.
    bool next_request(Connection* c);
    // A request whose body is still coming: refuses it when it cannot complete, sends the 100
    // Continue it asked for; false when it is simply waiting.
    bool await_body(Connection* c);
    void answer(Connection* c, Request& req, const detail::Head& head);
    void queue(Connection* c, const Request& req, Response& res, bool keep_alive, bool head_only,
               bool http10);
    void refuse(Connection* c, int status);
    bool flush(Connection* c);
    void arm(Connection* c, std::uint32_t events, Clock::time_point deadline);
    void close_connection(Connection* c);
    // Everything queued is sent and the connection ends: shut down our side, then linger.
    void finish(Connection* c);
    void linger(Connection* c);
    void sweep(bool closing_idle);
    // The read cap: one request's head and body and one read more.
    std::size_t read_cap() const { return limits.max_head + limits.max_body + k_read_chunk; }
    // Forgets the request being read.
    static void reset_request(Connection* c);
    const Route* find_route(Request& req, std::string& allowed) const;
};

Server::Server(ServerOptions options) : m_impl(std::make_unique<Impl>()) {
    m_impl->options = std::move(options);
    m_impl->limits.max_body = m_impl->options.max_body_bytes;
}

Server::~Server() {
    auto& m = *m_impl;
    std::lock_guard lock(m.registry_mutex);
    for (Connection* c : m.connections) {
        ::close(c->fd);
        delete c;
    }
    m.connections.clear();
    for (int fd : {m.listen_fd, m.epoll_fd, m.wake_fd})
        if (fd >= 0)
            ::close(fd);
}

const std::vector<std::pair<std::string, std::string>>& Server::routes() const {
    return m_impl->route_list;
}

void Server::route(const std::string& method, const std::string& pattern, Handler handler) {
    Route r;
    r.method = method;
    r.pattern = pattern;
    r.literal = pattern.find_first_of("\\^$.|?*+()[]{}") == std::string::npos;
    if (!r.literal)
        r.re = std::regex(pattern);
    r.handler = std::move(handler);
    m_impl->routes.push_back(std::move(r));
    m_impl->route_list.emplace_back(method, pattern);
}

Expected<int> Server::bind(const std::string& host, int port) {
    auto refused = [&] {
        return usage_error(fmt::format("cannot listen on {}:{} (in use, or not an address of this "
                                       "machine)",
                                       host, port));
    };
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0)
        return refused();
    int fd = -1;
    for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 4096) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd < 0)
        return refused();
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    int bound = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                                               : reinterpret_cast<sockaddr_in&>(ss).sin_port);
    m_impl->listen_fd = fd;
    return bound;
}

void Server::stop() {
    std::lock_guard lock(m_impl->stop_mutex);
    m_impl->stop_requested = true;
    m_impl->stop_cv.notify_all();
}

void Server::run() {
    auto& m = *m_impl;
    if (m.listen_fd < 0)
        return;
    {
        std::lock_guard lock(m.stop_mutex);
        if (m.stop_requested)
            return;
    }
    m.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    m.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m.epoll_fd < 0 || m.wake_fd < 0) {
        std::fprintf(stderr, "keysat-serve: cannot create the event loop: %s\n",
                     std::strerror(errno));
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = &m.listen_tag;
    ::epoll_ctl(m.epoll_fd, EPOLL_CTL_ADD, m.listen_fd, &ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &m.wake_tag;
    ::epoll_ctl(m.epoll_fd, EPOLL_CTL_ADD, m.wake_fd, &ev);

    std::vector<std::jthread> workers;
    for (int i = 0; i < std::max(1, m.options.threads); ++i)
        workers.emplace_back([&m] { m.worker(); });

    // This thread sweeps: it ends idle and stuck connections, and carries out stop().
    {
        std::unique_lock lock(m.stop_mutex);
        while (!m.stop_requested) {
            m.stop_cv.wait_for(lock, std::chrono::milliseconds(200));
            lock.unlock();
            m.sweep(false);
            lock.lock();
        }
    }
    // Stop: no new connections; idle ones are closed; requests in flight get their answer
    // (with "Connection: close") for at most the write timeout.
    m.stopping = true;
    ::epoll_ctl(m.epoll_fd, EPOLL_CTL_DEL, m.listen_fd, nullptr);
    // Shut down, so that new clients are refused at once; closed once no worker can be in
    // accept() on it.
    ::shutdown(m.listen_fd, SHUT_RDWR);
    auto give_up = Clock::now() + std::chrono::seconds(m.options.write_timeout_s);
    for (;;) {
        m.sweep(true);
        {
            std::lock_guard lock(m.registry_mutex);
            if (m.connections.empty() || Clock::now() > give_up)
                break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(m.wake_fd, &one, sizeof one);
    workers.clear(); // joins
    ::close(m.listen_fd);
    m.listen_fd = -1;
}

void Server::Impl::worker() {
    epoll_event ev{};
    for (;;) {
        int n = ::epoll_wait(epoll_fd, &ev, 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || ev.data.ptr == &wake_tag)
            return;
        if (ev.data.ptr == &listen_tag)
            accept_ready();
        else
            serve(static_cast<Connection*>(ev.data.ptr), ev.events);
    }
}

void Server::Impl::accept_ready() {
    for (int i = 0; i < 64 && !stopping; ++i) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_paused = true; // the listening socket stays readable: wait for the sweeper
            break;
        }
        auto* c = new Connection;
        c->fd = fd;
        {
            std::lock_guard lock(registry_mutex);
            if (connections.size() >= static_cast<std::size_t>(options.max_connections)) {
                ::close(fd); // full: the client sees its connection closed at once
                delete c;
                continue;
            }
            connections.insert(c);
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->remote = address_text(ss);
        c->between_requests = true; // nothing read yet: stop() may close it
        c->armed_deadline =
            ns_since_epoch(Clock::now() + std::chrono::seconds(options.read_timeout_s));
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
        ev.data.ptr = c;
        if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
            close_connection(c);
    }
    if (!stopping && !accept_paused) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLONESHOT;
        ev.data.ptr = &listen_tag;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listen_fd, &ev);
    }
}

void Server::Impl::arm(Connection* c, std::uint32_t events, Clock::time_point deadline) {
    c->between_requests = c->lingering || (c->in.empty() && !c->sending());
    c->armed_deadline = std::max<std::int64_t>(0, ns_since_epoch(deadline));
    epoll_event ev{};
    // Once the client's FIN is seen, EPOLLRDHUP would stay ready and wake us for ever.
    ev.events = events | (c->rdhup_seen ? 0u : std::uint32_t(EPOLLRDHUP)) | EPOLLONESHOT;
    ev.data.ptr = c;
    // Another worker may take the connection the moment this returns: nothing touches `c` after.
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        c->armed_deadline = -1;
        close_connection(c);
    }
}

void Server::Impl::close_connection(Connection* c) {
    {
        // Under the lock: the sweeper never shuts down a descriptor number already reused.
        std::lock_guard lock(registry_mutex);
        connections.erase(c);
        ::close(c->fd);
    }
    delete c;
}

void Server::Impl::sweep(bool closing_idle) {
    auto now = ns_since_epoch(Clock::now());
    {
        std::lock_guard lock(registry_mutex);
        for (Connection* c : connections) {
            std::int64_t deadline = c->armed_deadline;
            if (deadline < 0) // a worker has it
                continue;
            bool idle = closing_idle && c->between_requests;
            if (!idle && deadline >= now)
                continue;
            // Taken from the workers first: a worker that woke for it at the same moment sees
            // it gone and closes it without reading a request it could not answer. The swap
            // fails if a worker re-armed it (with a new deadline) since it was read above.
            if (!c->armed_deadline.compare_exchange_strong(deadline, -1))
                continue;
            // Shut down, not closed: the shutdown wakes a worker, which closes it, so a
            // connection is only ever freed by a worker.
            ::shutdown(c->fd, SHUT_RDWR);
        }
    }
    if (accept_paused && !stopping) {
        accept_paused = false;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLONESHOT;
        ev.data.ptr = &listen_tag;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listen_fd, &ev);
    }
}

void Server::Impl::finish(Connection* c) {
    if (c->peer_closed) // its FIN is read: nothing unread can turn the close into a reset
        return close_connection(c);
    ::shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    c->in.clear();
    c->last_sent = Clock::now(); // lingering lasts two seconds from here
    linger(c);
}

void Server::Impl::linger(Connection* c) {
    auto& sink = read_buffer();
    for (;;) {
        ssize_t n = ::recv(c->fd, sink.data(), sink.size(), 0);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return arm(c, EPOLLIN, c->last_sent + std::chrono::seconds(2));
        return close_connection(c); // the client closed (or failed): done
    }
}

void Server::Impl::serve(Connection* c, std::uint32_t events) {
    if (c->armed_deadline.exchange(-1) < 0)
        return close_connection(c); // the sweeper took it (timeout or stop)
    if (events & (EPOLLRDHUP | EPOLLHUP))
        c->rdhup_seen = true; // what it sent before is still read below
    if (c->lingering)
        return linger(c);
    const auto write_timeout = std::chrono::seconds(options.write_timeout_s);
    if (!flush(c))
        return close_connection(c);
    if (c->sending())
        return arm(c, EPOLLOUT, c->last_sent + write_timeout);
    if (c->close_after)
        return finish(c);
    // After the FIN no EPOLLIN/EPOLLRDHUP wake-up comes: read whatever is left now.
    bool readable = (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ||
                    (c->rdhup_seen && !c->peer_closed);
    if (readable && !read_available(c))
        return close_connection(c);
    for (int turn = 0; turn < k_requests_per_turn; ++turn) {
        if (!next_request(c))
            break;
        if (!flush(c))
            return close_connection(c);
        if (c->sending())
            return arm(c, EPOLLOUT, c->last_sent + write_timeout);
        if (c->close_after)
            return finish(c);
        if (turn + 1 == k_requests_per_turn && !c->in.empty())
            // More pipelined requests: come back after others had their turn (the socket is
            // writable, so EPOLLOUT fires at once).
            return arm(c, EPOLLOUT, Clock::now() + write_timeout);
    }
    if (c->peer_closed)
        return close_connection(c);
    const auto read_timeout = std::chrono::seconds(options.read_timeout_s);
    if (c->in.empty() && c->head_started == Clock::time_point{}) {
        // Idle between requests: a large buffer left by an upload or a download is given back.
        if (c->in.capacity() > k_read_chunk)
            std::string().swap(c->in);
        if (c->out.capacity() > k_read_chunk)
            std::string().swap(c->out);
        return arm(c, EPOLLIN, Clock::now() + std::chrono::seconds(options.keep_alive_timeout_s));
    }
    // Part of a request: its head must be complete within the read timeout of its first byte
    // (slowloris); then each read of its body must come within the read timeout, and the whole
    // body at a minimum average rate.
    auto deadline = c->head_started + read_timeout;
    if (c->head_complete) {
        std::uint64_t expected = c->head.chunked ? limits.max_body : c->head.content_length;
        deadline = std::min(Clock::now() + read_timeout,
                            deadline + std::chrono::seconds(expected / k_min_body_bytes_per_s));
    }
    arm(c, EPOLLIN, deadline);
}

void Server::Impl::reset_request(Connection* c) {
    c->head_started = {};
    c->head_complete = false;
    c->continue_sent = false;
    c->req = Request{};
    c->chunks = detail::ChunkState{};
}

bool Server::Impl::read_available(Connection* c) {
    // Never more than one request's worth of bytes is buffered.
    const std::size_t cap = read_cap();
    auto& buffer = read_buffer();
    while (c->in.size() < cap) {
        ssize_t n = ::recv(c->fd, buffer.data(), buffer.size(), 0);
        if (n > 0) {
            c->in.append(buffer.data(), static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < buffer.size())
                return true; // drained (saves the recv that would say EAGAIN)
            continue;
        }
        if (n == 0) {
            c->peer_closed = true;
            return true;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    return true;
}

bool Server::Impl::next_request(Connection* c) {
    if (!c->head_complete) {
        // Empty lines before a request line are ignored (RFC 9112 2.2). They start the head's
        // clock too, so that a client sending only those is still timed out.
        if (!c->in.empty() && c->head_started == Clock::time_point{})
            c->head_started = Clock::now();
        std::size_t skip = 0;
        while (c->in.compare(skip, 2, "\r\n") == 0)
            skip += 2;
        if (skip)
            c->in.erase(0, skip);
        if (c->in.empty())
            return false;
        auto parsed = detail::parse_head(c->in, limits, c->req, c->head);
        if (parsed.state == detail::Parse::incomplete && !c->peer_closed)
            return false;
        if (parsed.state != detail::Parse::complete) {
            refuse(c, parsed.state == detail::Parse::error ? parsed.status : 400);
            return true;
        }
        c->head_complete = true; // kept with its request: not parsed again while the body comes
    }
    const detail::Head& head = c->head;
    std::size_t consumed = head.bytes;
    if (head.chunked) {
        // Resumed where the last read left it.
        auto body = detail::decode_chunked(std::string_view(c->in).substr(head.bytes),
                                           limits.max_body, c->chunks);
        if (body.state == detail::Parse::error) {
            refuse(c, body.status);
            return true;
        }
        if (body.state == detail::Parse::incomplete)
            return await_body(c);
        consumed += c->chunks.pos;
        c->req.body = std::move(c->chunks.body);
    } else {
        if (c->in.size() - head.bytes < head.content_length)
            return await_body(c);
        c->req.body.assign(c->in, head.bytes, head.content_length);
        consumed += head.content_length;
    }
    c->in.erase(0, consumed);
    Request req = std::move(c->req);
    detail::Head done = head;
    reset_request(c);
    req.remote_addr = c->remote;
    answer(c, req, done);
    return true;
}

bool Server::Impl::await_body(Connection* c) {
    if (c->peer_closed) {
        refuse(c, 400); // the client ended before its body did
        return true;
    }
    // Chunk framing is not body: tiny chunks could fill the buffer below the body limit. A
    // request that fills the read cap unfinished is too large.
    if (c->in.size() >= read_cap()) {
        refuse(c, 413);
        return true;
    }
    if (c->head.expect_continue && !c->continue_sent) {
        c->out += "HTTP/1.1 100 Continue\r\n\r\n";
        c->continue_sent = true;
        c->last_sent = Clock::now();
        return true;
    }
    return false;
}

const Route* Server::Impl::find_route(Request& req, std::string& allowed) const {
    // Routes of the request's method first, so that a request never pays for matching the
    // patterns of other methods; those are only walked to build a 405's Allow list.
    auto serves = [&req](const Route& r) {
        return r.method == req.method || (req.method == "HEAD" && r.method == "GET");
    };
    std::smatch m;
    auto matches = [&](const Route& r) {
        return r.literal ? r.pattern == req.path : std::regex_match(req.path, m, r.re);
    };
    for (const Route& r : routes) {
        if (!serves(r) || !matches(r))
            continue;
        req.params.clear();
        for (std::size_t i = 1; !r.literal && i < m.size(); ++i)
            req.params.push_back(m[i].str());
        return &r;
    }
    for (const Route& r : routes)
        if (allowed.find(r.method) == std::string::npos && matches(r))
            allowed += (allowed.empty() ? "" : ", ") + r.method;
    return nullptr;
}

void Server::Impl::answer(Connection* c, Request& req, const detail::Head& head) {
    auto start = Clock::now();
    bool head_only = req.method == "HEAD";
    std::string allowed;
    const Route* route = find_route(req, allowed);
    Response res;
    if (route) {
        try {
            res = route->handler(req);
        } catch (...) {
            res = Response{};
            res.status = 500;
        }
    } else {
        res.status = allowed.empty() ? 404 : 405;
        if (!allowed.empty()) {
            if (allowed.find("GET") != std::string::npos)
                allowed += ", HEAD";
            res.headers.emplace_back("Allow", allowed);
        }
    }
    bool keep_alive = head.keep_alive && !stopping && ++c->served < options.keep_alive_max;
    queue(c, req, res, keep_alive, head_only, head.http10);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    log.append(log_line(options.log_json, req, res.status, ms));
}

void Server::Impl::refuse(Connection* c, int status) {
    Request req;
    req.method = "-";
    req.path = "-";
    req.remote_addr = c->remote;
    Response res;
    res.status = status;
    c->in.clear(); // what follows a request we could not read cannot be trusted
    reset_request(c);
    queue(c, req, res, false, false, false);
    log.append(log_line(options.log_json, req, status, 0));
}

void Server::Impl::queue(Connection* c, const Request& req, Response& res, bool keep_alive,
                         bool head_only, bool http10) {
    if (res.status < 200 || res.status > 999) { // no interim or malformed status from a handler
        res = Response{};
        res.status = 500;
    }
    if (res.content_type.find_first_of("\r\n") != std::string::npos)
        res.content_type = "application/octet-stream";
    std::uint64_t length = res.body.size();
    if (res.file && res.status == 200) {
        res.body.clear(); // the file is the body
        length = 0;
        FilePlan plan = plan_file(req, *res.file);
        res.status = plan.status;
        res.headers.insert(res.headers.end(), plan.headers.begin(), plan.headers.end());
        length = plan.length;
        if (plan.length > 0 && (plan.status == 200 || plan.status == 206)) {
            c->file = res.file;
            c->file_pos = plan.first;
            c->file_end = plan.first + plan.length;
        }
    }
    res.file.reset();
    if (res.status >= 400 && length == 0 && !c->file && options.error_body) {
        Response e = options.error_body(res.status);
        res.body = std::move(e.body);
        res.content_type = e.content_type;
        length = res.body.size();
    }
    bool bodiless = res.status == 204 || res.status == 304 || res.status < 200;
    std::string& out = c->out;
    out += "HTTP/1.1 ";
    out += std::to_string(res.status);
    out += ' ';
    out += reason_phrase(res.status);
    out += "\r\nDate: ";
    out += http_date_now();
    out += "\r\n";
    if (!bodiless) {
        out += "Content-Type: ";
        out += res.content_type;
        out += "\r\nContent-Length: ";
        out += std::to_string(length);
        out += "\r\n";
    }
    if (!keep_alive)
        out += "Connection: close\r\n";
    else if (http10)
        out += "Connection: keep-alive\r\n";
    for (const auto& [k, v] : res.headers) {
        // A handler's header never ends the head early nor changes the framing set above.
        if (!detail::is_token(k) || v.find_first_of("\r\n") != std::string::npos ||
            framing_header(k))
            continue;
        out += k;
        out += ": ";
        out += v;
        out += "\r\n";
    }
    out += "\r\n";
    if (!head_only && !bodiless && !c->file)
        out += res.body;
    if (head_only || bodiless)
        c->file.reset();
    c->close_after = !keep_alive;
    c->last_sent = Clock::now();
}

bool Server::Impl::flush(Connection* c) {
    for (;;) {
        if (c->out_pos < c->out.size()) {
            ssize_t n =
                ::send(c->fd, c->out.data() + c->out_pos, c->out.size() - c->out_pos, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return errno == EAGAIN || errno == EWOULDBLOCK;
            }
            c->out_pos += static_cast<std::size_t>(n);
            if (n > 0)
                c->last_sent = Clock::now();
            continue;
        }
        c->out.clear();
        c->out_pos = 0;
        if (!c->file)
            return true;
        if (c->file_pos >= c->file_end) {
            c->file.reset();
            if (c->out.capacity() > k_read_chunk)
                c->out.shrink_to_fit();
            return true;
        }
        // The next chunk of the file, read with pread into the output buffer (constant memory).
        std::size_t want = static_cast<std::size_t>(
            std::min<std::uint64_t>(k_file_chunk, c->file_end - c->file_pos));
        c->out.resize(want);
        ssize_t got;
        do
            got = ::pread(c->file->fd, c->out.data(), want, static_cast<off_t>(c->file_pos));
        while (got < 0 && errno == EINTR);
        if (got <= 0) // read error, or the file shrank under us: end the connection
            return false;
        c->out.resize(static_cast<std::size_t>(got));
        c->file_pos += static_cast<std::uint64_t>(got);
    }
}

} // namespace keysat::http
