// The buyer's pages: GET /buy/:slug (tiers, e-mail, discount code, then the provider's checkout),
// POST /buy/:slug (the same form without JavaScript), GET /thank-you (the key once the invoice
// settles), GET and POST /recover, and the stylesheet and scripts they load. Server-rendered
// HTML; no build step, nothing from another origin. Every operator- and buyer-supplied string
// passes through html::text (or html::script_json inside the data block) on its way out; the
// Content-Security-Policy allows scripts only from this server and styles only from it and the
// page's own nonce, so a string that slipped through still could not run.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "keysat/api/app.hpp"
#include "keysat/api/html.hpp"
#include "keysat/api/page_assets.hpp"
#include "keysat/api/pages.hpp"
#include "keysat/crypto/signing.hpp"
#include "keysat/http/parser.hpp"
#include "keysat/payments/zaprite.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/service/pricing.hpp"
#include "keysat/service/providers.hpp"
#include "keysat/service/subscriptions.hpp"
#include "keysat/service/tier_changes.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/net.hpp"
#include "keysat/util/uuid.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

constexpr const char* k_default_brand = "#1d4ed8";

// What every page shares: its title, who sells, the brand colour, where its forms may go.
struct Frame {
    std::string title;
    std::string seller;
    std::string brand = k_default_brand;
    std::vector<std::string> form_origins; // besides this server (the providers' checkouts)
    std::vector<std::string> scripts;      // under /assets/
    int refresh_seconds = 0;               // without JavaScript, reload after this many seconds
    bool no_store = false;                 // the page shows a license key
    std::string support_href;              // the seller's support page or mailto: address
};

// Black or white text, whichever reads better on `hex` (WCAG relative luminance).
const char* text_on(const std::string& hex) {
    auto channel = [&](int i) {
        double c = std::stoi(hex.substr(1 + 2 * i, 2), nullptr, 16) / 255.0;
        return c <= 0.03928 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
    };
    double l = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
    return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? "#000000" : "#ffffff";
}

// Stands for the per-response nonce in a rendered page until with_nonce fills it in: escaped
// text can hold neither '<' nor '"', so only the frame's own occurrences match.
constexpr std::string_view k_nonce_mark = "<nonce>";

