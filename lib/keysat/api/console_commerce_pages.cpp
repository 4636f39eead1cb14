// The console's pages about money and releases (see console.hpp): invoices, payments (the
// providers, merchant profiles and rail preferences), one discount code with its redemptions,
// and what the release gate serves. Like every page they read admin GET routes as the signed-in
// operator and post to /admin/act; every string from the database goes through table() or
// html::text.

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "keysat/api/console.hpp"
#include "keysat/api/html.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

// An invoice's amount for people, in its currency.
std::string amount_text(const json& row, const char* field) {
    const auto& v = row.value(field, json());
    if (!v.is_number_integer())
        return "";
    return html::price(v.get<std::int64_t>(), row.value("currency", "SAT"));
}

// A colour swatch as SVG (a presentation attribute, which the page's style-src allows): only
// for a colour the API checked (#rrggbb).
std::string swatch(const json& colour) {
    if (!colour.is_string() || !html::is_hex_colour(colour.get<std::string>()))
        return "";
    return fmt::format("<svg class=\"swatch\" width=\"14\" height=\"14\" aria-hidden=\"true\">"
                       "<rect width=\"14\" height=\"14\" fill=\"{}\"></rect></svg> ",
                       colour.get<std::string>());
}

const std::vector<std::pair<std::string, std::string>>& invoice_statuses() {
    static const std::vector<std::pair<std::string, std::string>> all = {
        {"", "Every status"},   {"new", "new"},         {"processing", "processing"},
        {"settled", "settled"}, {"expired", "expired"}, {"invalid", "invalid"}};
    return all;
}

// Connecting BTCPay (one button: the answer sends the browser to BTCPay's consent page) and
// Zaprite (its API key) to `profile_id`, or to the default profile (made then) when empty; each
// only when wanted (a profile takes one provider of each kind).
std::string connect_forms(const ConsoleView& v, const std::string& back,
                          const std::string& profile_id, bool btcpay, bool zaprite) {
    std::string profile = profile_id.empty()
                              ? ""
                              : "<input type=\"hidden\" name=\"merchant_profile_id\" "
                                "value=\"" +
                                    html::text(profile_id) + "\">";
    // Several profiles' forms post to the same route: their field ids carry the profile.
    auto unique_ids = [&](std::string html) {
        for (const char* attr : {"id=\"f-", "for=\"f-"})
            for (auto at = html.find(attr); at != std::string::npos; at = html.find(attr, at + 1))
                html.insert(at + std::string_view(attr).size(), profile_id.substr(0, 8) + "-");
        return html;
    };
    std::string out;
    if (btcpay)
        out += "<div class=\"actions\">" +
               v.form("POST", "/v1/admin/btcpay/connect", back,
                      profile + "<input type=\"hidden\" name=\"_go\" value=\"authorize_url\">"
                                "<button type=\"submit\">Connect BTCPay</button>",
                      "inline") +
               "</div>";
    if (zaprite)
        out += "<details><summary>Connect Zaprite</summary>" +
               v.form("POST", "/v1/admin/zaprite/connect", back,
                      unique_ids(profile +
                                 field("Zaprite API key", "api_key", "password",
                                       " required autocomplete=\"off\"") +
                                 field("Label (optional)", "label") +
                                 hidden_done("Zaprite connected.")) +
                          "<button type=\"submit\">Connect Zaprite</button>") +
               "</details>";
    return out;
}

} // namespace

http::Response invoices_page(const ConsoleView& v) {
    auto status = v.req.query_value("status").value_or("");
    bool known = false;
    std::string options;
    for (const auto& [value, label] : invoice_statuses()) {
        known = known || value == status;
        options += fmt::format("<option value=\"{}\"{}>{}</option>", value,
                               value == status ? " selected" : "", label);
    }
    if (!known)
        status.clear();
    std::string main =
        "<form method=\"get\" action=\"/admin/invoices\" class=\"inline-search\">"
        "<label for=\"status\">Status</label><select id=\"status\" name=\"status\">" +
        options + "</select><button type=\"submit\">Show</button></form>";
    Query query{{"limit", "200"}};
    if (!status.empty())
        query.emplace("status", status);
    main += listing(
        v, "/v1/admin/invoices", query, "invoices",
        {{"Created", "created_at"},
         {"Product", "product_slug"},
         {"For", "purpose"},
         {"Status", "status"},
         {"Amount", "amount", [](const json& i) { return amount_text(i, "amount"); }},
         {"Discount", "discount_amount",
          [](const json& i) {
              return i.value("discount_amount", std::int64_t{0}) == 0
                         ? std::string()
                         : amount_text(i, "discount_amount");
          }},
         {"Buyer", "buyer_email"},
         {"Settled", "settled_at"},
         {"License", "license_id",
          [](const json& i) {
              auto id = i.value("license_id", json());
              return id.is_string() ? id.get<std::string>().substr(0, 8) : std::string();
          },
          [](const json& i) {
              auto id = i.value("license_id", json());
              return id.is_string() ? "/admin/licenses/" + id.get<std::string>() : std::string();
          }},
         {"Invoice", "id"}},
        nullptr, status.empty() ? "No invoices yet." : "No invoices with this status.");
    return v.page("Invoices", "/admin/invoices", main);
}

