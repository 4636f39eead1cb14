#pragma once
// keysat-serve running inside the test process, built exactly as the program builds it
// (cli::Serving) but with a clock the test moves: what a test needs to walk subscriptions
// through months in a second. It binds 127.0.0.1 on a free port and stops when destroyed.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "keysat/cli/serve_cli.hpp"
#include "keysat/util/clock.hpp"
#include "support/server_process.hpp"

namespace keysat::test {

class InProcessServer {
  public:
    // Writes `toml` (more settings; bind, data directory and admin key are set here) to
    // DATA_DIR/../keysat.toml and serves with `clock`. Throws when it cannot start.
    InProcessServer(const std::filesystem::path& data_dir, const std::string& toml,
                    const Clock& clock);
    ~InProcessServer();

    int port() const { return m_serving->port(); }
    int metrics_port() const { return m_serving->metrics_port(); }
    const api::App& app() const { return m_serving->app(); }
    const std::string& admin_key() const { return m_admin_key; }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port()); }

    HttpResult get(const std::string& path, const std::string& bearer = "") const;
    HttpResult post(const std::string& path, const std::string& body,
                    const std::string& bearer = "") const;

    // A license of product "app" (created at 5 sats the first time) through the admin API,
    // with `license` added to the request (max_machines, ...); its key. Throws on any refusal.
    std::string issue_key(const nlohmann::json& license = nlohmann::json::object());

  private:
    bool m_have_product = false;
    std::string m_admin_key = "ksm_in_process_admin_key_0123456789";
    std::unique_ptr<cli::Serving> m_serving;
    std::thread m_thread;
};

} // namespace keysat::test