// A page with k_nonce_mark where its nonce goes (in the CSP header and the style element).
http::Response render(int status, const Frame& f, const std::string& main_html) {
    std::string brand = html::is_hex_colour(f.brand) ? f.brand : k_default_brand;
    std::string form_action = "'self'";
    for (const auto& o : f.form_origins)
        if (!o.empty())
            form_action += " " + o;

    std::string head;
    for (const auto& s : f.scripts)
        head += fmt::format("<script src=\"/assets/{}\" defer></script>", html::text(s));
    if (f.refresh_seconds > 0)
        head += fmt::format("<noscript><meta http-equiv=\"refresh\" content=\"{}\"></noscript>",
                            f.refresh_seconds);

    http::Response r;
    r.status = status;
    r.content_type = "text/html; charset=utf-8";
    r.body = fmt::format(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>{title}</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" "
        "href=\"/assets/keysat.css\"><style nonce=\"{nonce}\">:root{{--brand:{brand};"
        "--on-brand:{on}}}</style>{head}</head>"
        "<body><header class=\"top\"><span class=\"seller\">{seller}</span></header>"
        "<main>{main}</main>"
        "<footer>Sold by {seller}. Payments go straight to the seller.{support}</footer>"
        "</body></html>\n",
        fmt::arg("title", html::text(f.title)), fmt::arg("nonce", k_nonce_mark),
        fmt::arg("brand", brand), fmt::arg("on", text_on(brand)), fmt::arg("head", head),
        fmt::arg("seller", html::text(f.seller)), fmt::arg("main", main_html),
        fmt::arg("support", f.support_href.empty()
                                ? std::string()
                                : " <a href=\"" + html::text(f.support_href) + "\">Support</a>"));
    r.headers = {
        {"Content-Security-Policy",
         fmt::format("default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{}'; "
                     "img-src 'self' data:; connect-src 'self'; form-action {}; base-uri 'none'; "
                     "frame-ancestors 'none'",
                     k_nonce_mark, form_action)},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Cache-Control", f.no_store ? "no-store" : "no-cache"}};
    return r;
}

// A rendered page with a fresh nonce.
http::Response with_nonce(http::Response r) {
    std::uint8_t raw[18];
    crypto::random_bytes(raw);
    std::string nonce = base64_encode(ByteView(raw, sizeof raw));
    std::string in_body = std::string("nonce=\"") + std::string(k_nonce_mark) + "\"";
    if (auto at = r.body.find(in_body); at != std::string::npos)
        r.body.replace(at, in_body.size(), "nonce=\"" + nonce + "\"");
    for (auto& [name, value] : r.headers)
        if (name == "Content-Security-Policy")
            if (auto at = value.find(k_nonce_mark); at != std::string::npos)
                value.replace(at, k_nonce_mark.size(), nonce);
    return r;
}

http::Response page(int status, const Frame& f, const std::string& main_html) {
    return with_nonce(render(status, f, main_html));
}

// Rendered buy pages, by product slug, while no commit happened and for at most a second (a
// featured code may expire; another process may write). The nonce is filled in per response.
class PageCache {
  public:
    std::optional<http::Response> find(const std::string& slug, std::uint64_t generation) {
        std::lock_guard lock(m_mutex);
        auto it = m_pages.find(slug);
        if (it == m_pages.end() || it->second.generation != generation ||
            std::chrono::steady_clock::now() - it->second.at > std::chrono::seconds(1))
            return std::nullopt;
        return it->second.page;
    }
    void put(const std::string& slug, std::uint64_t generation, http::Response page) {
        std::lock_guard lock(m_mutex);
        if (m_pages.size() >= 1000)
            m_pages.clear();
        m_pages[slug] = {generation, std::chrono::steady_clock::now(), std::move(page)};
    }

  private:
    struct Entry {
        std::uint64_t generation;
        std::chrono::steady_clock::time_point at;
        http::Response page;
    };
    std::mutex m_mutex;
    std::unordered_map<std::string, Entry> m_pages;
};

// Where the connected providers' checkout pages are (the buy form is redirected there).
std::vector<std::string> checkout_origins(const App& app, db::Database& db) {
    std::vector<std::string> out;
    auto providers = store::AccountStore(db).list_providers();
    if (!providers)
        return out;
    for (const auto& p : *providers) {
        if (p.status != "connected")
            continue;
        out.push_back(html::origin_of(p.kind == "btcpay" && !app.btcpay_public_url.empty()
                                          ? app.btcpay_public_url
                                          : p.base_url));
        // Zaprite's API and its hosted checkout live on different hosts.
        if (p.kind == "zaprite" && html::origin_of(p.base_url) == payments::k_zaprite_default_url)
            out.push_back("https://app.zaprite.com");
    }
    return out;
}

// The frame of a page about `product` (nullptr: the default profile's): the merchant profile's
// name, brand colour and support contact, else the operator's name.
Frame frame_for(const App& app, db::Database& db, std::string title,
                const store::ProductRow* product = nullptr) {
    Frame f;
    f.title = std::move(title);
    f.seller = operator_name(app, db);
    auto profile =
        product ? service::profile_of(db, *product) : store::AccountStore(db).default_merchant();
    if (profile && *profile) {
        const auto& m = **profile;
        f.seller = m.name;
        if (m.brand_color && html::is_hex_colour(*m.brand_color))
            f.brand = *m.brand_color;
        if (m.support_url && html::is_safe_link(*m.support_url))
            f.support_href = *m.support_url;
        else if (m.support_email)
            f.support_href = "mailto:" + *m.support_email;
    }
    return f;
}

std::vector<std::string> strings_of(const std::string& json_text) {
    std::vector<std::string> out;
    for (const auto& v : json_array_or_empty(json_text))
        if (v.is_string())
            out.push_back(v.get<std::string>());
    return out;
}

std::string plural(std::int64_t n, const char* one, const char* many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

// "every month", "every year", "every 14 days".
std::string period_words(std::int64_t days) {
    if (days == 30)
        return "every month";
    if (days == 365)
        return "every year";
    return days == 1 ? "every day" : fmt::format("every {} days", days);
}

// "/ month", "/ year", "/ 14 days": what follows a recurring price.
std::string per_period(std::int64_t days) {
    if (days == 30)
        return " / month";
    if (days == 365)
        return " / year";
    return days == 1 ? " / day" : fmt::format(" / {} days", days);
}

// The tier's terms in words: "1 year · 3 devices · renews every year".
std::string terms_of(const store::PolicyRow& p) {
    std::vector<std::string> parts;
    if (p.trial_days && *p.trial_days > 0 && (p.is_trial || p.renewal_period_days))
        parts.push_back(fmt::format("{}-day free trial", *p.trial_days));
    if (p.renewal_period_days)
        parts.push_back("renews " + period_words(*p.renewal_period_days));
    else if (!p.duration_days)
        parts.push_back("lifetime license");
    else if (*p.duration_days % 365 == 0)
        parts.push_back(plural(*p.duration_days / 365, "year", "years"));
    else
        parts.push_back(plural(*p.duration_days, "day", "days"));
    parts.push_back(p.max_machines == 0 ? "unlimited devices"
                                        : plural(p.max_machines, "device", "devices"));
    std::string out;
    for (const auto& s : parts)
        out += (out.empty() ? "" : " · ") + s;
    return out;
}

std::string list_html(const std::vector<std::string>& items, const char* cls) {
    if (items.empty())
        return {};
    std::string out = fmt::format("<ul class=\"{}\">", cls);
    for (const auto& i : items)
        out += "<li>" + html::text(i) + "</li>";
    return out + "</ul>";
}

struct Tier {
    store::PolicyRow policy;
    std::int64_t base = 0;
    std::int64_t price = 0;
    std::optional<store::DiscountCodeRow> featured;
};

// One tier card: a radio button when there are several, the price (struck through when a
// featured code lowers it), the terms, the bullets and the entitlements buyers may see.
std::string tier_html(const Tier& t, const std::string& currency, bool radio, bool checked) {
    const auto& p = t.policy;
    std::string per = p.renewal_period_days ? per_period(*p.renewal_period_days) : "";
    std::string price_html =
        t.price < t.base ? fmt::format("<s class=\"was\">{}</s> <strong class=\"now\">{}</strong>",
                                       html::text(html::price(t.base, currency)),
                                       html::text(html::price(t.price, currency)))
                         : fmt::format("<strong class=\"now\">{}</strong>",
                                       html::text(html::price(t.price, currency)));
    if (!per.empty())
        price_html += "<span class=\"per\">" + html::text(per) + "</span>";
    std::string featured;
    if (t.featured && t.price < t.base)
        featured = fmt::format(
            "<p class=\"featured\">Code <code>{}</code> applied{}</p>",
            html::text(t.featured->code),
            t.featured->description.empty() ? "" : ": " + html::text(t.featured->description));
    auto hidden = strings_of(p.hidden_entitlements_json);
    std::vector<std::string> visible;
    for (const auto& e : strings_of(p.entitlements_json))
        if (std::find(hidden.begin(), hidden.end(), e) == hidden.end())
            visible.push_back(e);
    std::string bullets = list_html(strings_of(p.marketing_bullets_json), "bullets");
    std::string features = list_html(visible, "entitlements");
    std::string body =
        p.marketing_bullets_position == "below" ? features + bullets : bullets + features;
    std::string id = "tier-" + html::text(p.slug);
    std::string control =
        radio ? fmt::format("<input type=\"radio\" name=\"policy_slug\" id=\"{}\" value=\"{}\"{}>",
                            id, html::text(p.slug), checked ? " checked" : "")
              : fmt::format("<input type=\"hidden\" name=\"policy_slug\" value=\"{}\">",
                            html::text(p.slug));
    // The label covers the whole card (CSS), so a tap anywhere on it picks the tier.
    return fmt::format("<div class=\"tier{}\">{}<label class=\"tier-head\"{}><span "
                       "class=\"tier-name\">{}</span>{}</label><span class=\"price\">{}</span>"
                       "<span class=\"terms\">{}</span>{}{}{}</div>",
                       p.highlighted ? " highlighted" : "", control,
                       radio ? " for=\"" + id + "\"" : "", html::text(p.name),
                       p.highlighted ? "<span class=\"badge\">Recommended</span>" : "", price_html,
                       html::text(terms_of(p)),
                       p.description.empty()
                           ? ""
                           : "<p class=\"tier-description\">" + html::text(p.description) + "</p>",
                       featured, body);
}

struct BuyForm {
    std::string policy_slug;
    std::string email;
    std::string code;
    std::string error;
    std::string rail;
};

// "Pay with" choices when the seller's providers serve more than one rail.
std::string rails_html(db::Database& db, const store::ProductRow& product,
                       const std::string& chosen) {
    auto profile = service::profile_of(db, product);
    if (!profile)
        return {};
    auto providers = service::providers_of(db, *profile);
    if (!providers)
        return {};
    auto rails = service::rails_served(*providers);
    if (rails.size() < 2)
        return {};
    static const std::map<std::string, std::string> k_words = {
        {"lightning", "Bitcoin (Lightning)"}, {"onchain", "Bitcoin (on-chain)"}, {"card", "Card"}};
    std::string out = "<fieldset class=\"rails\"><legend>Pay with</legend>";
    for (const auto& r : rails)
        out +=
            fmt::format("<label class=\"rail\"><input type=\"radio\" name=\"rail\" "
                        "value=\"{0}\"{1}> {2}</label>",
                        r, r == chosen || (chosen.empty() && r == rails.front()) ? " checked" : "",
                        html::text(k_words.at(r)));
    return out + "</fieldset>";
}

http::Response buy_page(const App& app, db::Database& db, const std::string& slug,
                        const BuyForm& form, int status) {
    store::CatalogStore catalog(db);
    auto product = catalog.find_product_by_slug(slug);
    if (!product)
        return message_page(app, db, 500, "Something went wrong",
                            "The shop could not be read. Try again in a moment.");
    if (!*product || !(*product)->active)
        return message_page(app, db, 404, "Product not found",
                            "There is no product to buy at this address.");
    const auto& prod = **product;
    auto policies = catalog.list_policies(prod.id, true);
    auto codes = store::CommerceStore(db).list_codes();
    if (!policies || !codes)
        return message_page(app, db, 500, "Something went wrong",
                            "The shop could not be read. Try again in a moment.");
    std::int64_t now = app.clock->now();
    std::vector<Tier> tiers;
    for (const auto& pol : *policies) {
        Tier t{pol, pol.price_override.value_or(prod.price_amount), 0, std::nullopt};
        t.price = t.base;
        if (auto f = service::featured_discount(*codes, prod, pol, t.base, now)) {
            t.price = f->price;
            t.featured = f->code;
        }
        tiers.push_back(std::move(t));
    }

    // The tier checked at first: the one the buyer sent, else the highlighted one, else the first.
    std::string chosen = form.policy_slug;
    if (std::none_of(tiers.begin(), tiers.end(),
                     [&](const Tier& t) { return t.policy.slug == chosen; })) {
        auto h = std::find_if(tiers.begin(), tiers.end(),
                              [](const Tier& t) { return t.policy.highlighted; });
        chosen = h != tiers.end() ? h->policy.slug : tiers.empty() ? "" : tiers[0].policy.slug;
    }

    std::string tiers_html;
    json data_tiers = json::array();
    if (tiers.empty()) {
        tiers_html = fmt::format("<p class=\"price solo\"><strong class=\"now\">{}</strong></p>",
                                 html::text(html::price(prod.price_amount, prod.currency)));
    } else {
        bool radio = tiers.size() > 1;
        tiers_html = radio ? "<fieldset class=\"tiers\"><legend>Choose a plan</legend>"
                           : "<div class=\"tiers\">";
        for (const auto& t : tiers) {
            tiers_html += tier_html(t, prod.currency, radio, t.policy.slug == chosen);
            data_tiers.push_back({{"slug", t.policy.slug}, {"base", t.base}, {"price", t.price}});
        }
        tiers_html += radio ? "</fieldset>" : "</div>";
    }
    auto chosen_tier = std::find_if(tiers.begin(), tiers.end(),
                                    [&](const Tier& t) { return t.policy.slug == chosen; });
    std::int64_t total = chosen_tier != tiers.end() ? chosen_tier->price : prod.price_amount;
    json data = {{"product", prod.slug}, {"currency", prod.currency}, {"tiers", data_tiers}};

    Frame f = frame_for(app, db, prod.name, &prod);
    f.form_origins = checkout_origins(app, db);
    f.scripts = {"buy.js"};
    std::string error =
        form.error.empty() ? ""
                           : "<p class=\"error\" role=\"alert\">" + html::text(form.error) + "</p>";
    std::string main = fmt::format(
        "<section class=\"card\"><h1>{name}</h1>{description}"
        "<form method=\"post\" action=\"/buy/{slug}\" id=\"buy-form\">{error}{tiers}"
        "<label class=\"field\">E-mail <span class=\"hint\">(to recover your key later)</span>"
        "<input type=\"email\" name=\"buyer_email\" id=\"buyer-email\" autocomplete=\"email\" "
        "maxlength=\"320\" value=\"{email}\"></label>"
        "<label class=\"field\">Discount code<span class=\"code-row\"><input type=\"text\" "
        "name=\"code\" id=\"code\" autocomplete=\"off\" maxlength=\"64\" value=\"{code}\">"
        "<button type=\"button\" id=\"apply-code\" class=\"secondary\" hidden>Apply</button>"
        "</span></label><p id=\"code-result\" role=\"status\" aria-live=\"polite\"></p>"
        "{rails}<p class=\"total\">Total: <strong id=\"total\">{total}</strong></p>"
        "<button type=\"submit\" id=\"pay\">Continue to payment</button></form>"
        "<p class=\"aside\">Lost a key you bought? <a href=\"/recover\">Recover it</a>.</p>"
        "</section><script type=\"application/json\" id=\"buy-data\">{data}</script>",
        fmt::arg("name", html::text(prod.name)),
        fmt::arg("description", prod.description.empty()
                                    ? ""
                                    : "<p class=\"lead\">" + html::text(prod.description) + "</p>"),
        fmt::arg("slug", html::url_component(prod.slug)), fmt::arg("error", error),
        fmt::arg("tiers", tiers_html), fmt::arg("email", html::text(form.email)),
        fmt::arg("rails", rails_html(db, prod, form.rail)), fmt::arg("code", html::text(form.code)),
        fmt::arg("total", html::text(html::price(total, prod.currency))),
        fmt::arg("data", html::script_json(data)));
    return render(status, f, main); // the caller fills in the nonce
}

// The same request as JSON, for the API handler the form stands in for.
http::Request as_json_request(const http::Request& req, const json& body) {
    http::Request r = req;
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace); // a form may hold bad UTF-8
    r.headers["content-type"] = "application/json";
    return r;
}

http::Response buy_submit(const App& app, db::Database& db, const http::Request& req) {
    const std::string& slug = req.params[0];
    auto fields = form_fields(req);
    BuyForm form{fields["policy_slug"], fields["buyer_email"], fields["code"], "", fields["rail"]};
    json body = {{"product", slug}};
    for (const char* k : {"policy_slug", "buyer_email", "code", "rail"})
        if (!fields[k].empty())
            body[k] = fields[k];
    auto answer = purchase_answer(app, db, as_json_request(req, body));
    json out = json::parse(answer.body, nullptr, false);
    if (answer.status == 200 && out.is_object()) {
        std::string checkout = out.value("checkout_url", "");
        if (!checkout.empty() && html::is_safe_link(checkout))
            return redirect(checkout);
        return redirect("/thank-you?invoice_id=" +
                        html::url_component(out.value("invoice_id", "")));
    }
    form.error =
        out.is_object() ? out.value("message", "The purchase failed.") : "The purchase failed.";
    return with_nonce(buy_page(app, db, slug, form, answer.status));
}

// Our invoice ids are UUIDs in their canonical lower-case form.
bool is_invoice_id(const std::string& id) {
    auto uuid = Uuid::parse(id);
    return uuid && uuid->to_string() == id;
}

std::string key_block(const std::string& key) {
    return fmt::format(
        "<label class=\"field\" for=\"license-key\">Your license key</label>"
        "<textarea id=\"license-key\" readonly rows=\"4\" spellcheck=\"false\">{}</textarea>"
        "<button type=\"button\" id=\"copy-key\" hidden>Copy key</button>"
        "<span id=\"copy-result\" role=\"status\" aria-live=\"polite\"></span>",
        html::text(key));
}

http::Response thank_you(const App& app, db::Database& db, const http::Request& req) {
    std::string id = req.query_value("invoice_id").value_or("");
    auto not_found = [&] {
        return message_page(app, db, 404, "Purchase not found",
                            "This link does not name a purchase. Check the address, or recover "
                            "your key with the invoice id and your e-mail address.");
    };
    if (!is_invoice_id(id))
        return not_found();
    auto invoice = store::CommerceStore(db).find_invoice(id);
    auto license = invoice && *invoice && (*invoice)->status == "settled"
                       ? service::license_for_invoice(db, **invoice)
                       : Expected<std::optional<store::LicenseRow>>(std::nullopt);
    if (!invoice || !license)
        return message_page(app, db, 500, "Something went wrong",
                            "The purchase could not be read. Reload the page in a moment.");
    if (!*invoice)
        return not_found();
    const auto& inv = **invoice;
    auto product = store::CatalogStore(db).find_product(inv.product_id);
    std::string product_name = product && *product ? (*product)->name : "your purchase";
    std::string product_slug = product && *product ? (*product)->slug : "";

    Frame f = frame_for(app, db, "Thank you", product && *product ? &**product : nullptr);
    f.scripts = {"thank-you.js"};
    f.no_store = true;
    std::string body;
    const auto& lic = *license;
    if (inv.status == "settled" && lic && lic->status == "active") {
        std::string downloads;
        if (app.release_files && !product_slug.empty()) {
            auto files = app.release_files(product_slug);
            if (!files.empty()) {
                downloads = "<h2>Download</h2><ul class=\"downloads\">";
                for (const auto& file : files)
                    downloads +=
                        fmt::format("<li><a href=\"/releases/{}/latest/{}?token={}\">{}</a></li>",
                                    html::url_component(product_slug), html::url_component(file),
                                    html::url_component(lic->license_key), html::text(file));
                downloads += "</ul>";
            }
        }
        body = fmt::format(
            "<h1>Thank you!</h1><p class=\"lead\">{}</p>{}"
            "<h2>What next</h2><ol class=\"next\"><li>Copy the key and keep it somewhere safe."
            "</li><li>Paste it into the application when it asks for a license{}.</li>"
            "<li>Lost it? <a href=\"/recover?invoice_id={}\">Recover it</a> with invoice "
            "<code>{}</code> and your e-mail address.</li></ol>{}",
            // A renewal or a tier change hands out a fresh key for the same license.
            inv.purpose == "renewal" ? "Your license for " + html::text(product_name) +
                                           " is renewed. Here is its key with the new date."
            : inv.purpose == "upgrade"
                ? "Your license for " + html::text(product_name) +
                      " has its new plan. Here is its key with the new plan."
                : "Your license for " + html::text(product_name) + " is ready.",
            key_block(lic->license_key),
            inv.purpose == "purchase" ? "" : " (your old key keeps working too)",
            html::url_component(inv.id), html::text(inv.id), downloads);
    } else if (inv.status == "new" || inv.status == "processing") {
        f.refresh_seconds = 5;
        body = fmt::format(
            "<h1>Waiting for your payment</h1><p class=\"lead\" id=\"waiting\" role=\"status\" "
            "aria-live=\"polite\">Your key for {} appears here as soon as the payment is "
            "confirmed. You can keep this page open.</p><p class=\"aside\">Invoice <code>{}"
            "</code></p>",
            html::text(product_name), html::text(inv.id));
    } else {
        body = fmt::format(
            "<h1>This purchase did not complete</h1><p class=\"lead\">The invoice {} before a "
            "payment was confirmed, so no key was issued.</p>{}",
            inv.status == "expired" ? "expired" : "was cancelled",
            product_slug.empty()
                ? ""
                : "<p><a class=\"button\" href=\"/buy/" + html::url_component(product_slug) +
                      "\">Start again</a></p>");
    }
    std::string main =
        fmt::format("<section class=\"card\" id=\"purchase\" data-status=\"{}\">{}</section>"
                    "<script type=\"application/json\" id=\"purchase-data\">{}</script>",
                    html::text(inv.status == "processing" ? "new" : inv.status), body,
                    html::script_json({{"invoice_id", inv.id}, {"status", inv.status}}));
    return page(200, f, main);
}

http::Response recover_page(const App& app, db::Database& db, const std::string& invoice_id,
                            const std::string& email, const std::string& outcome_html, int status) {
    Frame f = frame_for(app, db, "Recover your license key");
    f.scripts = {"thank-you.js"}; // the copy button
    f.no_store = !outcome_html.empty();
    std::string main = fmt::format(
        "<section class=\"card\"><h1>Recover your license key</h1>{}"
        "<p class=\"lead\">Enter the invoice id from your purchase and the e-mail address you "
        "gave.</p><form method=\"post\" action=\"/recover\" id=\"recover-form\">"
        "<label class=\"field\">Invoice id<input type=\"text\" name=\"invoice_id\" "
        "id=\"invoice-id\" required maxlength=\"64\" autocomplete=\"off\" spellcheck=\"false\" "
        "value=\"{}\"></label><label class=\"field\">E-mail<input type=\"email\" name=\"email\" "
        "id=\"email\" required maxlength=\"320\" autocomplete=\"email\" value=\"{}\"></label>"
        "<button type=\"submit\">Recover</button></form></section>",
        outcome_html, html::text(invoice_id), html::text(email));
    return page(status, f, main);
}

http::Response recover_submit(const App& app, db::Database& db, const http::Request& req) {
    auto fields = form_fields(req);
    json body = {{"invoice_id", fields["invoice_id"]}, {"email", fields["email"]}};
    auto answer = recover_answer(app, db, as_json_request(req, body));
    json out = json::parse(answer.body, nullptr, false);
    std::string outcome;
    if (answer.status == 200 && out.is_object() && out.contains("license_key"))
        outcome = "<div class=\"found\">" + key_block(out.value("license_key", "")) + "</div>";
    else if (answer.status == 429)
        outcome = "<p class=\"error\" role=\"alert\">Too many attempts. Wait a minute and try "
                  "again.</p>";
    else
        outcome = "<p class=\"error\" role=\"alert\">No settled purchase matches this invoice id "
                  "and e-mail address.</p>";
    return recover_page(app, db, fields["invoice_id"], fields["email"], outcome,
                        answer.status == 200 ? 200 : answer.status);
}

// The /upgrade page: the buyer's key, then the other tiers of its product with what moving
// costs now, then the provider's checkout (or the new key when nothing is to pay). The key is
// the proof, as on POST /v1/upgrade, which the last step goes through.
struct UpgradeForm {
    std::string key;
    std::string target;
    std::string code;
    std::string error;
    std::string outcome_html; // the result of a change that needed no checkout
};

std::string error_html(const std::string& message) {
    return message.empty() ? ""
                           : "<p class=\"error\" role=\"alert\">" + html::text(message) + "</p>";
}

http::Response upgrade_page(const App& app, db::Database& db, const http::Request& req,
                            const UpgradeForm& form, int status) {
    Frame f = frame_for(app, db, "Change your plan");
    f.scripts = {"thank-you.js"}; // the copy button of a key shown here
    f.no_store = true;
    if (!form.outcome_html.empty())
        return page(status, f,
                    "<section class=\"card\"><h1>Change your plan</h1>" + form.outcome_html +
                        "</section>");
    std::string error = form.error;
    std::optional<store::LicenseRow> license;
    if (!form.key.empty()) {
        // Checking a key answers whether it is one: limited as quotes are.
        std::string ip = client_address(req, app.trusted_proxies);
        if (app.limiter &&
            !app.limiter->take("upgrade-quote:" + net::rate_limit_key(ip), 1.0, 30.0))
            error = "Too many attempts. Wait a minute and try again.";
        else if (auto found = service::license_of_key(db, app.keyring, form.key);
                 found && *found && (*found)->status == "active")
            license = **found;
        else if (error.empty())
            error = "This key is not valid here, or its license is not active.";
    }
    if (!license)
        return page(
            status, f,
            fmt::format("<section class=\"card\"><h1>Change your plan</h1>{}<p class=\"lead\">"
                        "Paste the license key of the plan you have; you will see what each "
                        "other plan costs now.</p><form method=\"post\" action=\"/upgrade\" "
                        "id=\"upgrade-form\"><label class=\"field\">License key<textarea "
                        "name=\"license_key\" id=\"upgrade-key\" rows=\"4\" required "
                        "maxlength=\"4096\" spellcheck=\"false\" autocomplete=\"off\">{}"
                        "</textarea></label><button type=\"submit\" id=\"show-plans\">Show my "
                        "options</button></form></section>",
                        error_html(error), html::text(form.key)));
    store::CatalogStore catalog(db);
    auto product = catalog.find_product(license->product_id);
    auto policies = product && *product ? catalog.list_policies((*product)->id, true)
                                        : Expected<std::vector<store::PolicyRow>>();
    if (!product || !*product || !policies)
        return message_page(app, db, 500, "Something went wrong",
                            "The shop could not be read. Try again in a moment.");
    f = frame_for(app, db, "Change your plan", &**product);
    f.scripts = {"thank-you.js"};
    f.no_store = true;
    f.form_origins = checkout_origins(app, db);
    std::int64_t now = app.clock->now();
    std::string current;
    std::string options;
    bool first = true;
    for (const auto& pol : *policies) {
        if (license->policy_id && pol.id == *license->policy_id) {
            current = pol.name;
            continue;
        }
        auto q = service::quote_tier_change(db, license->id, pol.slug, std::nullopt, now);
        std::string cost;
        if (!q) { // the refusal's reason, without its "bad request: " word
            const std::string& m = q.error().message;
            auto colon = m.find(": ");
            cost = colon == std::string::npos ? m : m.substr(colon + 2);
        } else if (q->effective_at) {
            cost = "from " + format_date(*q->effective_at) + ", at your next renewal";
        } else if (q->charge == 0) {
            cost = "no charge, at once";
        } else {
            cost = html::price(q->charge, (*product)->currency) + " now";
        }
        if (q && !q->effective_at && q->next_renewal_charge && q->next_renewal_period_days)
            cost += ", then " + html::price(*q->next_renewal_charge, (*product)->currency) +
                    per_period(*q->next_renewal_period_days);
        std::string id = "to-" + html::text(pol.slug);
        bool checked = q && (form.target == pol.slug || (form.target.empty() && first));
        if (checked)
            first = false;
        options += fmt::format(
            "<div class=\"tier\"><input type=\"radio\" name=\"target_policy_slug\" id=\"{id}\" "
            "value=\"{slug}\"{checked}{disabled}><label class=\"tier-head\" for=\"{id}\"><span "
            "class=\"tier-name\">{name}</span></label><span class=\"price\"><strong "
            "class=\"now\">{cost}</strong></span><span class=\"terms\">{terms}</span></div>",
            fmt::arg("id", id), fmt::arg("slug", html::text(pol.slug)),
            fmt::arg("checked", checked ? " checked" : ""),
            fmt::arg("disabled", q ? "" : " disabled"), fmt::arg("name", html::text(pol.name)),
            fmt::arg("cost", html::text(cost)), fmt::arg("terms", html::text(terms_of(pol))));
    }
    std::string main = fmt::format(
        "<section class=\"card\"><h1>Change your plan</h1>{error}<p class=\"lead\">{product}: "
        "you have <strong>{current}</strong>.</p><form method=\"post\" action=\"/upgrade\" "
        "id=\"upgrade-form\"><input type=\"hidden\" name=\"license_key\" value=\"{key}\">"
        "<input type=\"hidden\" name=\"confirm\" value=\"1\">"
        "<fieldset class=\"tiers\"><legend>Move to</legend>{options}</fieldset>"
        "<label class=\"field\">Discount code<input type=\"text\" name=\"code\" id=\"code\" "
        "autocomplete=\"off\" maxlength=\"64\" value=\"{code}\"></label>"
        "<button type=\"submit\" id=\"change-plan\">Change plan</button></form></section>",
        fmt::arg("error", error_html(error)), fmt::arg("product", html::text((*product)->name)),
        fmt::arg("current", html::text(current.empty() ? "no plan" : current)),
        fmt::arg("key", html::text(form.key)), fmt::arg("options", options),
        fmt::arg("code", html::text(form.code)));
    return page(status, f, main);
}

http::Response upgrade_submit(const App& app, db::Database& db, const http::Request& req) {
    auto fields = form_fields(req);
    UpgradeForm form{fields["license_key"], fields["target_policy_slug"], fields["code"], "", ""};
    if (fields["confirm"] != "1" || form.target.empty())
        return upgrade_page(app, db, req, form, 200);
    json body = {{"license_key", form.key}, {"target_policy_slug", form.target}};
    if (!form.code.empty())
        body["code"] = form.code;
    auto answer = upgrade_answer(app, db, as_json_request(req, body));
    json out = json::parse(answer.body, nullptr, false);
    if (answer.status == 200 && out.is_object()) {
        if (out["checkout_url"].is_string() &&
            html::is_safe_link(out["checkout_url"].get<std::string>()))
            return redirect(out["checkout_url"].get<std::string>());
        std::string to = html::text(out.value("to_policy_slug", std::string()));
        if (out.value("applied", false))
            form.outcome_html = "<p class=\"lead\">Your plan is now <strong>" + to +
                                "</strong>. Use this key from now on:</p><div class=\"found\">" +
                                key_block(out.value("license_key", std::string())) + "</div>";
        else
            form.outcome_html = "<p class=\"lead\">Your plan moves to <strong>" + to +
                                "</strong> at your next renewal, which bills the new price. Your "
                                "key works as it is until then.</p>";
        return upgrade_page(app, db, req, form, 200);
    }
    form.error =
        out.is_object() ? out.value("message", "The change failed.") : "The change failed.";
    return upgrade_page(app, db, req, form, answer.status);
}

http::Response asset(const PageAsset& a) {
    http::Response r;
    r.content_type = a.content_type;
    r.body = a.body;
    r.headers = {{"Cache-Control", "public, max-age=300"}, {"X-Content-Type-Options", "nosniff"}};
    return r;
}

} // namespace