http::Response payments_page(const ConsoleView& v) {
    const std::string back = "/admin/payments";
    bool master = v.is_master(), write = v.may("merchant_profiles:write");
    auto listed = v.get("/v1/admin/merchant-profiles");
    if (listed.status != 200)
        return v.page("Payments", back, v.refusal(listed), listed.status);
    std::string main =
        "<p>Each merchant profile sells its products through the payment providers connected to "
        "it. Connecting and disconnecting a provider is the operator's alone.</p>";
    auto profiles = listed.body.value("profiles", json::array());
    if (profiles.empty())
        main += "<p class=\"empty\">No merchant profile yet: connecting a provider makes the "
                "default one, named after the shop.</p>" +
                (master ? connect_forms(v, back, "", true, true) : std::string());
    for (const auto& p : profiles) {
        std::string id = id_of(p), name = p.value("name", "");
        // What is set of the profile's details (the edit form below sets the rest).
        std::string details;
        for (const auto& [label, field] : std::vector<std::pair<const char*, const char*>>{
                 {"Legal name", "legal_name"},
                 {"Support page", "support_url"},
                 {"Support e-mail", "support_email"},
                 {"After paying, buyers go to", "post_purchase_redirect_url"},
                 {"Brand colour", "brand_color"}}) {
            auto value = p.value(field, json());
            if (value.is_string() && !value.get<std::string>().empty())
                details += "<dt>" + html::text(label) + "</dt><dd>" +
                           (std::string(field) == "brand_color" ? swatch(value) : "") +
                           html::text(value.get<std::string>()) + "</dd>";
        }
        std::string body = details.empty() ? "<p class=\"empty\">No contact details or brand "
                                             "colour yet.</p>"
                                           : "<dl class=\"terms\">" + details + "</dl>";
        auto providers = p.value("providers", json::array());
        body += "<h3>Payment providers</h3>" +
                table(providers,
                      {{"Kind", "kind"},
                       {"Label", "label"},
                       {"Rails", "served_rails"},
                       {"Store", "store_id"},
                       {"Connected", "connected_at"}},
                      master ? std::function<std::string(const json&)>([&](const json& pr) {
                          std::string kind = pr.value("kind", "");
                          if (kind != "btcpay" && kind != "zaprite")
                              return std::string();
                          return v.button(
                              "POST", "/v1/admin/" + kind + "/disconnect", back, "Disconnect",
                              {{"provider_id", id_of(pr)}, {"_done", "Provider disconnected."}});
                      })
                             : nullptr,
                      "None connected: buyers cannot pay for this profile's products.");
        if (master) {
            bool btcpay = false, zaprite = false;
            for (const auto& pr : providers) {
                btcpay = btcpay || pr.value("kind", "") == "btcpay";
                zaprite = zaprite || pr.value("kind", "") == "zaprite";
            }
            body += connect_forms(v, back, id, !btcpay, !zaprite);
        }
        // Which provider takes each rail when several could.
        auto one = v.get("/v1/admin/merchant-profiles/" + id);
        if (one.status == 200) {
            std::map<std::string, std::string> chosen;
            for (const auto& r : one.body.value("rail_preferences", json::array()))
                chosen[r.value("rail", "")] = r.value("payment_provider_id", "");
            json rows = json::array();
            std::string forms;
            for (const char* rail : {"lightning", "onchain", "card"}) {
                std::vector<std::pair<std::string, std::string>> options;
                std::string current;
                for (const auto& pr : providers) {
                    auto rails = pr.value("served_rails", json::array());
                    if (std::find(rails.begin(), rails.end(), json(rail)) == rails.end())
                        continue;
                    std::string label = pr.value("label", "") + " (" + pr.value("kind", "") + ")";
                    options.emplace_back(id_of(pr), label);
                    if (chosen[rail] == id_of(pr))
                        current = label;
                }
                if (current.empty())
                    current = options.empty() ? "nobody: buyers cannot pay this way"
                              : options.size() == 1
                                  ? options.front().second
                                  : "the earliest connected of " + std::to_string(options.size());
                rows.push_back({{"rail", rail}, {"provider", current}});
                if (write && options.size() > 1)
                    forms += v.form(
                        "PUT", "/v1/admin/merchant-profiles/" + id + "/rail-preferences/" + rail,
                        back,
                        select(std::string("Provider for ") + rail, "payment_provider_id", options,
                               chosen[rail]) +
                            hidden_done("Rail preference saved.") +
                            "<button type=\"submit\">Save</button>",
                        "inline");
            }
            body += "<h3>Rails</h3>" +
                    table(rows, {{"Rail", "rail"}, {"Taken by", "provider"}}, nullptr, "") + forms;
        }
        if (write) {
            auto now = [&](const char* f) { return cell_text(p.value(f, json())); };
            std::string edit =
                field("Name", "name", "text", " required maxlength=\"200\"", name) +
                field("Legal name", "legal_name:str", "text", "", now("legal_name")) +
                field("Support page (https://...)", "support_url:str", "url", "",
                      now("support_url")) +
                field("Support e-mail", "support_email:str", "email", "", now("support_email")) +
                field("Brand colour (#rrggbb)", "brand_color:str", "text",
                      " pattern=\"#[0-9a-fA-F]{6}\"", now("brand_color"));
            if (master)
                edit += field("After paying, send buyers to (https://...)",
                              "post_purchase_redirect_url:str", "url", "",
                              now("post_purchase_redirect_url"));
            std::string prefilled = v.form("PATCH", "/v1/admin/merchant-profiles/" + id, back,
                                           edit + hidden_done("Merchant profile saved.") +
                                               "<button type=\"submit\">Save the profile</button>");
            body += "<details><summary>Edit this profile</summary>" + prefilled + "</details>";
            std::string buttons;
            if (!p.value("is_default", false)) {
                buttons += v.button("POST", "/v1/admin/merchant-profiles/" + id + "/set-default",
                                    back, "Make default", {{"_done", "Default profile set."}});
                buttons += v.button("DELETE", "/v1/admin/merchant-profiles/" + id, back, "Delete",
                                    {{"_done", "Merchant profile deleted."}});
            }
            if (!buttons.empty())
                body += "<p class=\"actions\">" + buttons + "</p>";
        }
        main += section(name + (p.value("is_default", false) ? " (default)" : ""), body);
    }
    if (write)
        main += section("New merchant profile",
                        v.form("POST", "/v1/admin/merchant-profiles", back,
                               field("Name", "name", "text", " required maxlength=\"200\"") +
                                   field("Support e-mail", "support_email", "email") +
                                   field("Brand colour (#rrggbb)", "brand_color", "text",
                                         " pattern=\"#[0-9a-fA-F]{6}\"") +
                                   hidden_done("Merchant profile created.") +
                                   "<button type=\"submit\">Create the profile</button>"));
    return v.page("Payments", back, main, 200, master ? btcpay_browser_origin(v.app) : "");
}

