// The console's pages (see console.hpp): each reads through admin API GET routes as the signed-in
// operator and shows only the forms whose scope the operator holds; the routes refuse a forged
// form anyway. Every string from the database goes through table() or html::text.

#include <set>

#include <fmt/format.h>

#include "keysat/api/console.hpp"
#include "keysat/api/html.hpp"
#include "keysat/util/date.hpp"

namespace keysat::api {

using nlohmann::json;

// ---- helpers the pages share (console.hpp) ----------------------------------------------

std::string section(const std::string& heading, const std::string& body) {
    return "<section><h2>" + html::text(heading) + "</h2>" + body + "</section>";
}

std::string listing(const ConsoleView& v, const std::string& path, const Query& query,
                    const std::string& key, const std::vector<Column>& columns,
                    const std::function<std::string(const json&)>& actions,
                    const std::string& empty_text) {
    auto a = v.get(path, query);
    if (a.status != 200)
        return v.refusal(a);
    return table(a.body.value(key, json::array()), columns, actions, empty_text);
}

std::string replace_form_type(std::string form_html) {
    const std::string open = "<form method=\"post\" action=\"/admin/act\"";
    if (form_html.starts_with(open))
        form_html.insert(open.size(), " enctype=\"multipart/form-data\"");
    return form_html;
}

std::string hidden_done(const std::string& message) {
    return "<input type=\"hidden\" name=\"_done\" value=\"" + html::text(message) + "\">";
}

std::string id_of(const json& row) {
    return row.value("id", "");
}

// ---- the pages ----------------------------------------------------------------------------

namespace {

// One series of a bar chart: a value per day.
struct Series {
    std::string name;
    const char* colour;
    std::vector<std::int64_t> values;
};

// A bar chart of daily values, series stacked, drawn as SVG by us: each day's bar has a <title>
// (a tooltip, and what a screen reader reads), and the numbers follow in a table.
std::string bar_chart(const std::string& title, const std::vector<std::string>& dates,
                      const std::vector<Series>& series, const std::string& unit) {
    constexpr int w = 720, h = 180, left = 8, top = 18, bottom = 22;
    std::size_t n = dates.size();
    std::int64_t max = 0, total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::int64_t day = 0;
        for (const auto& s : series)
            day += s.values[i];
        max = std::max(max, day);
        total += day;
    }
    double slot =
        static_cast<double>(w - 2 * left) / static_cast<double>(std::max<std::size_t>(n, 1));
    double plot = h - top - bottom;
    std::string bars;
    for (std::size_t i = 0; i < n; ++i) {
        std::string tip = dates[i] + ":";
        double y = top + plot;
        std::string rects;
        for (const auto& s : series) {
            tip += fmt::format(" {} {} {}", s.name, s.values[i], unit);
            if (max == 0 || s.values[i] == 0)
                continue;
            double height = plot * static_cast<double>(s.values[i]) / static_cast<double>(max);
            y -= height;
            rects += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                                 "height=\"{:.1f}\" fill=\"{}\"></rect>",
                                 left + slot * static_cast<double>(i) + slot * 0.1, y, slot * 0.8,
                                 height, s.colour);
        }
        bars += "<g><title>" + html::text(tip) + "</title>" +
                fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\" "
                            "fill=\"transparent\"></rect>",
                            left + slot * static_cast<double>(i), top, slot, plot) +
                rects + "</g>";
    }
    std::string legend;
    for (const auto& s : series)
        legend += fmt::format("<span class=\"key\"><svg width=\"12\" height=\"12\" "
                              "aria-hidden=\"true\"><rect width=\"12\" height=\"12\" "
                              "fill=\"{}\"></rect></svg> {}</span>",
                              s.colour, html::text(s.name));
    std::string rows;
    for (std::size_t i = 0; i < n; ++i) {
        rows += "<tr><th scope=\"row\">" + html::text(dates[i]) + "</th>";
        for (const auto& s : series)
            rows += fmt::format("<td>{}</td>", s.values[i]);
        rows += "</tr>";
    }
    std::string head = "<tr><th scope=\"col\">Day</th>";
    for (const auto& s : series)
        head += "<th scope=\"col\">" + html::text(s.name) + "</th>";
    head += "</tr>";
    std::string summary =
        fmt::format("{}: {} {} in {} days, at most {} a day", title, total, unit, n, max);
    return fmt::format(
        "<figure class=\"chart\"><figcaption>{title} <span class=\"legend\">{legend}</span>"
        "</figcaption><svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{summary}\">"
        "<text x=\"{left}\" y=\"12\" font-size=\"11\" fill=\"#374151\">{max} {unit}</text>"
        "<line x1=\"{left}\" x2=\"{right}\" y1=\"{base}\" y2=\"{base}\" stroke=\"#9ca3af\">"
        "</line>{bars}<text x=\"{left}\" y=\"{h2}\" font-size=\"11\" fill=\"#374151\">{first}"
        "</text><text x=\"{right}\" y=\"{h2}\" font-size=\"11\" fill=\"#374151\" "
        "text-anchor=\"end\">{last}</text></svg><details><summary>The numbers</summary>"
        "<div class=\"scroll\"><table><thead>{head}</thead><tbody>{rows}</tbody></table></div>"
        "</details></figure>",
        fmt::arg("title", html::text(title)), fmt::arg("legend", legend), fmt::arg("w", w),
        fmt::arg("h", h), fmt::arg("summary", html::text(summary)), fmt::arg("left", left),
        fmt::arg("right", w - left), fmt::arg("base", top + static_cast<int>(plot)),
        fmt::arg("max", max), fmt::arg("unit", html::text(unit)), fmt::arg("bars", bars),
        fmt::arg("h2", h - 6), fmt::arg("first", html::text(n ? dates.front() : "")),
        fmt::arg("last", html::text(n ? dates.back() : "")), fmt::arg("head", head),
        fmt::arg("rows", rows));
}

