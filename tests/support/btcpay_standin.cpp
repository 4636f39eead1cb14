#include "support/btcpay_standin.hpp"

#include <fmt/format.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/util/encoding.hpp"
#include "support/support.hpp"

namespace keysat::test {

using nlohmann::json;

namespace {

// The schema a $ref names (an empty, permissive one when the document does not define it: the
// webhooks document refers to a few schemas of the others).
const json& resolve(const json& doc, const json& schema) {
    static const json k_any = json::object();
    if (!schema.is_object() || !schema.contains("$ref"))
        return schema;
    std::string ref = schema["$ref"];
    std::string name = ref.substr(ref.rfind('/') + 1);
    auto components = doc.find("components");
    if (components == doc.end() || !components->contains("schemas") ||
        !(*components)["schemas"].contains(name))
        return k_any;
    return (*components)["schemas"][name];
}

bool type_matches(const std::string& type, const json& v) {
    if (type == "string")
        return v.is_string();
    if (type == "number")
        return v.is_number();
    if (type == "integer")
        return v.is_number_integer();
    if (type == "boolean")
        return v.is_boolean();
    if (type == "array")
        return v.is_array();
    if (type == "object")
        return v.is_object();
    return true;
}

// The properties a schema declares, through allOf.
void collect_properties(const json& doc, const json& schema, json& into, bool& closed) {
    const json& s = resolve(doc, schema);
    if (s.contains("properties"))
        for (const auto& [k, v] : s["properties"].items())
            into[k] = v;
    if (s.contains("additionalProperties") && s["additionalProperties"] == false)
        closed = true;
    if (s.contains("allOf"))
        for (const auto& part : s["allOf"])
            collect_properties(doc, part, into, closed);
}

} // namespace

namespace {

// `properties`: judge an object's properties here (false for the parts of an allOf: the whole
// judges them against the union of its parts' properties).
std::vector<std::string> problems_of(const json& doc, const json& schema_in, const json& value,
                                     const std::string& where, bool properties) {
    std::vector<std::string> out;
    const json& schema = resolve(doc, schema_in);
    if (value.is_null()) {
        if (!schema.value("nullable", false) && schema.contains("type"))
            out.push_back(where + ": null where not nullable");
        return out;
    }
    if (schema.contains("type") && schema["type"].is_string() &&
        !type_matches(schema["type"], value))
        out.push_back(fmt::format("{}: {} is not a {}", where, value.dump(),
                                  schema["type"].get<std::string>()));
    if (schema.contains("enum") &&
        std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end())
        out.push_back(
            fmt::format("{}: {} is not one of {}", where, value.dump(), schema["enum"].dump()));
    if (schema.contains("allOf"))
        for (const auto& part : schema["allOf"])
            for (auto& p : problems_of(doc, part, value, where, false))
                out.push_back(p);
    if (schema.contains("anyOf")) {
        bool any = false;
        for (const auto& part : schema["anyOf"])
            any = any || problems_of(doc, part, value, where, true).empty();
        if (!any)
            out.push_back(where + ": matches none of anyOf");
    }
    if (value.is_object() && properties) {
        json props = json::object();
        bool closed = false;
        collect_properties(doc, schema, props, closed);
        for (const auto& [k, v] : value.items()) {
            if (props.contains(k)) {
                for (auto& p : problems_of(doc, props[k], v, where + "." + k, true))
                    out.push_back(p);
            } else if (closed) {
                out.push_back(where + "." + k + ": not in the schema");
            }
        }
    }
    if (value.is_array() && schema.contains("items"))
        for (std::size_t i = 0; i < value.size(); ++i)
            for (auto& p : problems_of(doc, schema["items"], value[i],
                                       where + "[" + std::to_string(i) + "]", true))
                out.push_back(p);
    return out;
}

} // namespace

std::vector<std::string> schema_problems(const json& doc, const json& schema, const json& value,
                                         const std::string& where) {
    return problems_of(doc, schema, value, where, true);
}

BtcpayStandin::BtcpayStandin(std::string api_key, std::string store_id, std::string webhook_secret)
    : m_key(std::move(api_key)), m_store(std::move(store_id)), m_secret(std::move(webhook_secret)) {
    m_invoices_doc = json::parse(slurp(fixture("btcpay/swagger.template.invoices.json")));
    m_webhooks_doc = json::parse(slurp(fixture("btcpay/swagger.template.webhooks.json")));
    m_authorization_doc = json::parse(slurp(fixture("btcpay/swagger.template.authorization.json")));
    m_stores = {{m_store, "Stand-in Store"}};
    // BTCPay's consent page, reduced to its two buttons. Authorize posts the new key to the
    // redirect URL as a form (apiKey, userId, permissions[]), as BTCPay does; Cancel goes back.
    m_server.Get("/api-keys/authorize", [this](const httplib::Request& req,
                                               httplib::Response& res) {
        std::lock_guard lock(m_mutex);
        const auto& params =
            m_authorization_doc["paths"]["/api-keys/authorize"]["get"]["parameters"];
        for (const auto& [name, value] : req.params) {
            bool known = false;
            for (const auto& p : params)
                known = known || p["name"] == name;
            if (!known)
                m_problems.push_back("GET /api-keys/authorize: unknown parameter " + name);
        }
        std::string redirect = req.get_param_value("redirect");
        if (redirect.empty() || req.get_param_value("strict") != "true" ||
            req.get_param_value("selectiveStores") != "true" ||
            req.get_param_value("applicationName").empty())
            m_problems.push_back("GET /api-keys/authorize: redirect, strict=true, "
                                 "selectiveStores=true and applicationName are expected");
        std::string key = fmt::format("standin-authorized-key-{}", ++m_next);
        m_issued.push_back(key);
        std::string hidden;
        auto escape = [](std::string v) {
            std::string out;
            for (char c : v)
                out += c == '"'   ? std::string("&quot;")
                       : c == '&' ? std::string("&amp;")
                       : c == '<' ? std::string("&lt;")
                                  : std::string(1, c);
            return out;
        };
        for (std::size_t i = 0; i < req.get_param_value_count("permissions"); ++i)
            hidden += fmt::format("<input type=\"hidden\" name=\"permissions[]\" value=\"{}\">",
                                  escape(req.get_param_value("permissions", i)));
        res.set_content(
            fmt::format("<!doctype html><html><head><title>BTCPay stand-in: authorize</title>"
                        "</head><body><h1>Authorize {0}</h1><p id=\"permissions\">{1} permissions"
                        "</p><form method=\"post\" action=\"{2}\"><input type=\"hidden\" "
                        "name=\"apiKey\" value=\"{3}\"><input type=\"hidden\" name=\"userId\" "
                        "value=\"standin-user\">{4}<button type=\"submit\" id=\"authorize\">"
                        "Authorize app</button></form><a id=\"cancel\" href=\"{2}\">Cancel</a>"
                        "</body></html>",
                        escape(req.get_param_value("applicationName")),
                        req.get_param_value_count("permissions"), escape(redirect), key, hidden),
            "text/html");
    });
    m_server.Get("/api/v1/stores", [this](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res))
            return;
        std::lock_guard lock(m_mutex);
        json list = json::array();
        for (const auto& [id, name] : m_stores)
            list.push_back({{"id", id}, {"name", name}, {"website", nullptr}, {"archived", false}});
        res.set_content(list.dump(), "application/json");
    });
    m_server.Post(R"(/api/v1/stores/([^/]+)/webhooks)", [this](const httplib::Request& req,
                                                               httplib::Response& res) {
        if (!authorized(req, res))
            return;
        std::lock_guard lock(m_mutex);
        json body = json::parse(req.body, nullptr, false);
        auto schema = m_webhooks_doc["components"]["schemas"]["WebhookDataCreate"];
        auto found = schema_problems(m_webhooks_doc, schema, body, "WebhookDataCreate");
        if (!body.is_object() || !body.contains("url") || !body.contains("secret"))
            found.push_back("WebhookDataCreate: url and secret expected");
        if (!found.empty()) {
            m_problems.insert(m_problems.end(), found.begin(), found.end());
            res.status = 422;
            return;
        }
        std::string id = fmt::format("StandInHook{}", ++m_next);
        json hook = body;
        hook["id"] = id;
        hook["storeId"] = std::string(req.matches[1]);
        m_webhooks[id] = hook;
        m_webhook_url = body["url"];
        m_secret = body["secret"];
        res.set_content(hook.dump(), "application/json");
    });
    m_server.Delete(R"(/api/v1/stores/([^/]+)/webhooks/([^/]+))",
                    [this](const httplib::Request& req, httplib::Response& res) {
                        if (!authorized(req, res))
                            return;
                        std::lock_guard lock(m_mutex);
                        res.status = m_webhooks.erase(req.matches[2]) ? 200 : 404;
                    });
    m_server.Delete("/api/v1/api-keys/current",
                    [this](const httplib::Request& req, httplib::Response& res) {
                        std::string key = key_of(req);
                        if (!authorized(req, res))
                            return;
                        std::lock_guard lock(m_mutex);
                        m_revoked.push_back(key);
                        res.status = 200;
                    });
    m_server.Post(R"(/api/v1/stores/([^/]+)/invoices)", [this](const httplib::Request& req,
                                                               httplib::Response& res) {
        if (!authorized(req, res))
            return;
        std::lock_guard lock(m_mutex);
        if (req.matches[1] != m_store) {
            res.status = 404;
            res.set_content(R"({"code":"store-not-found","message":"Store not found"})",
                            "application/json");
            return;
        }
        json body = json::parse(req.body, nullptr, false);
        auto schema = m_invoices_doc["components"]["schemas"]["CreateInvoiceRequest"];
        auto found = schema_problems(m_invoices_doc, schema, body, "CreateInvoiceRequest");
        if (!body.is_object())
            found.push_back("CreateInvoiceRequest: not a JSON object");
        if (!found.empty()) {
            m_problems.insert(m_problems.end(), found.begin(), found.end());
            res.status = 422;
            res.set_content(json::array({{{"path", ""}, {"message", found.front()}}}).dump(),
                            "application/json");
            return;
        }
        std::string id = fmt::format("StandIn{:015}", ++m_next);
        json invoice = {{"id", id},
                        {"storeId", m_store},
                        {"amount", body.value("amount", "0")},
                        {"currency", body.value("currency", "BTC")},
                        {"type", "Standard"},
                        {"checkoutLink", url() + "/i/" + id},
                        {"status", "New"},
                        {"additionalStatus", "None"},
                        {"createdTime", 1800000000},
                        {"expirationTime", 1800000900},
                        {"monitoringExpiration", 1800086400},
                        {"metadata", body.value("metadata", json::object())},
                        {"checkout", body.value("checkout", json::object())},
                        {"archived", false}};
        m_invoices[id] = invoice;
        res.set_content(invoice.dump(), "application/json");
    });
    m_server.Get(R"(/api/v1/stores/([^/]+)/invoices/([^/]+))", [this](const httplib::Request& req,
                                                                      httplib::Response& res) {
        if (!authorized(req, res))
            return;
        std::lock_guard lock(m_mutex);
        auto it = m_invoices.find(req.matches[2]);
        if (req.matches[1] != m_store || it == m_invoices.end()) {
            res.status = 404;
            res.set_content(
                R"({"code":"invoice-not-found","message":"The invoice could not be found"})",
                "application/json");
            return;
        }
        res.set_content(it->second.dump(), "application/json");
    });
    // The buyer's checkout page, much reduced: the invoice's amount and a button that pays it.
    // Paying settles the invoice, sends the signed webhook (as BTCPay does once the payment
    // confirms) and goes back to the store's redirectURL, as BTCPay's "return to store" does.
    m_server.Get(R"(/i/([A-Za-z0-9]+))", [this](const httplib::Request& req,
                                                httplib::Response& res) {
        std::lock_guard lock(m_mutex);
        auto it = m_invoices.find(req.matches[1]);
        if (it == m_invoices.end()) {
            res.status = 404;
            return;
        }
        const auto& inv = it->second;
        res.set_content(
            fmt::format("<!doctype html><html><head><title>BTCPay stand-in checkout</title></head>"
                        "<body><h1>Pay invoice {0}</h1><p id=\"amount\">{1} {2}</p>"
                        "<p id=\"status\">{3}</p><form method=\"post\" action=\"/i/{0}/pay\">"
                        "<button type=\"submit\" id=\"pay\">Pay</button></form></body></html>",
                        inv["id"].get<std::string>(), inv["amount"].get<std::string>(),
                        inv["currency"].get<std::string>(), inv["status"].get<std::string>()),
            "text/html");
    });
    m_server.Post(R"(/i/([A-Za-z0-9]+)/pay)", [this](const httplib::Request& req,
                                                     httplib::Response& res) {
        std::string id = req.matches[1], back;
        {
            std::lock_guard lock(m_mutex);
            auto it = m_invoices.find(id);
            if (it == m_invoices.end()) {
                res.status = 404;
                return;
            }
            back = it->second["checkout"].value("redirectURL", "");
        }
        int delivered = settle(id);
        if (delivered != 200) {
            std::lock_guard lock(m_mutex);
            m_problems.push_back(fmt::format("checkout of {}: the webhook got {}", id, delivered));
        }
        res.status = 303;
        res.set_header("Location", back.empty() ? url() + "/i/" + id : back);
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    while (!m_server.is_running())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

BtcpayStandin::~BtcpayStandin() {
    m_server.stop();
    m_thread.join();
}

std::string BtcpayStandin::url() const {
    return "http://127.0.0.1:" + std::to_string(m_port);
}

void BtcpayStandin::set_webhook_url(std::string url) {
    std::lock_guard lock(m_mutex);
    m_webhook_url = std::move(url);
}

std::string BtcpayStandin::key_of(const httplib::Request& req) {
    std::lock_guard lock(m_mutex);
    std::string header = req.get_header_value("Authorization");
    if (!header.starts_with("token "))
        return "";
    std::string key = header.substr(6);
    bool known = key == m_key || std::find(m_issued.begin(), m_issued.end(), key) != m_issued.end();
    bool revoked = std::find(m_revoked.begin(), m_revoked.end(), key) != m_revoked.end();
    return known && !revoked ? key : "";
}

void BtcpayStandin::set_stores(std::vector<std::pair<std::string, std::string>> stores) {
    std::lock_guard lock(m_mutex);
    m_stores = std::move(stores);
}

std::map<std::string, json> BtcpayStandin::webhooks() {
    std::lock_guard lock(m_mutex);
    return m_webhooks;
}

std::vector<std::string> BtcpayStandin::issued_keys() {
    std::lock_guard lock(m_mutex);
    return m_issued;
}

std::vector<std::string> BtcpayStandin::revoked_keys() {
    std::lock_guard lock(m_mutex);
    return m_revoked;
}

bool BtcpayStandin::authorized(const httplib::Request& req, httplib::Response& res) {
    if (!key_of(req).empty())
        return true;
    std::lock_guard lock(m_mutex);
    m_problems.push_back(req.method + " " + req.path + ": bad Authorization header");
    res.status = 401;
    res.set_content(R"({"code":"unauthenticated","message":"Authentication is required"})",
                    "application/json");
    return false;
}

std::map<std::string, json> BtcpayStandin::invoices() {
    std::lock_guard lock(m_mutex);
    return m_invoices;
}

std::vector<std::string> BtcpayStandin::problems() {
    std::lock_guard lock(m_mutex);
    return m_problems;
}

int BtcpayStandin::settle(const std::string& id, Send send) {
    return change(id, "Settled", "InvoiceSettled", send);
}
int BtcpayStandin::expire(const std::string& id, Send send) {
    return change(id, "Expired", "InvoiceExpired", send);
}
int BtcpayStandin::invalidate(const std::string& id, Send send) {
    return change(id, "Invalid", "InvoiceInvalid", send);
}

int BtcpayStandin::change(const std::string& id, const std::string& status,
                          const std::string& event, Send send) {
    {
        std::lock_guard lock(m_mutex);
        m_invoices.at(id)["status"] = status;
    }
    return send_event(id, event, send);
}

int BtcpayStandin::send_event(const std::string& id, const std::string& type, Send send) {
    json event;
    {
        std::lock_guard lock(m_mutex);
        const auto& invoice = m_invoices.at(id);
        std::string delivery = fmt::format("Delivery{:012}", ++m_next);
        event = {{"deliveryId", delivery},
                 {"webhookId", "StandInWebhook"},
                 {"originalDeliveryId", delivery},
                 {"isRedelivery", false},
                 {"type", type},
                 {"timestamp", 1800000100},
                 {"storeId", m_store},
                 {"invoiceId", id},
                 {"metadata", invoice["metadata"]}};
        if (type == "InvoiceSettled") {
            event["manuallyMarked"] = false;
            event["overPaid"] = false;
        }
        // What we send must be what BTCPay sends.
        std::string schema_name = "Webhook" + type + "Event";
        auto schema = m_webhooks_doc["components"]["schemas"][schema_name];
        if (!schema.is_null())
            for (auto& p : schema_problems(m_webhooks_doc, schema, event, schema_name))
                m_problems.push_back("stand-in's own event: " + p);
    }
    return deliver(event.dump(2), send);
}

int BtcpayStandin::redeliver() {
    std::string body;
    {
        std::lock_guard lock(m_mutex);
        json event = json::parse(m_last_delivery);
        event["isRedelivery"] = true;
        event["deliveryId"] = fmt::format("Delivery{:012}", ++m_next);
        body = event.dump(2);
    }
    return deliver(body, Send::signed_);
}

int BtcpayStandin::deliver(const std::string& body, Send send) {
    std::string target, secret;
    {
        std::lock_guard lock(m_mutex);
        m_last_delivery = body;
        target = m_webhook_url;
        secret = send == Send::forged ? m_secret + "-wrong" : m_secret;
    }
    if (send == Send::none)
        return 0;
    auto sig = "sha256=" + hex_encode(crypto::hmac_sha256(as_bytes(secret), as_bytes(body)));
    auto scheme_end = target.find("://");
    auto path_start = target.find('/', scheme_end + 3);
    httplib::Client client(target.substr(0, path_start));
    client.set_read_timeout(20, 0);
    auto r =
        client.Post(target.substr(path_start), {{"BTCPay-Sig", sig}}, body, "application/json");
    return r ? r->status : -1;
}

} // namespace keysat::test