http::Response releases_page(const ConsoleView& v) {
    const std::string back = "/admin/releases";
    auto a = v.get("/v1/admin/releases");
    if (a.status == 404)
        return v.page("Releases", back,
                      "<p class=\"empty\">keysat-serve serves no releases directory: set "
                      "<code>releases_dir</code> (or <code>RELEASES_DIR</code>) to the tree of "
                      "&lt;product&gt;/&lt;version&gt;/&lt;file&gt; the release gate should "
                      "serve.</p>");
    if (a.status != 200)
        return v.page("Releases", back, v.refusal(a), a.status);
    const json& r = a.body;
    std::size_t unsigned_builds = r.value("unsigned_builds", std::size_t{0});
    std::string main = fmt::format(
        "<ul class=\"tiles\"><li><span class=\"n\">{}</span> products</li><li><span "
        "class=\"n\">{}</span> builds without a signature</li><li><span class=\"n\">{}</span> "
        "revoked keys</li></ul>",
        r.value("products", json::array()).size(), unsigned_builds,
        r.value("revoked_keys", std::size_t{0}));
    if (unsigned_builds > 0)
        main += "<p class=\"notice error\" role=\"alert\">Some builds have no .minisig or .sig "
                "beside them: buyers cannot check them offline. Sign them with minisign on the "
                "signing machine and copy the signatures next to the files.</p>";
    for (const auto& p : r.value("products", json::array())) {
        std::string product = p.value("product", "");
        json rows = json::array();
        for (const auto& version : p.value("versions", json::array()))
            for (const auto& b : version.value("builds", json::array()))
                rows.push_back({{"version", version.value("version", "")},
                                {"name", b.value("name", "")},
                                {"size", b.value("size", std::uint64_t{0})},
                                {"signature", b.value("minisig", false) && b.value("sig", false)
                                                  ? ".minisig, .sig"
                                              : b.value("minisig", false) ? ".minisig"
                                              : b.value("sig", false)     ? ".sig"
                                                                          : "none"}});
        std::string about = fmt::format(
            "<p>{} version(s){}; {}{}.</p>", p.value("version_count", 0),
            p.value("version_count", std::size_t{0}) > p.value("versions", json::array()).size()
                ? ", the newest listed"
                : "",
            p.value("requires_license", true) ? "downloads need a license"
                                              : "downloads are free for all",
            p.value("in_catalog", false) ? "" : "; no product in the catalog has this slug");
        main += section(product, about + table(rows,
                                               {{"Version", "version"},
                                                {"File", "name"},
                                                {"Bytes", "size"},
                                                {"Signature", "signature"}},
                                               nullptr, "No builds."));
    }
    return v.page("Releases", back, main);
}