// A currency's amounts for people: sats as they are, cents as units.
std::string unit_of(const std::string& currency) {
    return currency == "SAT" ? "sats" : currency;
}

std::int64_t shown_amount(const std::string& currency, std::int64_t amount) {
    return currency == "SAT" ? amount : amount / 100;
}

http::Response dashboard(const ConsoleView& v) {
    std::string days = v.req.query_value("days").value_or("30");
    if (days != "7" && days != "90")
        days = "30";
    auto a = v.get("/v1/admin/dashboard", {{"days", days}});
    std::string main = "<nav aria-label=\"Period\" class=\"periods\">";
    for (const char* d : {"7", "30", "90"})
        main += fmt::format("<a href=\"/admin/?days={0}\"{1}>{0} days</a>", d,
                            days == d ? " aria-current=\"true\"" : "");
    main += "</nav>";
    if (a.status != 200)
        return v.page("Dashboard", "/admin/", main + v.refusal(a), a.status);
    const json& d = a.body;
    // The days of the period, oldest first, and each series' value per day.
    std::vector<std::string> dates;
    std::map<std::string, std::size_t> index;
    {
        std::string first = d.value("from", "");
        auto from = parse_date_unix(first);
        for (int i = 0; from && i < std::stoi(days); ++i) {
            dates.push_back(format_date(*from + i * 86400));
            index[dates.back()] = dates.size() - 1;
        }
    }
    auto per_day = [&](const json& rows, const std::function<bool(const json&)>& keep,
                       const char* field) {
        std::vector<std::int64_t> out(dates.size(), 0);
        for (const auto& r : rows)
            if (auto at = index.find(r.value("date", "")); at != index.end() && keep(r))
                out[at->second] += r.value(field, std::int64_t{0});
        return out;
    };
    std::int64_t issued = 0, checks = 0, failed = 0;
    std::map<std::string, std::int64_t> reasons;
    for (const auto& r : d["licenses_issued"])
        issued += r.value("count", std::int64_t{0});
    for (const auto& r : d["validations"]) {
        std::int64_t n = r.value("count", std::int64_t{0});
        checks += n;
        if (r.value("result", "") != "ok") {
            failed += n;
            reasons[r.value("result", "")] += n;
        }
    }
    main += "<ul class=\"tiles\">";
    auto tile = [&](std::int64_t n, const std::string& what, const std::string& href) {
        main += fmt::format("<li><span class=\"n\">{}</span> {}</li>", n,
                            href.empty() ? html::text(what)
                                         : "<a href=\"" + href + "\">" + html::text(what) + "</a>");
    };
    tile(issued, "licenses issued", "/admin/licenses");
    tile(d.value("active_machines", std::int64_t{0}), "active machines", "/admin/machines");
    tile(checks, fmt::format("validations, {} refused", failed), "");
    tile(d.value("open_invoices", std::int64_t{0}), "invoices awaiting payment", "");
    if (v.may("webhooks:read"))
        tile(d.value("failed_deliveries", std::int64_t{0}), "webhook deliveries that gave up",
             "/admin/webhooks");
    main += "</ul>";

    // Revenue: a chart per currency, and the totals per product.
    std::map<std::string, std::map<std::string, std::int64_t>> by_product; // currency -> slug
    std::set<std::string> currencies;
    for (const auto& r : d["revenue"]) {
        currencies.insert(r.value("currency", ""));
        by_product[r.value("currency", "")][r.value("product_slug", "")] +=
            r.value("amount", std::int64_t{0});
    }
    std::string revenue;
    for (const auto& c : currencies) {
        auto amounts = per_day(
            d["revenue"], [&](const json& r) { return r.value("currency", "") == c; }, "amount");
        for (auto& x : amounts)
            x = shown_amount(c, x);
        revenue += bar_chart("Revenue in " + unit_of(c), dates, {{"settled", "#1d4ed8", amounts}},
                             unit_of(c));
    }
    json totals = json::array();
    for (const auto& [c, products] : by_product)
        for (const auto& [slug, amount] : products)
            totals.push_back(
                {{"product", slug},
                 {"amount", std::to_string(shown_amount(c, amount)) + " " + unit_of(c)}});
    main += section("Revenue", (revenue.empty() ? "<p class=\"empty\">No settled sales in these "
                                                  "days.</p>"
                                                : revenue) +
                                   table(totals, {{"Product", "product"}, {"Total", "amount"}},
                                         nullptr, "No revenue in these days."));
    main +=
        section("Licenses issued",
                bar_chart("Licenses issued per day", dates,
                          {{"issued", "#047857",
                            per_day(
                                d["licenses_issued"], [](const json&) { return true; }, "count")}},
                          "licenses"));
    json reason_rows = json::array();
    for (const auto& [reason, n] : reasons)
        reason_rows.push_back({{"reason", reason}, {"count", n}});
    main += section(
        "Validations",
        bar_chart("Validations per day", dates,
                  {{"ok", "#1d4ed8",
                    per_day(
                        d["validations"],
                        [](const json& r) { return r.value("result", "") == "ok"; }, "count")},
                   {"refused", "#b91c1c",
                    per_day(
                        d["validations"],
                        [](const json& r) { return r.value("result", "") != "ok"; }, "count")}},
                  "checks") +
            "<h3>Why validations were refused</h3>" +
            table(reason_rows, {{"Reason", "reason"}, {"Count", "count"}}, nullptr,
                  "None were refused."));
    return v.page("Dashboard", "/admin/", main);
}

