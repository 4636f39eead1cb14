#include "keysat/http/server.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stop_token>
#include <sys/socket.h>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "keysat/http/file_response.hpp"

namespace keysat::http {

namespace {

// httplib::Server keeps its listening socket protected; the default backlog of 5 overflows
// under 64 clients, so we re-listen it with a large backlog after binding.
class TunedServer : public httplib::Server {
  public:
    void widen_backlog() { ::listen(svr_sock_, 4096); }
};

using Clock = std::chrono::steady_clock;
thread_local Clock::time_point t_request_start;

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

std::string log_line(bool json, const httplib::Request& req, int status, double ms) {
    // The path only: query strings can hold tokens and must never reach a log.
    if (json)
        return fmt::format(R"({{"method":"{}","path":"{}","status":{},"ms":{:.2f},"remote":"{}"}})",
                           loggable(req.method, true), loggable(req.path, true), status, ms,
                           req.remote_addr);
    return fmt::format("{} {} {} {:.2f}ms {}", loggable(req.method, false),
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
    LogSink log; // destroyed after the server: the last lines are flushed
    std::vector<std::pair<std::string, std::string>> routes;
    TunedServer server;
};

Server::Server(ServerOptions options) : m_impl(std::make_unique<Impl>()) {
    m_impl->options = std::move(options);
    auto& s = m_impl->server;
    const auto& o = m_impl->options;
    int threads = o.threads;
    s.new_task_queue = [threads] {
        return new httplib::ThreadPool(static_cast<std::size_t>(threads));
    };
    s.set_tcp_nodelay(true);
    s.set_keep_alive_max_count(static_cast<std::size_t>(o.keep_alive_max));
    s.set_keep_alive_timeout(o.keep_alive_timeout_s);
    s.set_read_timeout(10, 0);
    s.set_write_timeout(10, 0);
    s.set_payload_max_length(o.max_body_bytes);
    auto error_body = o.error_body;
    s.set_error_handler([error_body](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || !error_body)
            return;
        Response r = error_body(res.status);
        res.set_content(r.body, r.content_type.c_str());
    });
    s.set_exception_handler(
        [error_body](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
            res.status = 500;
            if (error_body) {
                Response r = error_body(500);
                res.set_content(r.body, r.content_type.c_str());
            }
        });
    bool json = o.log_json;
    LogSink* sink = &m_impl->log;
    s.set_logger([json, sink](const httplib::Request& req, const httplib::Response& res) {
        double ms = 0;
        if (t_request_start != Clock::time_point{})
            ms = std::chrono::duration<double, std::milli>(Clock::now() - t_request_start).count();
        t_request_start = {};
        sink->append(log_line(json, req, res.status, ms) + "\n");
    });
    // Each request is parsed, routed and logged on one worker thread, so a thread-local clock
    // reading times it.
    s.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
        t_request_start = Clock::now();
        return httplib::Server::HandlerResponse::Unhandled;
    });
}

Server::~Server() = default;

const std::vector<std::pair<std::string, std::string>>& Server::routes() const {
    return m_impl->routes;
}

void Server::route(const std::string& method, const std::string& pattern, Handler handler) {
    m_impl->routes.emplace_back(method, pattern);
    auto adapter = [handler = std::move(handler)](const httplib::Request& req,
                                                  httplib::Response& res) {
        // cpp-httplib applies a Range header to every response after the handler (slicing even
        // JSON error bodies) and keeps a 200 status while doing it. Ranges are ours to handle
        // (file bodies only), so its parsed ranges are dropped. The request object is a
        // non-const local of the library's request loop, so this is well defined.
        const_cast<httplib::Request&>(req).ranges.clear();
        Request r;
        r.method = req.method;
        r.path = req.path;
        r.body = req.body;
        r.remote_addr = req.remote_addr;
        for (const auto& [k, v] : req.headers) {
            std::string lower = k;
            for (auto& c : lower)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            // Repeated header lines are one comma-separated list (RFC 9110), in arrival
            // order: a proxy's X-Forwarded-For line after a client's must not be lost.
            auto [it, fresh] = r.headers.emplace(lower, v);
            if (!fresh)
                it->second += ", " + v;
        }
        for (const auto& [k, v] : req.params)
            r.query.emplace(k, v);
        for (std::size_t i = 1; i < req.matches.size(); ++i)
            r.params.push_back(req.matches[i].str());
        Response out = handler(r);
        res.status = out.status;
        for (const auto& [k, v] : out.headers)
            res.set_header(k, v);
        if (out.file && out.status == 200)
            send_file(req, res, out);
        else
            res.set_content(out.body, out.content_type.c_str());
    };
    auto& s = m_impl->server;
    if (method == "GET")
        s.Get(pattern, adapter);
    else if (method == "POST")
        s.Post(pattern, adapter);
    else if (method == "PUT")
        s.Put(pattern, adapter);
    else if (method == "PATCH")
        s.Patch(pattern, adapter);
    else if (method == "DELETE")
        s.Delete(pattern, adapter);
}

Expected<int> Server::bind(const std::string& host, int port) {
    auto& s = m_impl->server;
    int bound = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
    if (bound < 0)
        return usage_error(fmt::format("cannot listen on {}:{} (in use, or not an address of this "
                                       "machine)",
                                       host, port));
    s.widen_backlog();
    return bound;
}

void Server::run() {
    m_impl->server.listen_after_bind();
}

void Server::stop() {
    m_impl->server.stop();
}

} // namespace keysat::http

namespace keysat::http {

ClientResult post(const std::string& url, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  int connect_timeout_s, int read_timeout_s) {
    // Split scheme://host[:port] from the path.
    auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos)
        return {0, "not an absolute URL"};
    auto path_start = url.find('/', scheme_end + 3);
    std::string origin = url.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
    httplib::Client client(origin);
    client.set_connection_timeout(connect_timeout_s, 0);
    client.set_read_timeout(read_timeout_s, 0);
    client.set_write_timeout(read_timeout_s, 0);
    httplib::Headers h(headers.begin(), headers.end());
    auto r = client.Post(path, h, body, "application/json");
    if (!r)
        return {0, httplib::to_string(r.error())};
    return {r->status, ""};
}

} // namespace keysat::http
