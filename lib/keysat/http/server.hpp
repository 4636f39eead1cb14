#pragma once
// The HTTP/1.1 server: an epoll event loop served by a small pool of worker threads, behind our
// own request and response types. A connection holds a thread only while one of its requests is
// being read, handled or written, so idle keep-alive clients cost no thread and a slow handler
// holds up only its own client. Request log without query strings, limits on every part of a
// request, timeouts on idle and slow clients, graceful stop.

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keysat/util/error.hpp"

namespace keysat::http {

struct Request {
    std::string method;
    std::string path; // without the query string
    std::string body;
    std::map<std::string, std::string> headers; // lower-case names
    std::multimap<std::string, std::string> query;
    std::vector<std::string> params; // regex captures of the route
    std::string remote_addr;
    // Set only by an in-process caller of Server::dispatch (never from the wire): who the caller
    // has already authenticated, for the handler to authorize (the console's signed-in operator).
    std::any on_behalf_of;

    // A header's value, or empty.
    std::string header(const std::string& lower_name) const;
    // A query parameter's first value, or nullopt.
    std::optional<std::string> query_value(const std::string& name) const;
};

// An open regular file sent as a response body. Owns the descriptor (closed on destruction);
// shared so that the server can keep it open while it streams.
struct FileBody {
    FileBody(int fd, std::uint64_t size, std::int64_t mtime_ns);
    ~FileBody();
    FileBody(const FileBody&) = delete;
    FileBody& operator=(const FileBody&) = delete;

    int fd = -1;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0; // modification time, nanoseconds since the epoch
    // A file made for this one answer (a backup copy): sent whole, without ETag, Last-Modified,
    // 304s or ranges, since no later request can ask for the same bytes.
    bool whole_only = false;

    // The entity tag the server sends for this file: "<size>-<mtime>" in hex, quoted.
    std::string etag() const;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    // When set (and status is 200), the file is the body instead of `body`: the server streams
    // it with pread in 256 KiB chunks (constant memory), sends ETag, Last-Modified and
    // Accept-Ranges, answers If-None-Match (or an If-Modified-Since echoing Last-Modified) with 304
    // and a single-range Range (honouring If-Range) with 206 or 416, and sends no body for HEAD.
    std::shared_ptr<FileBody> file;
    // When set, the request log shows this instead of the request's path (a path that holds a
    // secret, such as Zaprite's webhook URL).
    std::string log_path;
};

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
    int threads = 8;              // workers: requests handled at once
    int keep_alive_max = 1000;    // requests per connection
    int keep_alive_timeout_s = 5; // an idle connection is closed after this
    int read_timeout_s = 10;      // a request's head must arrive within this; then per read
    int write_timeout_s = 10;     // a client that reads nothing for this long is dropped
    int max_connections = 10000;  // more are closed as soon as they are accepted
    std::size_t max_body_bytes = 1 << 20;
    bool log_json = false;
    // Builds the body of an error the server produces itself (404, 405, 413, 500).
    std::function<Response(int status)> error_body;
    // Runs each matched route's handler instead of calling it directly: a hook that may look at
    // what the handler did and change its answer (keysat-serve: a write refused for want of
    // disk space becomes a 503). Also used by dispatch().
    std::function<Response(const Request&, const Handler&)> around;
    // Called after each answer with the route's pattern ("" when none matched), its status and
    // how long it took (the metrics' source); must not block.
    std::function<void(const std::string& method, const std::string& route, int status,
                       double seconds)>
        observe;
};

class Server {
  public:
    explicit Server(ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Routes: `pattern` is a regular expression over the path; captures become Request::params.
    void route(const std::string& method, const std::string& pattern, Handler handler);
    // Answers `req` in this thread as the route registered for its method and path would (404 or
    // 405 without one): for a handler that builds a request for another route, such as a console
    // form that becomes an admin API call.
    Response dispatch(Request req) const;
    // Every route registered so far: (method, pattern), in registration order.
    const std::vector<std::pair<std::string, std::string>>& routes() const;

    // Binds host:port (port 0: any free port) with a large listen backlog; returns the port.
    Expected<int> bind(const std::string& host, int port);
    // Serves until stop(): then stops accepting, closes idle connections, lets requests in
    // flight finish (for at most the write timeout) and returns.
    void run();
    // Safe from any thread, also before run() (run() then returns at once).
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace keysat::http
