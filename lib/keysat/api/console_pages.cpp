// The console's pages (see console.hpp): each reads through admin API GET routes as the signed-in
// operator and shows only the forms whose scope the operator holds; the routes refuse a forged
// form anyway. Every string from the database goes through table() or html::text.

#include <fmt/format.h>

#include "keysat/api/console.hpp"
#include "keysat/api/html.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

using Query = std::multimap<std::string, std::string>;

std::string section(const std::string& heading, const std::string& body) {
    return "<section><h2>" + html::text(heading) + "</h2>" + body + "</section>";
}

// A list from an admin route: its rows, or the refusal as a notice.
std::string listing(const ConsoleView& v, const std::string& path, const Query& query,
                    const std::string& key, const std::vector<Column>& columns,
                    const std::function<std::string(const json&)>& actions,
                    const std::string& empty_text) {
    auto a = v.get(path, query);
    if (a.status != 200)
        return v.refusal(a);
    return table(a.body.value(key, json::array()), columns, actions, empty_text);
}

// The message /admin/act shows back on the page after the change.
std::string hidden_done(const std::string& message) {
    return "<input type=\"hidden\" name=\"_done\" value=\"" + html::text(message) + "\">";
}

std::string id_of(const json& row) {
    return row.value("id", "");
}

http::Response dashboard(const ConsoleView& v) {
    std::string main;
    auto count_of = [&](const std::string& path, const Query& q, const std::string& key) {
        auto a = v.get(path, q);
        return a.status == 200 ? std::to_string(a.body.value(key, json::array()).size()) : "–";
    };
    main += "<ul class=\"tiles\">";
    main += fmt::format(
        "<li><span class=\"n\">{}</span> active licenses (up to 1000)</li>",
        count_of("/v1/admin/licenses", {{"status", "active"}, {"limit", "1000"}}, "licenses"));
    if (v.may("webhooks:read"))
        main += fmt::format("<li><span class=\"n\">{}</span> webhook deliveries that gave up</li>",
                            count_of("/v1/admin/webhook-deliveries",
                                     {{"status", "failed"}, {"limit", "500"}}, "deliveries"));
    main += "</ul>";
    return v.page("Dashboard", "/admin/", main);
}

http::Response products(const ConsoleView& v) {
    const std::string back = "/admin/products";
    std::string main;
    main += section(
        "Products",
        listing(v, "/v1/admin/products", {}, "products",
                {{"Name", "name"},
                 {"Slug", "slug"},
                 {"Price (sats)", "price_sats"},
                 {"Active", "active"},
                 {"Entitlements", "entitlements_catalog",
                  [](const json& p) {
                      std::string out;
                      for (const auto& e : p.value("entitlements_catalog", json::array()))
                          if (e.is_object())
                              out += (out.empty() ? "" : ", ") + cell_text(e.value("slug", json()));
                      return out;
                  }}},
                v.may("products:write")
                    ? std::function<std::string(const json&)>([&](const json& p) {
                          bool active = p.value("active", false);
                          return v.button(
                              "PATCH", "/v1/admin/products/" + id_of(p) + "/active", back,
                              active ? "Deactivate" : "Activate",
                              {{"active:bool", active ? "false" : "true"},
                               {"_done", active ? "Product deactivated." : "Product activated."}});
                      })
                    : nullptr,
                "No products yet."));
    if (v.may("products:write"))
        main += section(
            "New product",
            v.form("POST", "/v1/admin/products", back,
                   field("Name", "name", "text", " required maxlength=\"200\"") +
                       field("Slug (a-z, 0-9, - and _)", "slug", "text",
                             " required pattern=\"[a-z0-9_-]{1,64}\"") +
                       field("Price in sats", "price_sats:int", "number", " min=\"0\" required") +
                       field("Description", "description") + hidden_done("Product created.") +
                       "<button type=\"submit\">Create the product</button>"));
    // Each product's tiers (the policies route lists one product's).
    auto listed = v.get("/v1/admin/products");
    std::vector<std::pair<std::string, std::string>> product_options;
    if (listed.status == 200)
        for (const auto& p : listed.body.value("products", json::array())) {
            std::string slug = p.value("slug", ""), name = p.value("name", "");
            product_options.emplace_back(slug, name + " (" + slug + ")");
            main += section("Tiers of " + name,
                            listing(v, "/v1/admin/policies", {{"product_slug", slug}}, "policies",
                                    {{"Name", "name"},
                                     {"Slug", "slug"},
                                     {"Price override (sats)", "price_sats_override"},
                                     {"Recurring", "is_recurring"},
                                     {"Period (days)", "renewal_period_days"},
                                     {"Entitlements", "entitlements"},
                                     {"Bullets", "marketing_bullets"}},
                                    nullptr, "No tiers: the product sells at its own price."));
        }
    if (v.may("policies:write") && !product_options.empty())
        main += section(
            "New tier",
            v.form("POST", "/v1/admin/policies", back,
                   select("Product", "product_slug", product_options) +
                       field("Name", "name", "text", " required") +
                       field("Slug", "slug", "text", " required pattern=\"[a-z0-9_-]{1,64}\"") +
                       field("Price override in sats (empty: the product's)",
                             "price_sats_override:int", "number", " min=\"0\"") +
                       field("Entitlements (comma-separated)", "entitlements:list") +
                       field("Marketing bullets (comma-separated)", "marketing_bullets:list") +
                       field("Max machines", "max_machines:int", "number", " min=\"0\"") +
                       checkbox("Recurring", "is_recurring:bool") +
                       field("Renewal period in days (recurring tiers)", "renewal_period_days:int",
                             "number", " min=\"1\"") +
                       hidden_done("Tier created.") +
                       "<button type=\"submit\">Create the tier</button>"));
    return v.page("Products and tiers", "/admin/products", main);
}

