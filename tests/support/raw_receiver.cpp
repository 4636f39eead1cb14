#include "support/raw_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace keysat::test {

RawReceiver::RawReceiver(Handler handle) : m_handle(std::move(handle)) {
    m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_listen < 0)
        throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(m_listen, 64) != 0 ||
        ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error("bind failed");
    m_port = ntohs(addr.sin_port);
    m_acceptor = std::thread([this] {
        while (!m_stopping) {
            pollfd p{m_listen, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0)
                continue;
            int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            ++m_connections;
            std::lock_guard lock(m_mutex);
            m_threads.emplace_back([this, fd] {
                m_handle(fd, m_stopping);
                ::close(fd);
            });
        }
    });
}

RawReceiver::~RawReceiver() {
    m_stopping = true;
    m_acceptor.join();
    std::lock_guard lock(m_mutex);
    for (auto& t : m_threads)
        t.join();
    ::close(m_listen);
}

std::string RawReceiver::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
}

std::string RawReceiver::read_head(int fd) {
    std::string head;
    char c;
    while (head.size() < 65536 && head.find("\r\n\r\n") == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0 || ::recv(fd, &c, 1, 0) != 1)
            return {};
        head += c;
    }
    return head;
}

std::string RawReceiver::read_request(int fd) {
    std::string head = read_head(fd);
    std::string lower = head;
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto at = lower.find("\r\ncontent-length:");
    std::size_t length = at == std::string::npos ? 0 : std::stoul(head.substr(at + 17));
    std::string body(length, '\0');
    std::size_t got = 0;
    while (got < length) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0)
            return {};
        auto n = ::recv(fd, body.data() + got, length - got, 0);
        if (n <= 0)
            return {};
        got += static_cast<std::size_t>(n);
    }
    return head + body;
}

bool RawReceiver::write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

} // namespace keysat::test
