// The event loop: listening, accepting, the workers that take ready connections, timeouts
// (the sweeper), and each connection's life from accept to close.
#include "keysat/http/server.hpp"

#include "keysat/http/server_impl.hpp"

namespace keysat::http {

using namespace detail;

namespace {

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

} // namespace keysat::http