http::Response codes(const ConsoleView& v) {
    const std::string back = "/admin/codes";
    std::string main =
        section("Discount codes",
                listing(v, "/v1/admin/discount-codes", {}, "codes",
                        {{"Code", "code"},
                         {"Kind", "kind"},
                         {"Amount", "amount"},
                         {"Used", "used_count"},
                         {"Max uses", "max_uses"},
                         {"Expires", "expires_at"},
                         {"Description", "description"},
                         {"Active", "active"}},
                        v.may("discount_codes:write")
                            ? std::function<std::string(const json&)>([&](const json& c) {
                                  bool active = c.value("active", false);
                                  return v.button(
                                      "PATCH", "/v1/admin/discount-codes/" + id_of(c) + "/active",
                                      back, active ? "Deactivate" : "Activate",
                                      {{"active:bool", active ? "false" : "true"}});
                              })
                            : nullptr,
                        "No discount codes yet."));
    if (v.may("discount_codes:write"))
        main +=
            section("New code",
                    v.form("POST", "/v1/admin/discount-codes", back,
                           field("Code", "code", "text", " required maxlength=\"64\"") +
                               select("Kind", "kind",
                                      {{"percent", "Percent off"},
                                       {"fixed_sats", "Sats off"},
                                       {"set_price", "A set price in sats"},
                                       {"free_license", "Free license"}}) +
                               field("Amount (basis points for percent: 2500 is 25 %; else sats)",
                                     "amount:int", "number", " min=\"0\"") +
                               field("Product slug (empty: every product)", "product_slug") +
                               field("Max uses (empty: unlimited)", "max_uses:int", "number",
                                     " min=\"1\"") +
                               field("Description", "description") + hidden_done("Code created.") +
                               "<button type=\"submit\">Create the code</button>"));
    return v.page("Discount codes", "/admin/codes", main);
}