http::Response redirect(const std::string& location) {
    http::Response r;
    r.status = 303;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "See " + location + "\n";
    r.headers = {{"Location", location}, {"Cache-Control", "no-store"}};
    return r;
}

std::map<std::string, std::string> form_fields(const http::Request& req) {
    std::multimap<std::string, std::string> all;
    http::detail::parse_query(req.body, all);
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : all)
        out.emplace(k, v);
    return out;
}

http::Response html_page(const App& app, db::Database& db, int status, const std::string& title,
                         const std::string& main_html) {
    return page(status, frame_for(app, db, title), main_html);
}

http::Response message_page(const App& app, db::Database& db, int status,
                            const std::string& heading, const std::string& text) {
    return page(status, frame_for(app, db, heading),
                fmt::format("<section class=\"card\"><h1>{}</h1><p>{}</p></section>",
                            html::text(heading), html::text(text)));
}

void register_page_routes(http::Server& s, const App& app) {
    const std::string slug = R"(/buy/([a-z0-9][a-z0-9_-]{0,63}))";
    auto cache = std::make_shared<PageCache>();
    s.route("GET", slug,
            with_database(app, [&app, cache](db::Database& db, const http::Request& r) {
                std::uint64_t generation = app.commits->load(std::memory_order_acquire);
                if (auto cached = cache->find(r.params[0], generation))
                    return with_nonce(std::move(*cached));
                auto rendered = buy_page(app, db, r.params[0], BuyForm{}, 200);
                if (rendered.status == 200)
                    cache->put(r.params[0], generation, rendered);
                return with_nonce(std::move(rendered));
            }));
    s.route("POST", slug, with_database(app, [&app](db::Database& db, const http::Request& r) {
                return buy_submit(app, db, r);
            }));
    s.route("GET", "/thank-you", with_database(app, [&app](db::Database& db, const auto& r) {
                return thank_you(app, db, r);
            }));
    s.route("GET", "/upgrade", with_database(app, [&app](db::Database& db, const auto& r) {
                return upgrade_page(app, db, r, UpgradeForm{}, 200);
            }));
    s.route("POST", "/upgrade", with_database(app, [&app](db::Database& db, const auto& r) {
                return upgrade_submit(app, db, r);
            }));
    s.route("GET", "/recover", with_database(app, [&app](db::Database& db, const auto& r) {
                std::string id = r.query_value("invoice_id").value_or("");
                return recover_page(app, db, id.size() <= 64 ? id : "", "", "", 200);
            }));
    s.route("POST", "/recover", with_database(app, [&app](db::Database& db, const auto& r) {
                return recover_submit(app, db, r);
            }));
    for (const auto& a : page_assets()) {
        std::string pattern = "/assets/";
        for (char c : a.name)
            pattern += c == '.' ? std::string("\\.") : std::string(1, c);
        s.route("GET", pattern, [&a](const http::Request&) { return asset(a); });
    }
}

} // namespace keysat::api
