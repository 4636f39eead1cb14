// Writing answers: the status line and headers the server owns, bodies and file bodies in
// chunks, and the request log's lines.
#include "keysat/http/server_impl.hpp"

namespace keysat::http {

using namespace detail;

namespace {

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

// Headers the server sets itself.
bool framing_header(const std::string& name) {
    std::string n = name;
    for (auto& ch : n)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return n == "content-length" || n == "transfer-encoding" || n == "connection" || n == "date" ||
           n == "content-type";
}

} // namespace

std::string detail::log_line(bool json, const Request& req, int status, double ms,
                             std::string_view path) {
    // The path only: query strings can hold tokens and must never reach a log.
    std::string shown(path.empty() ? std::string_view(req.path) : path);
    if (json)
        return fmt::format(R"({{"method":"{}","path":"{}","status":{},"ms":{:.2f},"remote":"{}"}})"
                           "\n",
                           loggable(req.method, true), loggable(shown, true), status, ms,
                           req.remote_addr);
    return fmt::format("{} {} {} {:.2f}ms {}\n", loggable(req.method, false),
                       loggable(shown, false), status, ms, req.remote_addr);
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