http::Response licenses(const ConsoleView& v) {
    const std::string back = "/admin/licenses";
    auto q = v.req.query_value("q").value_or("");
    std::string main =
        "<form method=\"get\" action=\"/admin/licenses\" role=\"search\" class=\"inline-search\">"
        "<label for=\"q\">Find by e-mail or invoice id</label><input id=\"q\" name=\"q\" "
        "type=\"search\" value=\"" +
        html::text(q) + "\"><button type=\"submit\">Search</button></form>";
    Query query;
    std::string path = "/v1/admin/licenses";
    if (!q.empty()) {
        path = "/v1/admin/licenses/search";
        query.emplace(q.find('@') != std::string::npos ? "buyer_email" : "invoice_id", q);
    } else {
        query.emplace("limit", "100");
    }
    bool write = v.may("licenses:write");
    main += section(q.empty() ? "Newest licenses" : "Found",
                    listing(v, path, query, "licenses",
                            {{"Buyer", "buyer_email"},
                             {"Status", "status"},
                             {"Issued", "issued_at"},
                             {"Expires", "expires_at"},
                             {"Entitlements", "entitlements"},
                             {"Id", "id"}},
                            write ? std::function<std::string(const json&)>([&](const json& l) {
                                std::string base = "/v1/admin/licenses/" + id_of(l);
                                std::string status = l.value("status", "");
                                std::string out;
                                if (status != "revoked")
                                    out += v.button("POST", base + "/revoke", back, "Revoke",
                                                    {{"_done", "License revoked."}});
                                if (status == "active")
                                    out += v.button("POST", base + "/suspend", back, "Suspend",
                                                    {{"_done", "License suspended."}});
                                if (status == "suspended")
                                    out += v.button("POST", base + "/unsuspend", back, "Unsuspend",
                                                    {{"_done", "License unsuspended."}});
                                return out;
                            })
                                  : nullptr,
                            q.empty() ? "No licenses yet." : "No license matches."));
    if (write)
        main +=
            section("Issue a complimentary license",
                    v.form("POST", "/v1/admin/licenses", back,
                           field("Product slug", "product_slug", "text", " required") +
                               field("Tier slug (optional)", "policy_slug") +
                               field("Buyer e-mail (optional)", "buyer_email", "email") +
                               field("Expires on (YYYY-MM-DD, optional)", "expires_at", "date") +
                               "<input type=\"hidden\" name=\"_show\" value=\"license_key\">"
                               "<input type=\"hidden\" name=\"_title\" value=\"License issued\">"
                               "<button type=\"submit\">Issue the license</button>"));
    return v.page("Licenses", "/admin/licenses", main);
}

http::Response machines(const ConsoleView& v) {
    std::string main = listing(
        v, "/v1/admin/machines", {{"limit", "200"}}, "machines",
        {{"Hostname", "hostname"},
         {"Platform", "platform"},
         {"License", "license_id"},
         {"Last address", "ip_last_seen"},
         {"Active", "active"}},
        v.may("machines:write") ? std::function<std::string(const json&)>([&](const json& m) {
            if (!m.value("active", false))
                return std::string();
            return v.button("POST", "/v1/admin/machines/" + id_of(m) + "/deactivate",
                            "/admin/machines", "Deactivate", {{"_done", "Machine deactivated."}});
        })
                                : nullptr,
        "No machines have activated yet.");
    return v.page("Machines", "/admin/machines", main);
}

http::Response subscriptions(const ConsoleView& v) {
    std::string main = listing(
        v, "/v1/admin/subscriptions", {}, "subscriptions",
        {{"Status", "status"},
         {"License", "license_id"},
         {"Period (days)", "period_days"},
         {"Period ends", "current_period_end"},
         {"Next renewal", "next_renewal_at"},
         {"Failures", "consecutive_failures"}},
        v.may("subscriptions:write") ? std::function<std::string(const json&)>([&](const json& s) {
            std::string status = s.value("status", "");
            std::string base = "/v1/admin/subscriptions/" + id_of(s);
            if (status == "cancelled")
                return v.button("POST", base + "/resume", "/admin/subscriptions", "Resume");
            return v.button("POST", base + "/cancel", "/admin/subscriptions", "Cancel");
        })
                                     : nullptr,
        "No subscriptions yet.");
    return v.page("Subscriptions", "/admin/subscriptions", main);
}

