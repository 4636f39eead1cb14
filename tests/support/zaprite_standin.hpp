#pragma once
// A stand-in for Zaprite's API on loopback: the order routes keysat-serve calls (POST /v1/orders,
// GET /v1/orders/{id}, GET /v1/orders?limit=1 for the key check), contacts and their saved
// payment profiles (POST /v1/contacts, GET /v1/contacts/{id}) and automatic charges (POST
// /v1/orders/charge), with Bearer authentication,
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
    // The buyer pays order `id` at the checkout (PAID); with `save_card` and an order that allows
    // it, the card becomes a payment profile of the order's contact, as Zaprite records it.
    void pay(const std::string& id, bool save_card);
    // What POST /v1/orders/charge answers from now on: `status` (a 2xx answer with that order
    // status; PAID marks the order paid) and `http_status` (a non-2xx fails the call).
    void set_charge_answer(const std::string& status, int http_status = 200);
    // The charges asked for: {orderId, paymentProfileId}.
    std::vector<nlohmann::json> charges();
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
    std::map<std::string, nlohmann::json> m_contacts;
    std::vector<nlohmann::json> m_charges;
    std::string m_charge_status = "PAID";
    int m_charge_http = 200;
    std::vector<std::string> m_problems;
    int m_next = 0;
};

} // namespace keysat::test
