#pragma once
// Runs the real keysat-serve binary on a free loopback port for a test, and talks HTTP to it.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace keysat::test {

struct HttpResult {
    int status = 0;
    nlohmann::json body; // null when the body is not JSON
    std::string raw;
    std::map<std::string, std::string> headers;
};

// One HTTP request to 127.0.0.1:`port` (a new connection); throws when no answer comes.
HttpResult http_request(int port, const std::string& method, const std::string& path,
                        const std::string& body,
                        const std::map<std::string, std::string>& headers = {});

class ServerProcess {
  public:
    // Starts keysat-serve with `args` (after --bind 127.0.0.1:0 and --data-dir DIR) and `env`;
    // waits until it listens. Throws when it does not come up within a few seconds.
    ServerProcess(const std::filesystem::path& data_dir, std::vector<std::string> args = {},
                  std::vector<std::string> env = {});
    // Stops it with SIGTERM if still running.
    ~ServerProcess();

    int port() const { return m_port; }
    int pid() const { return m_pid; }
    // The admin key printed at first start (empty if configured).
    const std::string& admin_key() const { return m_admin_key; }
    // Everything it wrote on stderr so far (the request log).
    std::string log() const;
    // Waits up to two seconds for `text` to appear in the log (lines are written after the
    // response is sent).
    bool log_contains(const std::string& text) const;
    // SIGTERM, then the exit status.
    int stop();
    // SIGKILL, then wait.
    void kill_hard();
    // Sends `sig` (for example SIGHUP) and returns at once.
    void signal(int sig) const;

    HttpResult get(const std::string& path, const std::string& bearer = "") const;
    HttpResult post(const std::string& path, const std::string& body,
                    const std::string& bearer = "") const;
    HttpResult request(const std::string& method, const std::string& path, const std::string& body,
                       const std::map<std::string, std::string>& headers) const;

  private:
    std::filesystem::path m_stderr;
    int m_pid = -1;
    int m_port = 0;
    std::string m_admin_key;
};

} // namespace keysat::test