http::Response webhooks(const ConsoleView& v) {
    const std::string back = "/admin/webhooks";
    bool write = v.may("webhooks:write");
    std::string main =
        section("Endpoints",
                listing(v, "/v1/admin/webhook-endpoints", {}, "endpoints",
                        {{"URL", "url"}, {"Events", "event_types"}, {"Active", "active"}},
                        write ? std::function<std::string(const json&)>([&](const json& e) {
                            return v.button("DELETE", "/v1/admin/webhook-endpoints/" + id_of(e),
                                            back, "Delete", {{"_done", "Endpoint deleted."}});
                        })
                              : nullptr,
                        "No endpoints: nothing is sent."));
    if (write)
        main += section(
            "New endpoint",
            v.form("POST", "/v1/admin/webhook-endpoints", back,
                   field("URL", "url", "url", " required") +
                       field("Events (comma-separated; empty: every event)", "events:list") +
                       "<input type=\"hidden\" name=\"_show\" value=\"secret\">"
                       "<input type=\"hidden\" name=\"_title\" value=\"Endpoint "
                       "added: its signing secret\">"
                       "<button type=\"submit\">Add the endpoint</button>"));
    main += section("Deliveries that gave up",
                    listing(v, "/v1/admin/webhook-deliveries", {{"status", "failed"}}, "deliveries",
                            {{"Event", "event_type"},
                             {"Attempts", "attempt_count"},
                             {"Last status", "last_status_code"},
                             {"Last error", "last_error"}},
                            write ? std::function<std::string(const json&)>([&](const json& d) {
                                return v.button(
                                    "POST", "/v1/admin/webhook-deliveries/" + id_of(d) + "/retry",
                                    back, "Retry", {{"_done", "Delivery queued again."}});
                            })
                                  : nullptr,
                            "None: every delivery arrived or is still being tried."));
    return v.page("Webhooks", "/admin/webhooks", main);
}

http::Response audit_log(const ConsoleView& v) {
    auto action = v.req.query_value("action").value_or("");
    Query query{{"limit", "200"}};
    if (!action.empty())
        query.emplace("action", action);
    std::string main =
        "<form method=\"get\" action=\"/admin/audit\" role=\"search\" class=\"inline-search\">"
        "<label for=\"action\">Action (e.g. license.revoke)</label><input id=\"action\" "
        "name=\"action\" value=\"" +
        html::text(action) + "\"><button type=\"submit\">Filter</button></form>";
    main += listing(v, "/v1/admin/audit", query, "entries",
                    {{"When", "occurred_at"},
                     {"Action", "action"},
                     {"Who", "actor_kind",
                      [](const json& e) {
                          return cell_text(e.value("actor_kind", json())) + " " +
                                 cell_text(e.value("actor_id", json()));
                      }},
                     {"Target", "target_id"},
                     {"From", "request_ip"},
                     {"Details", "details",
                      [](const json& e) {
                          return e.value("details", json())
                              .dump(-1, ' ', false, json::error_handler_t::replace);
                      }}},
                    nullptr, "Nothing recorded.");
    return v.page("Audit log", "/admin/audit", main);
}

http::Response api_keys(const ConsoleView& v) {
    const std::string back = "/admin/api-keys";
    if (!v.is_master())
        return v.page("API keys", "/admin/api-keys",
                      v.refusal({403, nlohmann::json(), "API keys are the operator's alone."}),
                      403);
    std::string main =
        section("Keys", listing(
                            v, "/v1/admin/api-keys", {}, "api_keys",
                            {{"Label", "label"},
                             {"Role", "role"},
                             {"Created", "created_at"},
                             {"Last used", "last_used_at"},
                             {"Revoked", "revoked_at"}},
                            [&](const json& k) {
                                if (!k.value("revoked_at", json()).is_null())
                                    return std::string();
                                return v.button("DELETE", "/v1/admin/api-keys/" + id_of(k), back,
                                                "Revoke", {{"_done", "Key revoked."}});
                            },
                            "No API keys."));
    main += section("New key",
                    v.form("POST", "/v1/admin/api-keys", back,
                           field("Label", "label", "text", " required maxlength=\"100\"") +
                               select("Role", "role",
                                      {{"read-only", "read-only"},
                                       {"license-issuer", "license-issuer"},
                                       {"support", "support"},
                                       {"merchant-onboard", "merchant-onboard"},
                                       {"full-admin", "full-admin"}}) +
                               "<input type=\"hidden\" name=\"_show\" value=\"token\">"
                               "<input type=\"hidden\" name=\"_title\" value=\"API key created\">"
                               "<button type=\"submit\">Create the key</button>"));
    return v.page("API keys", "/admin/api-keys", main);
}

} // namespace

const std::vector<std::pair<std::string, ConsolePage>>& console_pages() {
    static const std::vector<std::pair<std::string, ConsolePage>> pages = {
        {"/admin/", dashboard},        {"/admin/products", products},
        {"/admin/codes", codes},       {"/admin/licenses", licenses},
        {"/admin/machines", machines}, {"/admin/subscriptions", subscriptions},
        {"/admin/webhooks", webhooks}, {"/admin/audit", audit_log},
        {"/admin/api-keys", api_keys},
    };
    return pages;
}

} // namespace keysat::api