http::Response code_page(const ConsoleView& v) {
    const std::string id = v.req.params.empty() ? "" : v.req.params[0];
    const std::string back = "/admin/codes/" + id;
    auto a = v.get("/v1/admin/discount-codes/" + id);
    if (a.status != 200)
        return v.page("Discount code", "/admin/codes", v.refusal(a), a.status);
    const json& c = a.body.value("code", json::object());
    std::string main = "<dl class=\"terms\">";
    for (const auto& [label, f] :
         std::vector<std::pair<const char*, const char*>>{{"Code", "code"},
                                                          {"Kind", "kind"},
                                                          {"Amount", "amount"},
                                                          {"Used", "used_count"},
                                                          {"Max uses", "max_uses"},
                                                          {"Expires", "expires_at"},
                                                          {"Description", "description"},
                                                          {"Referrer", "referrer_label"},
                                                          {"Active", "active"}})
        main += "<dt>" + html::text(label) + "</dt><dd>" +
                html::text(cell_text(c.value(f, json()))) + "</dd>";
    main += "</dl>";
    if (v.may("discount_codes:write")) {
        auto now = [&](const char* f) {
            auto value = c.value(f, json());
            return value.is_null() ? std::string() : cell_text(value);
        };
        std::string form = v.form(
            "PATCH", "/v1/admin/discount-codes/" + id, back,
            field("Amount", "amount:int", "number", " min=\"0\"", now("amount")) +
                field("Max uses", "max_uses:int", "number", " min=\"1\"", now("max_uses")) +
                field("Expires (YYYY-MM-DDTHH:MM:SSZ)", "expires_at", "text", "",
                      now("expires_at")) +
                field("Description", "description:str", "text", "", now("description")) +
                field("Referrer label", "referrer_label", "text", "", now("referrer_label")) +
                hidden_done("Code saved.") + "<button type=\"submit\">Save the code</button>");
        main += section("Edit", form);
    }
    main += section("Redemptions", table(a.body.value("redemptions", json::array()),
                                         {{"When", "created_at"},
                                          {"Status", "status"},
                                          {"Invoice", "invoice_id"},
                                          {"Price", "base_price_sats"},
                                          {"Discount", "discount_applied_sats"},
                                          {"Paid", "final_price_sats"},
                                          {"License",
                                           "license_id",
                                           {},
                                           [](const json& r) {
                                               auto l = r.value("license_id", json());
                                               return l.is_string() ? "/admin/licenses/" +
                                                                          l.get<std::string>()
                                                                    : std::string();
                                           }}},
                                         nullptr, "Nobody has used this code yet."));
    return v.page("Code " + c.value("code", ""), "/admin/codes", main);
}

} // namespace keysat::api
