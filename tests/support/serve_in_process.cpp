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

std::string InProcessServer::issue_key(const nlohmann::json& license) {
    if (!m_have_product) {
        auto made = post("/v1/admin/products",
                         nlohmann::json{{"slug", "app"}, {"name", "App"}, {"price_sats", 5}}.dump(),
                         m_admin_key);
        if (made.status != 200)
            throw std::runtime_error("cannot create product app: " + made.raw);
        m_have_product = true;
    }
    nlohmann::json body = license;
    body["product_slug"] = "app";
    auto issued = post("/v1/admin/licenses", body.dump(), m_admin_key);
    if (issued.status != 200 || !issued.body["license_key"].is_string())
        throw std::runtime_error("cannot issue a license: " + issued.raw);
    return issued.body["license_key"];
}

} // namespace keysat::test
