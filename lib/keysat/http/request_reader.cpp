// Reading requests: bytes off the socket, the head and body parsed (parser.cpp), the route
// found and its handler run; refusals for requests that cannot be served.
#include "keysat/http/server_impl.hpp"

namespace keysat::http {

using namespace detail;

std::vector<char>& detail::read_buffer() {
    thread_local std::vector<char> t_buffer(k_read_chunk);
    return t_buffer;
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

Response Server::Impl::run(const Route& route, const Request& req) const {
    return options.around ? options.around(req, route.handler) : route.handler(req);
}

Response Server::dispatch(Request req) const {
    std::string allowed;
    const Route* route = m_impl->find_route(req, allowed);
    if (route)
        return m_impl->run(*route, req);
    int status = allowed.empty() ? 404 : 405;
    Response res = m_impl->options.error_body ? m_impl->options.error_body(status) : Response{};
    res.status = status;
    return res;
}

void Server::Impl::answer(Connection* c, Request& req, const detail::Head& head) {
    auto start = Clock::now();
    bool head_only = req.method == "HEAD";
    std::string allowed;
    const Route* route = find_route(req, allowed);
    Response res;
    if (route) {
        try {
            res = run(*route, req);
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
    std::string log_path = std::move(res.log_path);
    queue(c, req, res, keep_alive, head_only, head.http10);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    log.append(log_line(options.log_json, req, res.status, ms, log_path));
    if (options.observe)
        options.observe(req.method, route ? route->pattern : std::string(), res.status, ms / 1000);
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

} // namespace keysat::http
