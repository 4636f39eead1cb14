#include "support/serve_in_process.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "support/support.hpp"

namespace keysat::test {

InProcessServer::InProcessServer(const std::filesystem::path& data_dir, const std::string& toml,
                                 const Clock& clock) {
    std::filesystem::create_directories(data_dir);
    auto config = data_dir.parent_path() / "keysat.toml";
    spit(config,
         fmt::format("bind = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nadmin_api_key = \"{}\"\n{}",
                     data_dir.string(), m_admin_key, toml));
    cli::ServeOptions options;
    options.config_file = config.string();
    auto opened = cli::Serving::open(options, clock);
    if (!opened)
        throw std::runtime_error("keysat-serve did not start: " + opened.error().message);
    m_serving = std::move(*opened);
    m_thread = std::thread([this] { m_serving->run(); });
}

InProcessServer::~InProcessServer() {
    // stop() does nothing until run() has started: ask until it has returned.
    while (!m_serving->finished()) {
        m_serving->stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    m_thread.join();
}

HttpResult InProcessServer::get(const std::string& path, const std::string& bearer) const {
    std::map<std::string, std::string> h;
    if (!bearer.empty())
        h["Authorization"] = "Bearer " + bearer;
    return http_request(port(), "GET", path, "", h);
}

HttpResult InProcessServer::post(const std::string& path, const std::string& body,
                                 const std::string& bearer) const {
    std::map<std::string, std::string> h;
    if (!bearer.empty())
        h["Authorization"] = "Bearer " + bearer;
    return http_request(port(), "POST", path, body, h);
}

} // namespace keysat::test