http::Response products(const ConsoleView& v) {
    const std::string back = "/admin/products";
    std::string main;
    main += section(
        "Products",
        listing(v, "/v1/admin/products", {}, "products",
                {{"Name", "name", {}, [](const json& p) { return "/admin/products/" + id_of(p); }},
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
                       textarea("Marketing bullets", "marketing_bullets:lines", "",
                                "One per line, as the buy page lists them") +
                       field("Max machines", "max_machines:int", "number", " min=\"0\"") +
                       checkbox("Recurring", "is_recurring:bool") +
                       field("Renewal period in days (recurring tiers)", "renewal_period_days:int",
                             "number", " min=\"1\"") +
                       hidden_done("Tier created.") +
                       "<button type=\"submit\">Create the tier</button>"));
    return v.page("Products and tiers", "/admin/products", main);
}

// A list field's value as the form shows it: "a, b, c".
std::string joined(const json& list) {
    std::string out;
    if (list.is_array())
        for (const auto& item : list)
            if (item.is_string())
                out += (out.empty() ? "" : ", ") + item.get<std::string>();
    return out;
}

// A list field's value as a textarea shows it: one item per line.
std::string lines(const json& list) {
    std::string out;
    if (list.is_array())
        for (const auto& item : list)
            if (item.is_string())
                out += item.get<std::string>() + "\n";
    return out;
}

// One product: its fields and entitlements catalog, and each tier's terms, all editable.
http::Response product_page(const ConsoleView& v) {
    const std::string id = v.req.params.empty() ? "" : v.req.params[0];
    const std::string back = "/admin/products/" + id;
    auto listed = v.get("/v1/admin/products", {{"include_inactive", "true"}});
    if (listed.status != 200)
        return v.page("Product", "/admin/products", v.refusal(listed), listed.status);
    json product;
    for (const auto& p : listed.body.value("products", json::array()))
        if (id_of(p) == id)
            product = p;
    if (product.is_null())
        return v.page("Product", "/admin/products",
                      v.refusal({404, json(), "not found: product " + id}), 404);
    std::string slug = product.value("slug", "");
    std::string catalog;
    // A catalog whose texts hold a bar or a line end cannot round-trip through the one-line form:
    // then the form leaves it out (the API still edits it).
    bool catalog_editable = true;
    json entitlements = json::array();
    for (const auto& e : product.value("entitlements_catalog", json::array()))
        if (e.is_object()) {
            for (const char* k : {"slug", "name", "description"})
                catalog_editable =
                    catalog_editable &&
                    cell_text(e.value(k, json())).find_first_of("|\r\n") == std::string::npos;
            std::string line = cell_text(e.value("slug", json()));
            std::string name = cell_text(e.value("name", json())),
                        about = cell_text(e.value("description", json()));
            if (!name.empty() || !about.empty())
                line += " | " + name;
            if (!about.empty())
                line += " | " + about;
            catalog += line + "\n";
            entitlements.push_back({{"slug", e.value("slug", json())},
                                    {"name", e.value("name", json())},
                                    {"description", e.value("description", json())}});
        }
    // The price in the product's own currency: sats, or cents of USD or EUR. The form sends the
    // same unit back, so saving a name never changes what the product costs.
    std::string currency = product.value("price_currency", json("SAT")).is_string()
                               ? product.value("price_currency", "SAT")
                               : "SAT";
    auto price_value = product.value("price_value", json());
    std::int64_t amount = price_value.is_number_integer() ? price_value.get<std::int64_t>()
                          : product.value("price_sats", json()).is_number_integer()
                              ? product.value("price_sats", std::int64_t{0})
                              : 0;
    std::string price_field = currency == "SAT"
                                  ? field("Price in sats", "price_sats:int", "number", " min=\"0\"",
                                          std::to_string(amount))
                                  : "<input type=\"hidden\" name=\"price_currency\" value=\"" +
                                        html::text(currency) + "\">" +
                                        field("Price in cents of " + currency, "price_value:int",
                                              "number", " min=\"0\"", std::to_string(amount));
    std::string main = "<dl class=\"terms\"><dt>Slug</dt><dd>" + html::text(slug) +
                       "</dd><dt>Price</dt><dd>" + html::text(html::price(amount, currency)) +
                       "</dd><dt>Active</dt><dd>" +
                       html::text(cell_text(product.value("active", json()))) + "</dd></dl>";
    main += section("Entitlements catalog",
                    table(entitlements,
                          {{"Slug", "slug"}, {"Name", "name"}, {"Description", "description"}},
                          nullptr, "No entitlements described: tiers may still grant any slug."));
    if (v.may("products:write"))
        main += section(
            "Edit the product",
            v.form("PATCH", "/v1/admin/products/" + id, back,
                   field("Name", "name", "text", " required maxlength=\"200\"",
                         product.value("name", "")) +
                       price_field +
                       field("Description", "description:str", "text", "",
                             cell_text(product.value("description", json()))) +
                       (catalog_editable
                            ? textarea("Entitlements catalog", "entitlements_catalog:catalog",
                                       catalog, "One per line: slug | name | description")
                            : "<p class=\"hint\">The entitlements catalog has a "
                              "text with a bar or a line break: edit it through the "
                              "API (PATCH /v1/admin/products/:id).</p>") +
                       hidden_done("Product saved.") +
                       "<button type=\"submit\">Save the product</button>"));
    auto tiers =
        v.get("/v1/admin/policies",
              {{"product_slug", slug}, {"include_inactive", "true"}, {"include_archived", "true"}});
    if (tiers.status != 200)
        return v.page("Product " + product.value("name", ""), "/admin/products",
                      main + v.refusal(tiers), tiers.status);
    bool write = v.may("policies:write");
    for (const auto& t : tiers.body.value("policies", json::array())) {
        std::string tid = id_of(t);
        std::string body = "<dl class=\"terms\">";
        for (const auto& [label, f] : std::vector<std::pair<const char*, const char*>>{
                 {"Slug", "slug"},
                 {"Price override (sats)", "price_sats_override"},
                 {"Rank", "tier_rank"},
                 {"Entitlements", "entitlements"},
                 {"Hidden entitlements", "hidden_entitlements"},
                 {"Marketing bullets", "marketing_bullets"},
                 {"Machines", "max_machines"},
                 {"Recurring", "is_recurring"},
                 {"Renews every (days)", "renewal_period_days"},
                 {"Public", "is_public"},
                 {"Active", "active"},
                 {"Archived", "archived"}})
            if (std::string(f) != "renewal_period_days" || t.value("is_recurring", false))
                body += "<dt>" + html::text(label) + "</dt><dd>" +
                        html::text(cell_text(t.value(f, json()))) + "</dd>";
        body += "</dl>";
        if (write) {
            body +=
                "<details><summary>Edit this tier</summary>" +
                v.form(
                    "PATCH", "/v1/admin/policies/" + tid, back,
                    field("Name", "name", "text", " required", t.value("name", "")) +
                        field("Price override in sats", "price_sats_override:int", "number",
                              " min=\"0\"", cell_text(t.value("price_sats_override", json()))) +
                        field("Rank (higher is a bigger tier)", "tier_rank:int", "number",
                              " min=\"0\"", cell_text(t.value("tier_rank", json()))) +
                        field("Entitlements (comma-separated)", "entitlements:list", "text", "",
                              joined(t.value("entitlements", json()))) +
                        field("Hidden entitlements (granted, not shown to buyers)",
                              "hidden_entitlements:list", "text", "",
                              joined(t.value("hidden_entitlements", json()))) +
                        textarea("Marketing bullets", "marketing_bullets:lines",
                                 lines(t.value("marketing_bullets", json())),
                                 "One per line, as the buy page lists them") +
                        field("Max machines", "max_machines:int", "number", " min=\"0\"",
                              cell_text(t.value("max_machines", json()))) +
                        checkbox("Recurring", "is_recurring:bool", t.value("is_recurring", false)) +
                        field("Renewal period in days (recurring tiers)", "renewal_period_days:int",
                              "number", " min=\"1\"",
                              t.value("is_recurring", false)
                                  ? cell_text(t.value("renewal_period_days", json()))
                                  : "") +
                        checkbox("Highlighted on the buy page", "highlighted:bool",
                                 t.value("highlighted", false)) +
                        hidden_done("Tier saved.") +
                        "<button type=\"submit\">Save the tier</button>") +
                "</details>";
            bool is_public = t.value("is_public", true), archived = t.value("archived", false);
            body += "<p class=\"actions\">" +
                    v.button(
                        "PATCH", "/v1/admin/policies/" + tid + "/public", back,
                        is_public ? "Hide from buyers" : "Show to buyers",
                        {{"public:bool", is_public ? "false" : "true"}, {"_done", "Tier saved."}}) +
                    v.button("PATCH", "/v1/admin/policies/" + tid + "/archived", back,
                             archived ? "Unarchive" : "Archive",
                             {{"archived:bool", archived ? "false" : "true"},
                              {"_done", "Tier saved."}}) +
                    "</p>";
        }
        main += section("Tier " + t.value("name", ""), body);
    }
    return v.page("Product " + product.value("name", ""), "/admin/products", main);
}

http::Response codes(const ConsoleView& v) {
    const std::string back = "/admin/codes";
    std::string main = section(
        "Discount codes",
        listing(v, "/v1/admin/discount-codes", {{"include_inactive", "true"}}, "codes",
                {{"Code", "code", {}, [](const json& c) { return "/admin/codes/" + id_of(c); }},
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
                              "PATCH", "/v1/admin/discount-codes/" + id_of(c) + "/active", back,
                              active ? "Deactivate" : "Activate",
                              {{"active:bool", active ? "false" : "true"},
                               {"_done", active ? "Code deactivated." : "Code activated."}});
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
        "<label for=\"q\">Find by e-mail, invoice id or license key</label><input id=\"q\" "
        "name=\"q\" "
        "type=\"search\" value=\"" +
        html::text(q) + "\"><button type=\"submit\">Search</button></form>";
    Query query;
    std::string path = "/v1/admin/licenses";
    if (!q.empty()) {
        path = "/v1/admin/licenses/search";
        query.emplace(q.starts_with("LIC1-") || q.starts_with("lic1-") ? "key"
                      : q.find('@') != std::string::npos               ? "buyer_email"
                                                                       : "invoice_id",
                      q);
    } else {
        query.emplace("limit", "100");
    }
    bool write = v.may("licenses:write");
    main += section(
        q.empty() ? "Newest licenses" : "Found",
        listing(v, path, query, "licenses",
                {{"Buyer", "buyer_email"},
                 {"Status", "status"},
                 {"Issued", "issued_at"},
                 {"Expires", "expires_at"},
                 {"Entitlements", "entitlements"},
                 {"Id", "id", {}, [](const json& l) { return "/admin/licenses/" + id_of(l); }}},
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
    if (write)
        main += section(
            "Import a ledger from keysat-issue",
            "<p>The JSON lines file <code>keysat-issue</code> writes as it signs keys offline: "
            "every key must verify against a trusted key, and a file with a bad record imports "
            "nothing.</p>" +
                replace_form_type(v.form("POST", "/v1/admin/licenses/import", back,
                                         field("Ledger file", "_body", "file",
                                               " required accept=\".jsonl,.json,.txt\"") +
                                             "<input type=\"hidden\" name=\"_summary\" "
                                             "value=\"records,inserted,unchanged\">"
                                             "<button type=\"submit\">Import</button>")));
    return v.page("Licenses", "/admin/licenses", main);
}

// Moving an active license to another tier of its product: at once and free, or with a
// checkout (shown once, for the buyer) for what the move costs.
std::string change_tier_form(const ConsoleView& v, const json& license, const std::string& back) {
    if (!v.may("products:read") || !v.may("policies:read"))
        return "";
    std::string slug;
    auto products = v.get("/v1/admin/products");
    if (products.status != 200 || !products.body.is_object())
        return "";
    for (const auto& p : products.body.value("products", json::array()))
        if (p.value("id", "") == license.value("product_id", ""))
            slug = p.value("slug", "");
    if (slug.empty())
        return "";
    auto tiers = v.get("/v1/admin/policies", {{"product_slug", slug}});
    if (tiers.status != 200 || !tiers.body.is_object())
        return "";
    std::vector<std::pair<std::string, std::string>> options;
    for (const auto& t : tiers.body.value("policies", json::array()))
        if (t.value("id", json()) != license.value("policy_id", json()))
            options.emplace_back(t.value("slug", ""), t.value("name", ""));
    if (options.empty())
        return "";
    return section(
        "Change tier",
        v.form("POST", "/v1/admin/licenses/" + id_of(license) + "/change-tier", back,
               select("Move to", "to_policy_slug", options) +
                   checkbox("Apply at once without charging", "skip_payment:bool") +
                   field("Reason (kept in the audit log)", "reason", "text", " maxlength=\"500\"") +
                   "<input type=\"hidden\" name=\"_show\" value=\"checkout_url\">"
                   "<input type=\"hidden\" name=\"_title\" value=\"Tier change: the checkout "
                   "to send the buyer\">" +
                   hidden_done("Tier changed.") +
                   "<button type=\"submit\">Change the tier</button>"));
}

// One license: its terms, the status changes the operator may make, its machines, its newest
// validations and its audit trail.
http::Response license_page(const ConsoleView& v) {
    const std::string id = v.req.params.empty() ? "" : v.req.params[0];
    const std::string back = "/admin/licenses/" + id;
    auto a = v.get("/v1/admin/licenses/" + id);
    if (a.status != 200)
        return v.page("License", "/admin/licenses", v.refusal(a), a.status);
    const json& l = a.body;
    std::string main = "<dl class=\"terms\">";
    for (const auto& [label, field] : std::vector<std::pair<const char*, const char*>>{
             {"Buyer", "buyer_email"},
             {"Status", "status"},
             {"Issued", "issued_at"},
             {"Expires", "expires_at"},
             {"Entitlements", "entitlements"},
             {"Machines allowed", "max_machines"},
             {"Invoice", "invoice_id"},
             {"Suspension reason", "suspension_reason"},
             {"Revocation reason", "revocation_reason"},
             {"Id", "id"}})
        main += "<dt>" + html::text(label) + "</dt><dd>" +
                html::text(cell_text(l.value(field, json()))) + "</dd>";
    main += "</dl>";
    if (v.may("licenses:write")) {
        std::string status = l.value("status", ""), base = "/v1/admin/licenses/" + id;
        std::string actions;
        if (status != "revoked")
            actions +=
                v.button("POST", base + "/revoke", back, "Revoke", {{"_done", "License revoked."}});
        if (status == "active")
            actions += v.button("POST", base + "/suspend", back, "Suspend",
                                {{"_done", "License suspended."}});
        if (status == "suspended")
            actions += v.button("POST", base + "/unsuspend", back, "Unsuspend",
                                {{"_done", "License unsuspended."}});
        main += "<p class=\"actions\">" + actions + "</p>";
        if (status == "active")
            main += change_tier_form(v, l, back);
    }
    main += section(
        "Machines",
        listing(
            v, "/v1/admin/machines", {{"license_id", id}, {"include_inactive", "true"}}, "machines",
            {{"Hostname", "hostname"}, {"Platform", "platform"}, {"Active", "active"}},
            v.may("machines:write") ? std::function<std::string(const json&)>([&](const json& m) {
                if (!m.value("active", false))
                    return std::string();
                return v.button("POST", "/v1/admin/machines/" + id_of(m) + "/deactivate", back,
                                "Deactivate", {{"_done", "Machine deactivated."}});
            })
                                    : nullptr,
            "No machine has activated this license."));
    main += section("Newest validations",
                    table(l.value("validations", json::array()),
                          {{"When", "at"}, {"Result", "result"}, {"From", "request_ip"}}, nullptr,
                          "Never validated."));
    if (v.may("audit:read"))
        main +=
            section("Audit trail",
                    listing(v, "/v1/admin/audit", {{"target_id", id}, {"limit", "100"}}, "entries",
                            {{"When", "occurred_at"},
                             {"Action", "action"},
                             {"Who", "actor_kind",
                              [](const json& e) {
                                  return cell_text(e.value("actor_kind", json())) + " " +
                                         cell_text(e.value("actor_id", json()));
                              }}},
                            nullptr, "Nothing recorded."));
    return v.page("License " + id.substr(0, 8), "/admin/licenses", main);
}

http::Response machines(const ConsoleView& v) {
    std::string main = listing(
        v, "/v1/admin/machines", {{"limit", "200"}}, "machines",
        {{"Hostname", "hostname"},
         {"Platform", "platform"},
         {"License", "license_id"},
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
                return v.button("POST", base + "/resume", "/admin/subscriptions", "Resume",
                                {{"_done", "Subscription resumed."}});
            return v.button("POST", base + "/cancel", "/admin/subscriptions", "Cancel",
                            {{"_done", "Subscription cancelled."}});
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
                           field("Label", "label", "text", " required maxlength=\"80\"") +
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

bool is_done_message(const std::string& text) {
    static const std::set<std::string> known = {"Done.",
                                                "Brand colour saved.",
                                                "Code saved.",
                                                "Default profile set.",
                                                "Merchant profile created.",
                                                "Merchant profile deleted.",
                                                "Merchant profile saved.",
                                                "Provider disconnected.",
                                                "Rail preference saved.",
                                                "Tier changed.",
                                                "Zaprite connected.",
                                                "Code created.",
                                                "Code activated.",
                                                "Code deactivated.",
                                                "Delivery queued again.",
                                                "Endpoint deleted.",
                                                "Key revoked.",
                                                "License revoked.",
                                                "License suspended.",
                                                "License unsuspended.",
                                                "Machine deactivated.",
                                                "Operator name saved.",
                                                "Product activated.",
                                                "Product created.",
                                                "Product deactivated.",
                                                "Product saved.",
                                                "Tier saved.",
                                                "Tier created.",
                                                "Subscription cancelled.",
                                                "Subscription resumed."};
    return known.count(text) == 1;
}

// The brand colour of the buy pages: the default merchant profile's (the payments page edits
// every profile's).
std::string brand_colour(const ConsoleView& v, const std::string& back) {
    if (!v.may("merchant_profiles:read"))
        return "";
    auto a = v.get("/v1/admin/merchant-profiles");
    if (a.status != 200)
        return "";
    for (const auto& p : a.body.value("profiles", json::array())) {
        if (!p.value("is_default", false))
            continue;
        auto colour = p.value("brand_color", json());
        std::string now = colour.is_string() ? colour.get<std::string>() : "";
        std::string body =
            "<p>The buy pages of <strong>" + html::text(p.value("name", "")) +
            "</strong> (the default merchant profile) use " +
            (now.empty() ? std::string("the standard colour") : "the colour " + html::text(now)) +
            ".</p>";
        if (v.may("merchant_profiles:write"))
            body += v.form("PATCH", "/v1/admin/merchant-profiles/" + id_of(p), back,
                           field("Brand colour (#rrggbb; empty: the standard one)",
                                 "brand_color:str", "text", " pattern=\"#[0-9a-fA-F]{6}\"", now) +
                               hidden_done("Brand colour saved.") +
                               "<button type=\"submit\">Save</button>");
        return section("Brand colour", body);
    }
    return section("Brand colour", "<p>Buy pages use the standard colour until a merchant profile "
                                   "exists (connecting a payment provider makes the default one; "
                                   "the payments page makes others).</p>");
}

// Settings: the operator name buyers see, and a backup download link (the operator's alone).
http::Response settings(const ConsoleView& v) {
    const std::string back = "/admin/settings";
    auto a = v.get("/v1/admin/settings/operator-name");
    if (a.status != 200)
        return v.page("Settings", back, v.refusal(a), a.status);
    std::string main = "<p>Buyers see the operator name <strong>" +
                       html::text(a.body.value("operator_name", "")) +
                       "</strong> on the buy, thank-you and recovery pages.</p>";
    if (v.may("settings:write"))
        main +=
            section("Operator name",
                    v.form("POST", "/v1/admin/settings/operator-name", back,
                           field("Name buyers see", "name", "text", " required maxlength=\"200\"") +
                               hidden_done("Operator name saved.") +
                               "<button type=\"submit\">Save</button>"));
    main += brand_colour(v, back);
    if (v.is_master())
        main += section(
            "Backup",
            "<p>A link that downloads a consistent copy of the database once, within 10 minutes, "
            "without the admin key. It is shown once.</p>" +
                v.form("POST", "/v1/admin/backup/link", back,
                       "<input type=\"hidden\" name=\"_show\" value=\"url\">"
                       "<input type=\"hidden\" name=\"_title\" value=\"Backup download "
                       "link\"><button type=\"submit\">Make a download link</button>"));
    return v.page("Settings", back, main);
}

const std::vector<std::pair<std::string, ConsolePage>>& console_pages() {
    static const std::vector<std::pair<std::string, ConsolePage>> pages = {
        {"/admin/", dashboard},
        {"/admin/products", products},
        {"/admin/products/([0-9a-f-]{36})", product_page},
        {"/admin/codes", codes},
        {"/admin/licenses", licenses},
        {"/admin/licenses/([0-9a-f-]{36})", license_page},
        {"/admin/machines", machines},
        {"/admin/subscriptions", subscriptions},
        {"/admin/invoices", invoices_page},
        {"/admin/payments", payments_page},
        {"/admin/releases", releases_page},
        {"/admin/codes/([0-9a-f-]{36})", code_page},
        {"/admin/webhooks", webhooks},
        {"/admin/audit", audit_log},
        {"/admin/api-keys", api_keys},
        {"/admin/settings", settings},
    };
    return pages;
}

} // namespace keysat::api
