// A real headless Chromium, driven by tests/browser/smoke.mjs through playwright-core, renders a
// page that a cpp-httplib server serves on loopback: the base the browser tests stand on.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/browser.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

// Serves `html` at / on 127.0.0.1, on a free port, until destroyed.
class PageServer {
  public:
    explicit PageServer(std::string html) : m_html(std::move(html)) {
        m_server.Get("/", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(m_html, "text/html; charset=utf-8");
        });
        m_port = m_server.bind_to_any_port("127.0.0.1");
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
        // stop() does nothing before the server runs, so do not hand out a server earlier.
        while (!m_server.is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~PageServer() {
        m_server.stop();
        m_thread.join();
    }
    PageServer(const PageServer&) = delete;
    PageServer& operator=(const PageServer&) = delete;
    int port() const { return m_port; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/"; }

  private:
    std::string m_html;
    httplib::Server m_server;
    int m_port = -1;
    std::thread m_thread;
};

} // namespace

TEST_CASE("a real Chromium renders a page served on loopback", "[browser]") {
    // CI runs scripts/setup.sh first, so a missing browser is a broken setup, not a skip.
    if (!test::browser_available())
        FAIL(test::browser_missing());

    PageServer server("<!doctype html><html><head><meta charset=\"utf-8\"><title>Smoke</title>"
                      "</head><body><h1>Hello &amp; welcome</h1></body></html>");
    REQUIRE(server.port() > 0);
    auto dir = test::browser_output_dir("smoke");

    auto run = test::run_browser_script("smoke.mjs", {server.url(), dir.string()});
    INFO("stdout: " << run.out);
    INFO("stderr: " << run.err);
    REQUIRE(run.exit_code == 0);

    auto line = run.out.substr(0, run.out.find('\n'));
    auto result = json::parse(line, nullptr, false);
    REQUIRE_FALSE(result.is_discarded());
    CHECK(result["title"] == "Smoke");
    CHECK(result["h1"] == "Hello & welcome");

    auto png = dir / "smoke.png";
    REQUIRE(std::filesystem::exists(png));
    auto bytes = test::slurp(png);
    CHECK(bytes.size() > 8);
    CHECK(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
}
