#pragma once
// A stand-in for BTCPay Server's Greenfield API on loopback, for the payment tests. It serves the
// invoice routes keysat-serve calls, checks each request against BTCPay's own OpenAPI documents
// (tests/fixtures/btcpay/), and sends webhooks as BTCPay does: indented JSON signed with
// BTCPay-Sig. Tests make it settle, expire or invalidate an invoice, redeliver, forge a
// signature, or keep quiet.

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace keysat::test {

// Problems of `value` against the schema `schema` of the OpenAPI document `doc` ($ref, allOf,
// anyOf, type, nullable, enum, properties, additionalProperties: false, items); empty when none.
std::vector<std::string> schema_problems(const nlohmann::json& doc, const nlohmann::json& schema,
                                         const nlohmann::json& value, const std::string& where);

class BtcpayStandin {
  public:
    BtcpayStandin(std::string api_key, std::string store_id, std::string webhook_secret);
    ~BtcpayStandin();

    std::string url() const;
    // Where webhooks go (the server's /v1/btcpay/webhook/<provider id>).
    void set_webhook_url(std::string url);

    // The invoices created so far, by id, as BTCPay stores them.
    std::map<std::string, nlohmann::json> invoices();
    // Every request problem found (bad auth, schema violations): a test expects none.
    std::vector<std::string> problems();

    enum class Send { signed_, forged, none };
    // Moves an invoice to Settled, Expired or Invalid and sends the matching event.
    int settle(const std::string& id, Send send = Send::signed_);
    int expire(const std::string& id, Send send = Send::signed_);
    int invalidate(const std::string& id, Send send = Send::signed_);
    // Sends an event for an invoice without changing its status; the receiver's HTTP status.
    int send_event(const std::string& id, const std::string& type, Send send = Send::signed_);
    // Sends the last delivery again, as a redelivery.
    int redeliver();

    // The connect round trip. The stores an authorized key sees (id, name): the configured store
    // alone unless set.
    void set_stores(std::vector<std::pair<std::string, std::string>> stores);
    // Webhooks registered through the API, by id: {url, secret, authorizedEvents, ...}. Events go
    // to the newest one (its URL and secret) once there is one.
    std::map<std::string, nlohmann::json> webhooks();
    // API keys handed out by /api-keys/authorize, and those revoked through the API.
    std::vector<std::string> issued_keys();
    std::vector<std::string> revoked_keys();

  private:
    int change(const std::string& id, const std::string& status, const std::string& event,
               Send send);
    int deliver(const std::string& body, Send send);
    bool authorized(const httplib::Request& req, httplib::Response& res);

    // The key a request carries, when it is one of ours and not revoked; empty otherwise.
    std::string key_of(const httplib::Request& req);

    std::string m_key, m_store, m_secret, m_webhook_url;
    nlohmann::json m_invoices_doc, m_webhooks_doc, m_authorization_doc;
    std::vector<std::pair<std::string, std::string>> m_stores;
    std::map<std::string, nlohmann::json> m_webhooks;
    std::vector<std::string> m_issued, m_revoked;
    httplib::Server m_server;
    int m_port = 0;
    std::thread m_thread;
    std::mutex m_mutex;
    std::map<std::string, nlohmann::json> m_invoices;
    std::vector<std::string> m_problems;
    std::string m_last_delivery;
    int m_next = 0;
};

} // namespace keysat::test
