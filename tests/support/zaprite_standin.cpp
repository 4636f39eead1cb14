#include "support/zaprite_standin.hpp"

#include <fmt/format.h>

namespace keysat::test {

using nlohmann::json;

ZapriteStandin::ZapriteStandin(std::string api_key) : m_key(std::move(api_key)) {
    m_server.Post("/v1/orders", [this](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res))
            return;
        std::lock_guard lock(m_mutex);
        json body = json::parse(req.body, nullptr, false);
        std::vector<std::string> found;
        auto need = [&](const char* k, bool (json::*is)() const noexcept, bool required) {
            if (!body.is_object() || !body.contains(k)) {
                if (required)
                    found.push_back(fmt::format("POST /v1/orders: '{}' is missing", k));
            } else if (!(body[k].*is)()) {
                found.push_back(fmt::format("POST /v1/orders: '{}' has the wrong type", k));
            }
        };
        need("amount", &json::is_number_integer, true);
        need("currency", &json::is_string, true);
        need("externalUniqId", &json::is_string, false);
        need("redirectUrl", &json::is_string, false);
        need("label", &json::is_string, false);
        need("metadata", &json::is_object, false);
        need("customerData", &json::is_object, false);
        need("allowSavePaymentProfile", &json::is_boolean, false);
        need("contactId", &json::is_string, false);
        if (body.is_object() && body.value("allowSavePaymentProfile", false) &&
            (!body.contains("contactId") || !body["contactId"].is_string() ||
             !m_contacts.contains(body["contactId"].get<std::string>())))
            found.push_back("POST /v1/orders: contactId is required when "
                            "allowSavePaymentProfile is true");
        if (body.is_object() && body.contains("currency") && body["currency"].is_string() &&
            body["currency"] != "BTC" && body["currency"] != "USD" && body["currency"] != "EUR")
            found.push_back("POST /v1/orders: currency " + body["currency"].dump());
        if (!found.empty()) {
            m_problems.insert(m_problems.end(), found.begin(), found.end());
            res.status = 400;
            res.set_content(json{{"message", found.front()}}.dump(), "application/json");
            return;
        }
        std::string id = fmt::format("zo_standin{:06}", ++m_next);
        json order = body;
        order["id"] = id;
        order["status"] = "PENDING";
        order["checkoutUrl"] = url() + "/checkout/" + id;
        m_orders[id] = order;
        res.set_content(order.dump(), "application/json");
    });
    m_server.Get("/v1/orders", [this](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res))
            return;
        res.set_content(R"({"items":[],"total":0})", "application/json");
    });
    m_server.Get(R"(/v1/orders/([^/]+))",
                 [this](const httplib::Request& req, httplib::Response& res) {
                     if (!authorized(req, res))
                         return;
                     std::lock_guard lock(m_mutex);
                     auto it = m_orders.find(req.matches[1]);
                     if (it == m_orders.end()) {
                         res.status = 404;
                         res.set_content(R"({"message":"Order not found"})", "application/json");
                         return;
                     }
                     res.set_content(it->second.dump(), "application/json");
                 });
    m_server.Post("/v1/contacts", [this](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res))
            return;
        std::lock_guard lock(m_mutex);
        json body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("email") || !body["email"].is_string() ||
            !body.contains("legalName") || !body["legalName"].is_string()) {
            m_problems.push_back("POST /v1/contacts: email and legalName are required strings");
            res.status = 400;
            return;
        }
        std::string id = fmt::format("zc_standin{:06}", ++m_next);
        json contact = {{"id", id},
                        {"email", body["email"]},
                        {"legalName", body["legalName"]},
                        {"paymentProfiles", json::array()}};
        m_contacts[id] = contact;
        res.set_content(contact.dump(), "application/json");
    });
    m_server.Get(R"(/v1/contacts/([^/]+))",
                 [this](const httplib::Request& req, httplib::Response& res) {
                     if (!authorized(req, res))
                         return;
                     std::lock_guard lock(m_mutex);
                     auto it = m_contacts.find(req.matches[1]);
                     if (it == m_contacts.end()) {
                         res.status = 404;
                         return;
                     }
                     res.set_content(it->second.dump(), "application/json");
                 });
    m_server.Post("/v1/orders/charge", [this](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res))
            return;
        std::lock_guard lock(m_mutex);
        json body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("orderId") || !body["orderId"].is_string() ||
            !body.contains("paymentProfileId") || !body["paymentProfileId"].is_string() ||
            !m_orders.contains(body["orderId"].get<std::string>())) {
            m_problems.push_back("POST /v1/orders/charge: orderId and paymentProfileId");
            res.status = 400;
            return;
        }
        m_charges.push_back(body);
        if (m_charge_http / 100 != 2) {
            res.status = m_charge_http;
            res.set_content(R"({"message":"Card declined"})", "application/json");
            return;
        }
        json& order = m_orders[body["orderId"].get<std::string>()];
        if (m_charge_status == "PAID")
            order["status"] = "PAID";
        json answer = order;
        answer["status"] = m_charge_status;
        res.set_content(answer.dump(), "application/json");
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    while (!m_server.is_running())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

ZapriteStandin::~ZapriteStandin() {
    m_server.stop();
    m_thread.join();
}

std::string ZapriteStandin::url() const {
    return "http://127.0.0.1:" + std::to_string(m_port);
}

bool ZapriteStandin::authorized(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") == "Bearer " + m_key)
        return true;
    std::lock_guard lock(m_mutex);
    m_problems.push_back(req.method + " " + req.path + ": bad Authorization header");
    res.status = 401;
    res.set_content(R"({"message":"Unauthorized"})", "application/json");
    return false;
}

std::map<std::string, json> ZapriteStandin::orders() {
    std::lock_guard lock(m_mutex);
    return m_orders;
}

std::vector<std::string> ZapriteStandin::problems() {
    std::lock_guard lock(m_mutex);
    return m_problems;
}

void ZapriteStandin::pay(const std::string& id, bool save_card) {
    std::lock_guard lock(m_mutex);
    json& order = m_orders.at(id);
    order["status"] = "PAID";
    if (save_card && order.value("allowSavePaymentProfile", false)) {
        json& contact = m_contacts.at(order["contactId"].get<std::string>());
        contact["paymentProfiles"].push_back(
            {{"id", fmt::format("zpp_standin{:06}", ++m_next)},
             {"method", "CARD"},
             {"expiresAt", "2030-12-31T00:00:00Z"},
             {"sourceOrder", {{"id", id}, {"externalUniqId", order.value("externalUniqId", "")}}}});
        order["contact"] = {{"id", order["contactId"]}};
    }
}

void ZapriteStandin::set_charge_answer(const std::string& status, int http_status) {
    std::lock_guard lock(m_mutex);
    m_charge_status = status;
    m_charge_http = http_status;
}

std::vector<json> ZapriteStandin::charges() {
    std::lock_guard lock(m_mutex);
    return m_charges;
}

void ZapriteStandin::set_status(const std::string& id, const std::string& status) {
    std::lock_guard lock(m_mutex);
    m_orders.at(id)["status"] = status;
}

int ZapriteStandin::send(const std::string& target, const json& body) {
    auto scheme_end = target.find("://");
    auto path_start = target.find('/', scheme_end + 3);
    httplib::Client client(target.substr(0, path_start));
    client.set_read_timeout(20, 0);
    auto r = client.Post(target.substr(path_start), body.dump(), "application/json");
    return r ? r->status : -1;
}

} // namespace keysat::test
