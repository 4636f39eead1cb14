#include "support/server_process.hpp"

#include <csignal>
#include <fcntl.h>
#include <regex>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <httplib.h>

#include "support/support.hpp"

namespace keysat::test {

ServerProcess::ServerProcess(const std::filesystem::path& data_dir, std::vector<std::string> args,
                             std::vector<std::string> env) {
    std::filesystem::create_directories(data_dir);
    // A fresh log file per process, created before the child starts, so that nothing of an
    // earlier server on the same data directory is read as this one's.
    static int s_count = 0;
    m_stderr = data_dir.parent_path() /
               (data_dir.filename().string() + "." + std::to_string(++s_count) + ".stderr");
    spit(m_stderr, "");
    std::vector<std::string> argv{KEYSAT_SERVE_BIN, "--bind", "127.0.0.1:0", "--data-dir",
                                  data_dir.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Exec program(std::move(argv), env);
    m_pid = ::fork();
    if (m_pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        int err = ::open(m_stderr.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(err, 2);
        program.replace_process();
    }
    static const std::regex k_listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    static const std::regex k_admin(R"(\n  (ksm_[A-Za-z0-9_-]+)\n)");
    // Up to 15 s: a first start under the sanitizers on a busy two-core machine takes seconds.
    for (int i = 0; i < 600; ++i) {
        std::string text = log();
        std::smatch m;
        if (std::regex_search(text, m, k_listening)) {
            m_port = std::stoi(m[1]);
            std::smatch a;
            if (std::regex_search(text, a, k_admin))
                m_admin_key = a[1];
            return;
        }
        int status = 0;
        if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
            m_pid = -1;
            throw std::runtime_error("keysat-serve exited at start: " + text);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    kill_hard();
    throw std::runtime_error("keysat-serve did not start: " + log());
}

ServerProcess::~ServerProcess() {
    if (m_pid > 0)
        stop();
}

std::string ServerProcess::log() const {
    std::error_code ec;
    return std::filesystem::exists(m_stderr, ec) ? slurp(m_stderr) : std::string();
}

bool ServerProcess::log_contains(const std::string& text) const {
    for (int i = 0; i < 80; ++i) {
        if (log().find(text) != std::string::npos)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
}

int ServerProcess::stop() {
    if (m_pid <= 0)
        return -1;
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ServerProcess::kill_hard() {
    if (m_pid <= 0)
        return;
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
    m_pid = -1;
}

void ServerProcess::signal(int sig) const {
    if (m_pid > 0)
        ::kill(m_pid, sig);
}

HttpResult ServerProcess::request(const std::string& method, const std::string& path,
                                  const std::string& body,
                                  const std::map<std::string, std::string>& headers) const {
    return http_request(m_port, method, path, body, headers);
}

HttpResult http_request(int port, const std::string& method, const std::string& path,
                        const std::string& body,
                        const std::map<std::string, std::string>& headers) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(5);
    client.set_read_timeout(10);
    // A Content-Type in `headers` is the body's type (else JSON): httplib sends the type it is
    // given as an argument, so it goes there, once.
    std::string type = "application/json";
    httplib::Headers h;
    for (const auto& [name, value] : headers)
        if (name == "Content-Type")
            type = value;
        else
            h.emplace(name, value);
    auto send = [&]() -> httplib::Result {
        if (method == "GET")
            return client.Get(path, h);
        if (method == "HEAD")
            return client.Head(path, h);
        if (method == "POST")
            return client.Post(path, h, body, type);
        if (method == "PATCH")
            return client.Patch(path, h, body, type);
        if (method == "PUT")
            return client.Put(path, h, body, type);
        return client.Delete(path, h, body, type);
    };
    httplib::Result r = send();
    if (!r)
        throw std::runtime_error("HTTP " + method + " " + path +
                                 " failed: " + httplib::to_string(r.error()));
    HttpResult out;
    out.status = r->status;
    out.raw = r->body;
    out.body = nlohmann::json::parse(r->body, nullptr, false);
    if (out.body.is_discarded())
        out.body = nullptr;
    for (const auto& [k, v] : r->headers)
        out.headers[k] = v;
    return out;
}

HttpResult ServerProcess::get(const std::string& path, const std::string& bearer) const {
    std::map<std::string, std::string> h;
    if (!bearer.empty())
        h["Authorization"] = "Bearer " + bearer;
    return request("GET", path, "", h);
}

HttpResult ServerProcess::post(const std::string& path, const std::string& body,
                               const std::string& bearer) const {
    std::map<std::string, std::string> h;
    if (!bearer.empty())
        h["Authorization"] = "Bearer " + bearer;
    return request("POST", path, body, h);
}

} // namespace keysat::test
