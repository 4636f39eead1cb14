// Purchase to key: how long from BTCPay's webhook reaching keysat-serve to the license being
// readable through GET /v1/purchase/:id, over N settlements, against the floor of the same
// server answering GET /v1/purchase/:id for an invoice already settled.
//
// Usage: bench_settle KEYSAT_SERVE N
// It starts keysat-serve on a free loopback port with a BTCPay store configured by hand that
// points at a minimal Greenfield responder in this process (create invoice, get invoice: always
// Settled once the bench says so), makes N purchases, then for each one sends a signed
// InvoiceSettled webhook and polls GET /v1/purchase/:id until it shows the key. Prints p50, p99
// and max of that time and of the floor, in milliseconds, and the ratio p99/floor p99.

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/util/encoding.hpp"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const std::string k_key = "bench-btcpay-key";
const std::string k_store = "BenchStore";
const std::string k_secret = "bench-webhook-secret";
const std::string k_admin = "ksm_bench_admin_key_0123456789abcdef0123";

double ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

struct Stats {
    double p50, p99, max;
};

Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)], v.back()};
}

// A port nothing listens on now (bound, then closed).
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: bench_settle KEYSAT_SERVE N\n");
        return 2;
    }
    std::string serve = argv[1];
    int n = std::atoi(argv[2]);
    if (n < 10) {
        std::fprintf(stderr, "bench_settle: N must be at least 10\n");
        return 2;
    }

    // The Greenfield responder.
    httplib::Server btcpay;
    std::mutex m;
    std::map<std::string, std::string> status;
    int next = 0;
    btcpay.Post(
        R"(/api/v1/stores/([^/]+)/invoices)", [&](const httplib::Request&, httplib::Response& res) {
            std::lock_guard lock(m);
            std::string id = fmt::format("Bench{:010}", ++next);
            status[id] = "New";
            res.set_content(
                json{{"id", id}, {"checkoutLink", "http://127.0.0.1/i/" + id}, {"status", "New"}}
                    .dump(),
                "application/json");
        });
    btcpay.Get(R"(/api/v1/stores/([^/]+)/invoices/([^/]+))", [&](const httplib::Request& req,
                                                                 httplib::Response& res) {
        std::lock_guard lock(m);
        res.set_content(json{{"id", req.matches[2]}, {"status", status[req.matches[2]]}}.dump(),
                        "application/json");
    });
    int btcpay_port = btcpay.bind_to_any_port("127.0.0.1");
    std::thread btcpay_thread([&] { btcpay.listen_after_bind(); });

    // keysat-serve, in a fresh data directory.
    char dir_template[] = "/tmp/keysat-bench-settle.XXXXXX";
    std::string dir = ::mkdtemp(dir_template);
    int port = free_port();
    // Everything the child needs is made before fork (another thread is running).
    std::vector<std::string> env = {fmt::format("BTCPAY_URL=http://127.0.0.1:{}", btcpay_port),
                                    "BTCPAY_API_KEY=" + k_key,
                                    "BTCPAY_STORE_ID=" + k_store,
                                    "BTCPAY_WEBHOOK_SECRET=" + k_secret,
                                    "KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32",
                                    "KEYSAT_ADMIN_API_KEY=" + k_admin,
                                    "KEYSAT_TRUSTED_PROXIES=127.0.0.1",
                                    "KEYSAT_RECONCILE_INTERVAL=3600"}; // the webhook alone settles
    std::vector<std::string> args = {serve, "--bind", fmt::format("127.0.0.1:{}", port),
                                     "--data-dir", dir};
    std::vector<char*> envp, argp;
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    for (auto& a : args)
        argp.push_back(a.data());
    argp.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 2);
        ::execve(argp[0], argp.data(), envp.data());
        ::_exit(127);
    }
    httplib::Client client("127.0.0.1", port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(10, 0);
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
        up = static_cast<bool>(client.Get("/healthz"));
        if (!up)
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (!up) {
        std::fprintf(stderr, "bench_settle: keysat-serve did not start\n");
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        btcpay.stop();
        btcpay_thread.join();
        return 1;
    }
    httplib::Headers admin = {{"Authorization", "Bearer " + k_admin}};
    client.Post("/v1/admin/products", admin,
                json{{"slug", "app"}, {"name", "App"}, {"price_sats", 1000}}.dump(),
                "application/json");

    // N purchases, each from its own address (the purchase rate limit is per client).
    std::vector<std::pair<std::string, std::string>> invoices; // ours, BTCPay's
    for (int i = 0; i < n; ++i) {
        httplib::Headers from = {{"X-Forwarded-For", fmt::format("10.2.{}.{}", i / 250, i % 250)}};
        auto r =
            client.Post("/v1/purchase", from, json{{"product", "app"}}.dump(), "application/json");
        if (!r || r->status != 200) {
            std::fprintf(stderr, "bench_settle: purchase %d failed\n", i);
            ::kill(pid, SIGKILL);
            return 1;
        }
        auto b = json::parse(r->body);
        invoices.emplace_back(b["invoice_id"], b["btcpay_invoice_id"]);
    }

    // Settle each: webhook in, then poll until the key is readable.
    std::vector<double> to_key, floor;
    httplib::Client hook("127.0.0.1", port);
    hook.set_keep_alive(true);
    hook.set_tcp_nodelay(true);
    hook.set_connection_timeout(2, 0);
    hook.set_read_timeout(10, 0);
    for (const auto& [ours, theirs] : invoices) {
        {
            std::lock_guard lock(m);
            status[theirs] = "Settled";
        }
        std::string body = json{{"deliveryId", "d-" + theirs},
                                {"webhookId", "w"},
                                {"originalDeliveryId", "d-" + theirs},
                                {"isRedelivery", false},
                                {"type", "InvoiceSettled"},
                                {"timestamp", 1800000000},
                                {"storeId", k_store},
                                {"invoiceId", theirs},
                                {"metadata", {{"orderId", ours}}}}
                               .dump(2);
        std::string sig = "sha256=" + keysat::hex_encode(keysat::crypto::hmac_sha256(
                                          keysat::as_bytes(k_secret), keysat::as_bytes(body)));
        auto t0 = Clock::now();
        auto w =
            hook.Post("/v1/btcpay/webhook/btcpay", {{"BTCPay-Sig", sig}}, body, "application/json");
        bool ready = false;
        while (!ready && Clock::now() - t0 < std::chrono::seconds(5)) {
            auto p = client.Get("/v1/purchase/" + ours);
            ready = p && json::parse(p->body)["license_key"].is_string();
        }
        to_key.push_back(ms(Clock::now() - t0));
        if (!w || w->status != 200 || !ready) {
            std::fprintf(stderr, "bench_settle: invoice %s did not settle\n", ours.c_str());
            ::kill(pid, SIGKILL);
            return 1;
        }
        auto f0 = Clock::now();
        client.Get("/v1/purchase/" + ours);
        floor.push_back(ms(Clock::now() - f0));
    }
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    btcpay.stop();
    btcpay_thread.join();
    std::filesystem::remove_all(dir);

    auto k = stats(to_key), f = stats(floor);
    std::printf("settlements %d\n", n);
    std::printf("webhook to key   p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", k.p50, k.p99, k.max);
    std::printf("poll floor       p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", f.p50, f.p99, f.max);
    std::printf("ratio p99 / floor p99: %.1f\n", k.p99 / f.p99);
    return 0;
}
