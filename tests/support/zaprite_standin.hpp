#pragma once
// A stand-in for Zaprite's API on loopback: the order routes keysat-serve calls (POST /v1/orders,
// GET /v1/orders/{id}, GET /v1/orders?limit=1 for the key check) with Bearer authentication,
// each request checked against the fields Zaprite documents; and webhooks sent as Zaprite sends
// them (unsigned JSON naming the order). Tests change an order's status and send events.

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace keysat::test {

class ZapriteStandin {
  public:
    explicit ZapriteStandin(std::string api_key);
    ~ZapriteStandin();

    std::string url() const;
    // Orders created so far, by id, as Zaprite keeps them.
    std::map<std::string, nlohmann::json> orders();
    // Request problems found (bad auth, wrong field types): a test expects none.
    std::vector<std::string> problems();
    // Sets an order's status (PENDING, PAID, OVERPAID, COMPLETE, UNDERPAID, EXPIRED, ...).
    void set_status(const std::string& id, const std::string& status);
    // POSTs `body` to `url` as Zaprite's webhook does; the receiver's HTTP status.
    int send(const std::string& url, const nlohmann::json& body);

  private:
    bool authorized(const httplib::Request& req, httplib::Response& res);
    std::string m_key;
    httplib::Server m_server;
    int m_port = 0;
    std::thread m_thread;
    std::mutex m_mutex;
    std::map<std::string, nlohmann::json> m_orders;
    std::vector<std::string> m_problems;
    int m_next = 0;
};

} // namespace keysat::test
