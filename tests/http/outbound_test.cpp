// The outbound policy and client: URL parsing, every loopback spelling, private ranges, the
// server's own address, and receivers on loopback that answer too much, compress, trickle or
// never answer.

#include <catch2/catch.hpp>

#include <chrono>
#include <stop_token>
#include <thread>

#include <poll.h>
#include <sys/socket.h>

#include "keysat/http/client.hpp"
#include "keysat/http/outbound.hpp"
#include "keysat/util/encoding.hpp"
#include "support/raw_receiver.hpp"
#include "support/support.hpp"

using namespace keysat;
using namespace std::chrono_literals;
using test::RawReceiver;

namespace {

http::OutboundPolicy allow_loopback() {
    http::OutboundPolicy p;
    p.allow.push_back(*net::parse_cidr("127.0.0.1/32"));
    return p;
}

// Waits until `stopping` or `ms` passed.
void idle(const std::atomic<bool>& stopping, int ms) {
    for (int i = 0; i < ms / 10 && !stopping; ++i)
        std::this_thread::sleep_for(10ms);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

TEST_CASE("outbound URLs are parsed one way, and errors name the part", "[http][outbound]") {
    auto u = http::parse_url("HTTPS://ops:pw@Hooks.example:8443/in/x?y=1#frag");
    REQUIRE(u);
    CHECK(u->scheme == "https");
    CHECK(u->host == "Hooks.example");
    CHECK(u->port == 8443);
    CHECK(u->target == "/in/x?y=1");
    CHECK(u->userinfo == "ops:pw");
    CHECK(u->host_header() == "Hooks.example:8443");
    auto v6 = http::parse_url("http://[fd00::1]:9/v6");
    REQUIRE(v6);
    CHECK(v6->host == "fd00::1");
    CHECK(v6->host_header() == "[fd00::1]:9");
    auto bare = http::parse_url("http://h.example?x=1");
    REQUIRE(bare);
    CHECK(bare->target == "/?x=1");
    CHECK(bare->port == 80);
    CHECK(bare->host_header() == "h.example");
    for (const auto& [bad, says] :
         std::vector<std::pair<std::string, std::string>>{{"ftp://h.example/", "http://"},
                                                          {"h.example/x", "http://"},
                                                          {"http:///x", "no host"},
                                                          {"http://h.example:0/", "port"},
                                                          {"http://h.example:99999/", "port"},
                                                          {"http://h.example:/", "port"},
                                                          {"http://h.example:8x/", "port"},
                                                          {"http://a b/", "spaces"},
                                                          {"http://h.example/\r\nX: y", "control"},
                                                          {"http://[::1/", "']'"},
                                                          {"http://[::1]x/", "after its IPv6"},
                                                          {"http://[fe80::1%eth0]/", "IPv6"},
                                                          {"http://[not-v6]/", "IPv6"}}) {
        INFO(bad);
        auto e = http::parse_url(bad);
        REQUIRE_FALSE(e);
        CHECK_THAT(e.error().message, Catch::Contains(says));
    }
}

TEST_CASE("the outbound policy refuses every loopback spelling and the other forbidden classes",
          "[http][outbound][security]") {
    http::OutboundPolicy policy;
    for (const auto& [url, cls] : std::vector<std::pair<std::string, std::string>>{
             {"http://127.0.0.1:8080/v1/admin/products", "loopback"},
             {"http://localhost/", "loopback"},
             {"http://LOCALHOST/", "loopback"},
             {"http://[::1]/", "loopback"},
             {"http://2130706433/", "loopback"},
             {"http://0177.0.0.1/", "loopback"},
             {"http://0x7f000001/", "loopback"},
             {"http://127.1/", "loopback"},
             {"http://127.255.255.254/", "loopback"},
             {"http://[::ffff:127.0.0.1]/", "loopback"},
             {"http://169.254.169.254/latest/meta-data/", "link-local"},
             {"http://[fe80::1]/", "link-local"},
             {"http://0.0.0.0/", "unspecified"},
             {"http://0/", "unspecified"},
             {"http://[::]/", "unspecified"},
             {"http://224.0.0.1/", "multicast"},
             {"http://[ff02::1]/", "multicast"},
             {"http://255.255.255.255/", "reserved"},
             {"http://[::127.0.0.1]/", "reserved"},
             {"http://[64:ff9b::7f00:1]/", "reserved"},
             {"http://[2001:0:4136:e378::1]/", "reserved"},
             {"http://192.0.0.170/", "reserved"},
             {"http://198.18.0.1/", "reserved"},
             {"http://100.100.100.200/latest/meta-data/", "cloud metadata"},
             {"http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"}}) {
        INFO(url);
        auto v = http::vet(policy, url, 2s);
        REQUIRE_FALSE(v);
        CHECK(http::is_refusal(v.error()));
        CHECK_THAT(v.error().message, Catch::Contains(cls));
    }
    // Private ranges are allowed unless the operator denies them; public addresses always.
    http::OutboundPolicy deny;
    deny.deny_private = true;
    for (const char* url : {"http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.10/",
                            "http://100.64.0.1/", "http://[fd00::1]/"}) {
        INFO(url);
        CHECK(http::vet(policy, url, 2s));
        auto v = http::vet(deny, url, 2s);
        REQUIRE_FALSE(v);
        CHECK_THAT(v.error().message, Catch::Contains("private"));
    }
    for (const char* url : {"http://93.184.216.34/", "https://[2606:4700::1111]/"}) {
        INFO(url);
        CHECK(http::vet(deny, url, 2s));
    }
    // An allowed range is exact; the server's own listening address stays refused.
    auto allowed = allow_loopback();
    allowed.own.emplace_back(*net::parse_address("127.0.0.1"), 8080);
    CHECK(http::vet(allowed, "http://127.0.0.1:9000/hook", 2s));
    CHECK(http::vet(allowed, "http://2130706433:9000/hook", 2s)); // same address, any spelling
    CHECK_FALSE(http::vet(allowed, "http://127.0.0.2:9000/hook", 2s));
    CHECK_FALSE(http::vet(allowed, "http://[::1]:9000/hook", 2s));
    auto own = http::vet(allowed, "http://127.0.0.1:8080/v1/admin/products", 2s);
    REQUIRE_FALSE(own);
    CHECK_THAT(own.error().message, Catch::Contains("own listening address"));
}

TEST_CASE("the client sends the checked request: Host, basic auth from the URL, no compression",
          "[http][outbound]") {
    std::string seen;
    std::mutex m;
    RawReceiver r([&](int fd, const std::atomic<bool>&) {
        auto req = RawReceiver::read_request(fd);
        {
            std::lock_guard lock(m);
            seen = req;
        }
        RawReceiver::write_all(fd, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    });
    auto policy = allow_loopback();
    http::ClientRequest req;
    req.url = "http://ops:p%40ss@127.0.0.1:" + std::to_string(r.port()) + "/in?x=1#frag";
    req.body = R"({"a":1})";
    req.headers = {{"X-Test", "1"}};
    req.policy = &policy;
    auto res = http::send(req);
    REQUIRE(res.outcome == http::Outcome::answered);
    CHECK(res.status == 201);
    CHECK(res.body == "ok");
    CHECK_FALSE(res.truncated);
    std::lock_guard lock(m);
    CHECK(seen.starts_with("POST /in?x=1 HTTP/1.1\r\n"));
    CHECK_THAT(seen, Catch::Contains("Host: 127.0.0.1:" + std::to_string(r.port()) + "\r\n"));
    CHECK_THAT(seen, Catch::Contains("Authorization: Basic " +
                                     base64_encode(as_bytes(std::string("ops:p@ss"))) + "\r\n"));
    CHECK_THAT(seen, Catch::Contains("Accept-Encoding: identity\r\n"));
    CHECK_THAT(seen, Catch::Contains("X-Test: 1\r\n"));
    CHECK(seen.ends_with("\r\n\r\n{\"a\":1}"));
}

TEST_CASE("the client refuses before connecting, and reports failures by kind",
          "[http][outbound][security]") {
    RawReceiver r([](int fd, const std::atomic<bool>&) {
        RawReceiver::read_request(fd);
        RawReceiver::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    });
    http::OutboundPolicy policy; // loopback refused
    http::ClientRequest req;
    req.url = r.url();
    req.policy = &policy;
    auto refused = http::send(req);
    CHECK(refused.outcome == http::Outcome::refused);
    CHECK_THAT(refused.error, Catch::Contains("loopback"));
    CHECK(r.connections() == 0);

    auto allowed = allow_loopback();
    req.policy = &allowed;
    CHECK(http::send(req).outcome == http::Outcome::answered);
    CHECK(r.connections() == 1);

    int closed_port = 0;
    {
        RawReceiver gone([](int, const std::atomic<bool>&) {});
        closed_port = gone.port();
    }
    req.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/";
    auto failed = http::send(req);
    CHECK(failed.outcome == http::Outcome::failed);
    CHECK(failed.status == 0);
    CHECK_FALSE(failed.error.empty());
    req.url = "http://name.invalid/";
    auto lookup = http::send(req);
    CHECK(lookup.outcome == http::Outcome::failed);
    CHECK_THAT(lookup.error, Catch::Contains("name.invalid"));
}

TEST_CASE("the client reads 64 KiB of a reply, drops the rest and never decompresses",
          "[http][outbound][security]") {
    std::atomic<std::size_t> sent = 0;
    RawReceiver huge([&](int fd, const std::atomic<bool>& stopping) {
        RawReceiver::read_request(fd);
        if (!RawReceiver::write_all(fd,
                                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    "Content-Encoding: gzip\r\nContent-Length: 314572800\r\n\r\n"))
            return;
        // Not gzip at all: a client that tried to decompress would fail instead of answering.
        std::string chunk(65536, 'x');
        for (std::size_t i = 0; i < 4800 && !stopping; ++i) {
            if (!RawReceiver::write_all(fd, chunk))
                return;
            sent += chunk.size();
        }
    });
    auto policy = allow_loopback();
    http::ClientRequest req;
    req.url = huge.url();
    req.policy = &policy;
    auto t0 = std::chrono::steady_clock::now();
    auto res = http::send(req);
    CHECK(seconds_since(t0) < 2.0);
    REQUIRE(res.outcome == http::Outcome::answered);
    CHECK(res.status == 200);
    CHECK(res.truncated);
    CHECK(res.body == std::string(65536, 'x'));
    // The client closed the connection instead of draining 300 MB.
    std::this_thread::sleep_for(200ms);
    CHECK(sent.load() < 64u * 1024 * 1024);

    req.max_reply_bytes = 10;
    auto small = http::send(req);
    REQUIRE(small.outcome == http::Outcome::answered);
    CHECK(small.body == "xxxxxxxxxx");
}

TEST_CASE("one deadline covers the whole exchange, however the receiver stalls",
          "[http][outbound][security]") {
    auto policy = allow_loopback();
    http::ClientRequest req;
    req.policy = &policy;
    req.deadline = 800ms;

    SECTION("a receiver that never answers") {
        RawReceiver silent([](int fd, const std::atomic<bool>& stopping) {
            RawReceiver::read_request(fd);
            idle(stopping, 30000);
        });
        req.url = silent.url();
        auto t0 = std::chrono::steady_clock::now();
        auto res = http::send(req);
        CHECK(res.outcome == http::Outcome::timed_out);
        CHECK(seconds_since(t0) < 1.6);
    }
    SECTION("a receiver trickling its status line a byte every 100 ms") {
        RawReceiver trickle([](int fd, const std::atomic<bool>& stopping) {
            RawReceiver::read_request(fd);
            std::string head = "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(10000, 'p');
            for (char c : head) {
                if (stopping || !RawReceiver::write_all(fd, std::string_view(&c, 1)))
                    return;
                idle(stopping, 100);
            }
        });
        req.url = trickle.url();
        auto t0 = std::chrono::steady_clock::now();
        auto res = http::send(req);
        CHECK(res.outcome == http::Outcome::timed_out);
        CHECK(res.status == 0);
        CHECK(seconds_since(t0) < 1.6);
    }
    SECTION("a receiver that answers, then trickles its body") {
        RawReceiver trickle([](int fd, const std::atomic<bool>& stopping) {
            RawReceiver::read_request(fd);
            RawReceiver::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
            for (int i = 0; i < 1000 && !stopping; ++i) {
                if (!RawReceiver::write_all(fd, "b"))
                    return;
                idle(stopping, 100);
            }
        });
        req.url = trickle.url();
        auto t0 = std::chrono::steady_clock::now();
        auto res = http::send(req);
        CHECK(res.outcome == http::Outcome::answered); // the status came in time
        CHECK(res.status == 200);
        CHECK(res.truncated);
        CHECK(res.body.size() < 1000);
        CHECK(seconds_since(t0) < 1.6);
    }
    SECTION("the caller cancels") {
        RawReceiver silent([](int fd, const std::atomic<bool>& stopping) {
            RawReceiver::read_request(fd);
            idle(stopping, 30000);
        });
        req.url = silent.url();
        req.deadline = 20s;
        std::stop_source stop;
        std::jthread canceller([&] {
            std::this_thread::sleep_for(200ms);
            stop.request_stop();
        });
        auto t0 = std::chrono::steady_clock::now();
        auto res = http::send(req, stop.get_token());
        CHECK(res.outcome == http::Outcome::failed);
        CHECK(res.error == "cancelled");
        CHECK(seconds_since(t0) < 1.5);
    }
}
