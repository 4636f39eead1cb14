// The operator's console under /admin/: sign-in and sign-out, and server-rendered pages over the
// admin API. A page reads through the admin API's GET routes and every form posts to
// /admin/act, which becomes a call of the admin route it names, dispatched in-process with the
// signed-in operator as its actor: the same handler, scope check, validation and audit row as a
// request with a key. The console adds no second way to change anything.
//
// Sessions: an opaque 256-bit id in an HttpOnly, SameSite=Strict cookie (Secure when the public
// URL is https), stored only as its SHA-256 (console_sessions, migration 0008); 30 minutes idle
// or 12 hours in all end it, as do sign-out and a new console password. Every POST must come from
// this server's own origin (Origin, else Referer) and, once signed in, carry the session's CSRF
// token. Sign-ins are limited per client (5, then one every 3 minutes) and audited either way.

#include <atomic>
#include <charconv>
#include <mutex>

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/api/console.hpp"
#include "keysat/api/html.hpp"
#include "keysat/api/limits.hpp"
#include "keysat/api/pages.hpp"
#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/password.hpp"
#include "keysat/crypto/secure.hpp"
#include "keysat/crypto/signing.hpp"
#include "keysat/http/parser.hpp"
#include "keysat/service/roles.hpp"
#include "keysat/store/access_store.hpp"
#include "keysat/store/session_store.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/net.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

// The session cookie: with an https public URL the __Host- prefix, which a browser accepts only
// Secure, for Path=/ and from this host itself, so a sibling subdomain cannot plant one.
constexpr const char* k_cookie = "keysat_console";
constexpr const char* k_host_cookie = "__Host-keysat_console";
constexpr std::int64_t k_idle_seconds = 30 * 60;
constexpr std::int64_t k_lifetime_seconds = 12 * 3600;
constexpr double k_sign_in_rate = 1.0 / 180.0; // per second, per client
constexpr double k_sign_in_burst = 5.0;

std::string sha256_hex(std::string_view s) {
    return hex_encode(crypto::sha256(as_bytes(s)));
}

// What the audit shows for a console session's actor: an HMAC of the session under the server's
// secret, the same for every change made in one session.
std::string session_hmac(const App& app, const std::string& session_hash) {
    return hex_encode(crypto::hmac_sha256(as_bytes(app.audit_secret),
                                          as_bytes("console-session:" + session_hash)));
}

std::string random_token() {
    std::uint8_t raw[32];
    crypto::random_bytes(raw);
    return base64url_encode(ByteView(raw, sizeof raw));
}

// The value of cookie `name` in the request's Cookie header; empty when it is missing or sent
// more than once (a planted second cookie must not pick the session).
std::string cookie(const http::Request& req, std::string_view name) {
    std::string all = req.header("cookie");
    std::string_view rest = all;
    std::string found;
    int seen = 0;
    while (!rest.empty()) {
        auto semi = rest.find(';');
        auto pair = trim(rest.substr(0, semi));
        rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
        auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
            found = std::string(pair.substr(eq + 1));
            ++seen;
        }
    }
    return seen == 1 ? found : std::string();
}

bool is_session_token(std::string_view t) {
    return t.size() == 43 && std::all_of(t.begin(), t.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
           });
}

// The parts of a multipart/form-data body (a form with a file) by name; nullopt when the body
// is not one. Each part's content is taken as it is (a file's bytes, a field's text).
std::optional<std::map<std::string, std::string>> multipart_fields(const http::Request& req) {
    std::string type = req.header("content-type");
    if (!type.starts_with("multipart/form-data"))
        return std::nullopt;
    auto b = type.find("boundary=");
    if (b == std::string::npos)
        return std::nullopt;
    std::string boundary = type.substr(b + 9);
    boundary = boundary.substr(0, boundary.find(';'));
    if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"')
        boundary = boundary.substr(1, boundary.size() - 2);
    if (boundary.empty() || boundary.size() > 70)
        return std::nullopt;
    const std::string delimiter = "--" + boundary;
    std::string_view body = req.body;
    if (!body.starts_with(delimiter))
        return std::nullopt;
    std::map<std::string, std::string> out;
    std::size_t pos = delimiter.size();
    while (body.substr(pos, 2) == "\r\n") {
        auto head_end = body.find("\r\n\r\n", pos);
        auto next = body.find("\r\n" + delimiter, pos);
        // Each part has headers (a name at least), then a blank line, before the next delimiter.
        if (head_end == std::string_view::npos || next == std::string_view::npos ||
            head_end < pos + 2 || head_end > next)
            return std::nullopt;
        std::string_view head = body.substr(pos + 2, head_end - pos - 2);
        auto n = head.find("name=\"");
        if (n == std::string_view::npos)
            return std::nullopt;
        auto name_end = head.find('"', n + 6);
        if (name_end == std::string_view::npos)
            return std::nullopt;
        out[std::string(head.substr(n + 6, name_end - n - 6))] =
            std::string(body.substr(head_end + 4, next - head_end - 4));
        pos = next + 2 + delimiter.size();
    }
    if (body.substr(pos, 2) != "--")
        return std::nullopt;
    return out;
}

// The form's fields; a name sent twice keeps its last value (a checkbox after its hidden
// "false"). A multipart form's parts are its fields.
std::map<std::string, std::string> last_fields(const http::Request& req) {
    if (auto parts = multipart_fields(req))
        return *parts;
    std::multimap<std::string, std::string> all;
    http::detail::parse_query(req.body, all);
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : all)
        out[k] = v;
    return out;
}

// Whether a Host names this machine without a domain someone else controls: an IP address,
// localhost, or a .local or .onion name (what StartOS and a LAN use besides the public URL). A
// DNS-rebinding page reaches us under its own domain, which is none of these.
bool host_is_ours(const App& app, std::string_view host) {
    std::string name(host);
    if (name.starts_with('[')) // [v6]:port
        return name.find(']') != std::string::npos;
    if (auto colon = name.rfind(':'); colon != std::string::npos)
        name = name.substr(0, colon);
    for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name.empty())
        return false;
    if (std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(c) || c == '.'; }))
        return true;
    if (name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local") ||
        name.ends_with(".onion"))
        return true;
    std::string pub = html::origin_of(app.public_url);
    auto scheme_end = pub.find("://");
    std::string pub_host = scheme_end == std::string::npos ? "" : pub.substr(scheme_end + 3);
    if (auto colon = pub_host.rfind(':'); colon != std::string::npos && !pub_host.ends_with(']'))
        pub_host = pub_host.substr(0, colon);
    return name == pub_host;
}

// Whether a POST comes from this server's own pages: its Origin (else its Referer's origin) is
// the public URL's, or that of the Host it was sent to when that Host is ours (host_is_ours).
// A browser always sends Origin on a POST; "null" only from a page that hides its origin, so
// it passes only when the browser also says the request is same-origin.
bool from_our_pages(const App& app, const http::Request& req) {
    std::string site = req.header("sec-fetch-site");
    if (!site.empty() && site != "same-origin" && site != "none")
        return false;
    std::string origin = req.header("origin");
    if (origin == "null")
        return site == "same-origin";
    if (origin.empty())
        origin = html::origin_of(req.header("referer"));
    if (origin.empty())
        return false;
    if (origin == html::origin_of(app.public_url))
        return true;
    std::string host = req.header("host");
    return !host.empty() && host_is_ours(app, host) &&
           (origin == "http://" + host || origin == "https://" + host);
}

bool https(const App& app) {
    return app.public_url.starts_with("https://");
}

const char* cookie_name(const App& app) {
    return https(app) ? k_host_cookie : k_cookie;
}

// The Set-Cookie value of a session token (empty with max_age 0: the browser's copy ends).
std::string session_cookie(const App& app, const std::string& token, std::int64_t max_age) {
    return fmt::format("{}={}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}{}", cookie_name(app),
                       token, https(app) ? "/" : "/admin", max_age, https(app) ? "; Secure" : "");
}

// ---- the frame ---------------------------------------------------------------------------

struct NavItem {
    const char* href;
    const char* label;
    const char* scope; // what the page reads; "" for the master key only
};

const std::vector<NavItem>& nav_items() {
    static const std::vector<NavItem> items = {
        {"/admin/", "Dashboard", "licenses:read"},
        {"/admin/products", "Products", "products:read"},
        {"/admin/codes", "Codes", "discount_codes:read"},
        {"/admin/licenses", "Licenses", "licenses:read"},
        {"/admin/machines", "Machines", "machines:read"},
        {"/admin/subscriptions", "Subscriptions", "subscriptions:read"},
        {"/admin/invoices", "Invoices", "licenses:read"},
        {"/admin/payments", "Payments", "merchant_profiles:read"},
        {"/admin/releases", "Releases", "products:read"},
        {"/admin/webhooks", "Webhooks", "webhooks:read"},
        {"/admin/audit", "Audit log", "audit:read"},
        {"/admin/api-keys", "API keys", ""},
        {"/admin/settings", "Settings", "settings:read"},
    };
    return items;
}

bool may_read(const Actor& a, const char* scope) {
    return *scope == '\0' ? a.kind == "master" : a.may(scope);
}

// `also_post_to`: one more origin forms may lead to (checked by the caller: a configured one).
http::Response console_response(int status, std::string body,
                                const std::string& also_post_to = "") {
    http::Response r;
    r.status = status;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::move(body);
    r.headers = {{"Content-Security-Policy",
                  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "form-action 'self'" +
                      (also_post_to.empty() ? std::string() : " " + also_post_to) +
                      "; base-uri 'none'; frame-ancestors 'none'"},
                 {"X-Content-Type-Options", "nosniff"},
                 // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null"
                 // on the console's own form posts.
                 {"Referrer-Policy", "same-origin"},
                 {"X-Frame-Options", "DENY"},
                 {"Cache-Control", "no-store"}};
    return r;
}

std::string hidden(std::string_view name, std::string_view value) {
    return fmt::format("<input type=\"hidden\" name=\"{}\" value=\"{}\">", html::text(name),
                       html::text(value));
}

} // namespace

struct ConsoleOperator {
    Actor actor;
    std::string csrf;
    std::string session_hash;
    std::string label; // who the header says is signed in: "operator", or the key's label
};

namespace {

// A console page: the header with the sign-out button, the navigation the operator may use,
// and `main_html` (escaped by the caller).
http::Response console_page(const App& app, db::Database& db, int status, const std::string& title,
                            const ConsoleOperator* op, const std::string& current,
                            const std::string& main_html, const std::string& also_post_to = "") {
    std::string nav, who;
    if (op) {
        nav = "<nav aria-label=\"Console\"><ul>";
        for (const auto& item : nav_items())
            if (may_read(op->actor, item.scope))
                nav +=
                    fmt::format("<li><a href=\"{}\"{}>{}</a></li>", item.href,
                                current == item.href ? " aria-current=\"page\"" : "", item.label);
        nav += "</ul></nav>";
        std::string role =
            op->actor.kind == "master"
                ? "operator"
                : "key " + op->label + " (" + service::role_of(json(op->actor.scopes).dump()) + ")";
        who = fmt::format("<form method=\"post\" action=\"/admin/logout\" class=\"who\">"
                          "<span>Signed in as {}</span>{}<button type=\"submit\">Sign out"
                          "</button></form>",
                          html::text(role), hidden("_csrf", op->csrf));
    }
    return console_response(
        status,
        fmt::format(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>{title} · {shop} console</title><link rel=\"icon\" href=\"data:,\">"
            "<link rel=\"stylesheet\" href=\"/assets/console.css\"></head><body>"
            "<a class=\"skip\" href=\"#main\">Skip to the content</a>"
            "<header class=\"bar\"><span class=\"shop\">{shop}</span>{who}</header>{nav}"
            "<main id=\"main\" tabindex=\"-1\"><h1>{title}</h1>{main}</main></body></html>\n",
            fmt::arg("title", html::text(title)),
            fmt::arg("shop", html::text(operator_name(app, db))), fmt::arg("who", who),
            fmt::arg("nav", nav), fmt::arg("main", main_html)),
        also_post_to);
}

http::Response see_other(const std::string& location, std::string set_cookie = "") {
    http::Response r = redirect(location);
    if (!set_cookie.empty())
        r.headers.emplace_back("Set-Cookie", std::move(set_cookie));
    return r;
}

std::string notice(const std::string& kind, const std::string& text) {
    return fmt::format("<p class=\"notice {}\" role=\"{}\">{}</p>", kind,
                       kind == "error" ? "alert" : "status", html::text(text));
}

// ---- sessions ----------------------------------------------------------------------------

// The operator signed in by the request's session cookie, with the scopes they hold now (an API
// key revoked since sign-in ends its sessions here).
std::optional<ConsoleOperator> signed_in(const App& app, db::Database& db,
                                         const http::Request& req) {
    std::string token = cookie(req, cookie_name(app));
    if (!is_session_token(token))
        return std::nullopt;
    std::string hash = sha256_hex(token);
    store::SessionStore sessions(db);
    auto s = sessions.use(hash, app.clock->now(), k_idle_seconds);
    if (!s || !*s)
        return std::nullopt;
    ConsoleOperator op;
    op.session_hash = hash;
    op.csrf = (*s)->csrf_token;
    op.actor.ip = client_address(req, app.trusted_proxies);
    op.actor.hmac = session_hmac(app, hash);
    if ((*s)->actor_kind == "master") {
        op.actor.kind = op.actor.id = "master";
        return op;
    }
    auto keys = store::AccessStore(db).list_api_keys();
    if (keys)
        for (const auto& k : *keys)
            if (k.id == (*s)->actor_id && !k.revoked_at) {
                op.actor.kind = "api_key";
                op.actor.id = k.id;
                op.label = k.name;
                // The key's last use, to the minute, as the admin API keeps it.
                if (!k.last_used_at || app.clock->now() - *k.last_used_at >= 60)
                    (void)store::AccessStore(db).touch_api_key(k.id, app.clock->now());
                json scopes = json::parse(k.scopes_json, nullptr, false);
                if (scopes.is_array())
                    for (const auto& sc : scopes)
                        if (sc.is_string())
                            op.actor.scopes.push_back(sc.get<std::string>());
                return op;
            }
    (void)sessions.remove(hash);
    return std::nullopt;
}

http::Response login_form(const App& app, db::Database& db, int status,
                          const std::string& message) {
    std::string main =
        (message.empty() ? std::string() : notice("error", message)) +
        "<form method=\"post\" action=\"/admin/login\" class=\"card narrow\">"
        // For password managers: the console has one user.
        "<input type=\"text\" name=\"username\" value=\"operator\" autocomplete=\"username\" "
        "hidden>"
        "<label for=\"password\">Console password</label>"
        "<input id=\"password\" name=\"password\" type=\"password\" "
        "autocomplete=\"current-password\" autofocus>"
        "<button type=\"submit\" name=\"with\" value=\"password\">Sign in</button>"
        "<details><summary>Sign in with an API key instead</summary>"
        "<label for=\"api_key\">API key (<code>ks_…</code>): the console then shows and allows "
        "only what the key's role may do</label>"
        "<input id=\"api_key\" name=\"api_key\" type=\"password\" autocomplete=\"off\">"
        "<button type=\"submit\" name=\"with\" value=\"api_key\">Sign in with the key"
        "</button></details></form>";
    return console_page(app, db, status, "Sign in", nullptr, "", main);
}

// Password checks under way: Argon2id takes 64 MiB and a third of a second each, so a burst of
// sign-ins from many addresses is answered "busy" rather than run at once.
std::atomic<int> g_password_checks{0};
constexpr int k_max_password_checks = 2;

http::Response sign_in(const App& app, db::Database& db, const http::Request& req) {
    if (!from_our_pages(app, req))
        return login_form(app, db, 403, "This sign-in did not come from this console's page.");
    std::string ip = client_address(req, app.trusted_proxies);
    std::int64_t now = app.clock->now();
    store::AccessStore access(db);
    auto fields = last_fields(req);
    const std::string& password = fields["password"];
    const std::string& key = fields["api_key"];
    // The button pressed says which; without one (a script), whichever field was filled.
    std::string how = fields["with"];
    if (how != "password" && how != "api_key")
        how = password.empty() ? "api_key" : "password";
    // Passwords: 5 attempts per client, then one every 3 minutes. Keys (256 random bits) get
    // the admin API's allowance in a bucket of their own, so key sign-ins never use up the
    // operator's password attempts.
    auto within =
        how == "password"
            ? access.take_token("console-sign-in:" + net::rate_limit_key(ip), k_sign_in_rate,
                                k_sign_in_burst, now)
            : access.take_token("console-key-sign-in:" + net::rate_limit_key(ip), 0.2, 10.0, now);
    if (!within)
        return login_form(app, db, 500, "The database is unavailable; try again.");
    if (!*within) {
        auto r = login_form(app, db, 429,
                            "Too many sign-in attempts from this address. Wait a few minutes.");
        r.headers.emplace_back("Retry-After", how == "password" ? "180" : "5");
        return r;
    }
    std::string user_agent = req.header("user-agent").substr(0, 256);
    Actor actor;
    actor.ip = ip;
    if (how == "password") {
        auto stored = access.setting("admin_password_hash");
        if (!stored)
            return login_form(app, db, 500, "The database is unavailable; try again.");
        if (!*stored || (*stored)->empty())
            return login_form(app, db, 503,
                              "No console password is set. Set one on the server with "
                              "keysat-serve --set-admin-password (on StartOS: the \"Set console "
                              "password\" action).");
        if (g_password_checks.fetch_add(1) >= k_max_password_checks) {
            g_password_checks.fetch_sub(1);
            auto r = login_form(app, db, 503,
                                "The server is busy checking other sign-ins; try "
                                "again in a moment.");
            r.headers.emplace_back("Retry-After", "2");
            return r;
        }
        bool right = !password.empty() && crypto::verify_password(**stored, password);
        g_password_checks.fetch_sub(1);
        if (right)
            actor.kind = actor.id = "master";
    } else if (key.starts_with("ks_")) {
        auto found_key = access.find_active_api_key(sha256_hex(key));
        if (found_key && *found_key) {
            actor.kind = "api_key";
            actor.id = (*found_key)->id;
        }
    }
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return login_form(app, db, 500, "The database is busy; try again.");
    if (actor.kind.empty()) {
        Actor nobody{"system", "console", "", {}, ip};
        if (!audit(db, app, nobody, "console.sign_in_failed", "",
                   {{"method", how}, {"user_agent", user_agent}}) ||
            !tx->commit())
            return login_form(app, db, 500, "The database is busy; try again.");
        return login_form(app, db, 401,
                          how == "password" ? "Wrong password." : "Unknown or revoked API key.");
    }
    std::string token = random_token();
    std::string hash = sha256_hex(token);
    actor.hmac = session_hmac(app, hash);
    store::SessionStore sessions(db);
    (void)sessions.remove_stale(now, k_idle_seconds);
    store::SessionRow row{
        hash, actor.kind, actor.id, random_token(), now, now, now + k_lifetime_seconds,
        ip,   user_agent};
    if (!sessions.create(row) ||
        !audit(db, app, actor, "console.sign_in", "",
               {{"method", how}, {"user_agent", user_agent}}) ||
        !tx->commit())
        return login_form(app, db, 500, "The database is busy; try again.");
    return see_other("/admin/", session_cookie(app, token, k_lifetime_seconds));
}

// The cookie that ends the browser's copy of a session.
std::string cleared_cookie(const App& app) {
    return session_cookie(app, "", 0);
}

// A POST from a signed-in operator's page: signed in, from our origin, with the session's CSRF
// token. The refusal otherwise (nothing is changed).
std::optional<http::Response> refuse_post(const App& app, db::Database& db,
                                          const http::Request& req,
                                          const std::optional<ConsoleOperator>& op,
                                          const std::map<std::string, std::string>& fields) {
    if (!op)
        return see_other("/admin/login");
    auto csrf = fields.find("_csrf");
    bool token_ok = csrf != fields.end() && csrf->second.size() == op->csrf.size() &&
                    crypto::equal_ct(as_bytes(csrf->second), as_bytes(op->csrf));
    if (!from_our_pages(app, req) || !token_ok)
        return console_page(app, db, 403, "Refused", &*op, "",
                            notice("error", "This form did not come from this console (a "
                                            "missing or stale form token, or another site). "
                                            "Nothing was changed.") +
                                "<p><a href=\"/admin/\">Back to the dashboard</a></p>");
    return std::nullopt;
}

} // namespace

// ---- pages over the admin API -----------------------------------------------------------

std::string btcpay_browser_origin(const App& app) {
    const std::string& url =
        app.btcpay_browser_url.empty() ? app.btcpay_url : app.btcpay_browser_url;
    return url.empty() ? std::string() : html::origin_of(url);
}

ConsoleView::ConsoleView(const App& app, const http::Server& server, db::Database& db,
                         const ConsoleOperator& op, const http::Request& req)
    : app(app), server(server), db(db), op(op), req(req) {}

ConsoleView::Answer ConsoleView::get(const std::string& path,
                                     const std::multimap<std::string, std::string>& query) const {
    http::Request inner;
    inner.method = "GET";
    inner.path = path;
    inner.query = query;
    inner.remote_addr = req.remote_addr;
    inner.on_behalf_of = op.actor;
    auto res = server.dispatch(std::move(inner));
    Answer a;
    a.status = res.status;
    a.body = json::parse(res.body, nullptr, false);
    if (a.status != 200)
        a.message = a.body.is_object() ? a.body.value("message", "refused") : "refused";
    return a;
}

bool ConsoleView::may(const std::string& scope) const {
    return op.actor.may(scope);
}

bool ConsoleView::is_master() const {
    return op.actor.kind == "master";
}

std::string ConsoleView::form(const std::string& method, const std::string& path,
                              const std::string& back, const std::string& inner_html,
                              const std::string& css_class) const {
    // Field ids are unique per page: each form's "f-<name>" becomes "<method>-<path>-<name>".
    std::string key = method + path;
    for (auto& c : key)
        if (!std::isalnum(static_cast<unsigned char>(c)))
            c = '-';
    std::string fields = inner_html;
    for (const char* attr : {"id=\"f-", "for=\"f-", "aria-describedby=\"f-"})
        for (auto at = fields.find(attr); at != std::string::npos; at = fields.find(attr, at)) {
            std::size_t start = at + std::string_view(attr).size() - 2;
            fields.replace(start, 2, key + "-");
            at = start;
        }
    return fmt::format("<form method=\"post\" action=\"/admin/act\" class=\"{}\">{}{}{}{}{}</form>",
                       html::text(css_class), hidden("_csrf", op.csrf), hidden("_method", method),
                       hidden("_path", path), hidden("_back", back), fields);
}

std::string ConsoleView::button(const std::string& method, const std::string& path,
                                const std::string& back, const std::string& label,
                                const json& fields) const {
    std::string inner;
    for (const auto& [k, v] : fields.items())
        inner += hidden(k, v.is_string() ? v.get<std::string>() : v.dump());
    inner += fmt::format("<button type=\"submit\">{}</button>", html::text(label));
    return form(method, path, back, inner, "inline");
}

http::Response ConsoleView::page(const std::string& title, const std::string& current,
                                 const std::string& main_html, int status,
                                 const std::string& also_post_to) const {
    std::string flash;
    if (auto done = req.query_value("done"); done && is_done_message(*done))
        flash = notice("ok", *done);
    return console_page(app, db, status, title, &op, current, flash + main_html, also_post_to);
}

std::string ConsoleView::refusal(const Answer& a) const {
    return notice("error", a.status == 403 ? "Your key's role may not see this." : a.message);
}

std::string cell_text(const json& v) {
    if (v.is_null())
        return "";
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_boolean())
        return v.get<bool>() ? "yes" : "no";
    if (v.is_array()) {
        std::string out;
        for (const auto& item : v)
            out += (out.empty() ? "" : ", ") + cell_text(item);
        return out;
    }
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string table(const json& rows, const std::vector<Column>& columns,
                  const std::function<std::string(const json&)>& actions,
                  const std::string& empty_text) {
    if (!rows.is_array() || rows.empty())
        return "<p class=\"empty\">" + html::text(empty_text) + "</p>";
    std::string out = "<div class=\"scroll\"><table><thead><tr>";
    for (const auto& c : columns)
        out += "<th scope=\"col\">" + html::text(c.label) + "</th>";
    if (actions)
        out += "<th scope=\"col\"><span class=\"sr\">Actions</span></th>";
    out += "</tr></thead><tbody>";
    for (const auto& row : rows) {
        out += "<tr>";
        for (const auto& c : columns) {
            std::string text = c.render ? c.render(row) : cell_text(row.value(c.field, json()));
            std::string cell = html::text(text);
            if (std::string href = c.href ? c.href(row) : ""; !href.empty())
                cell = "<a href=\"" + html::text(href) + "\">" + cell + "</a>";
            out += "<td data-label=\"" + html::text(c.label) + "\">" + cell + "</td>";
        }
        if (actions)
            out += "<td class=\"actions\">" + actions(row) + "</td>";
        out += "</tr>";
    }
    return out + "</tbody></table></div>";
}

std::string field(const std::string& label, const std::string& name, const std::string& type,
                  const std::string& extra, const std::string& value) {
    // The id is the field's name without its type suffix (name:int -> f-name).
    std::string id = "f-" + name.substr(0, name.find(':'));
    return fmt::format(
        "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{name}\" "
        "type=\"{type}\"{value}{extra}>",
        fmt::arg("id", html::text(id)), fmt::arg("label", html::text(label)),
        fmt::arg("name", html::text(name)), fmt::arg("type", html::text(type)),
        fmt::arg("value", value.empty() ? "" : " value=\"" + html::text(value) + "\""),
        fmt::arg("extra", extra));
}

std::string checkbox(const std::string& label, const std::string& name, bool checked) {
    std::string id = "f-" + name.substr(0, name.find(':'));
    return fmt::format("<div class=\"check\">{}<input id=\"{}\" name=\"{}\" type=\"checkbox\" "
                       "value=\"true\"{}><label for=\"{}\">{}</label></div>",
                       hidden(name, "false"), html::text(id), html::text(name),
                       checked ? " checked" : "", html::text(id), html::text(label));
}

std::string textarea(const std::string& label, const std::string& name, const std::string& value,
                     const std::string& hint) {
    std::string id = "f-" + name.substr(0, name.find(':'));
    return fmt::format("<label for=\"{id}\">{label}</label><p class=\"hint\" id=\"{id}-hint\">"
                       "{hint}</p><textarea id=\"{id}\" name=\"{name}\" rows=\"4\" "
                       "aria-describedby=\"{id}-hint\">{value}</textarea>",
                       fmt::arg("id", html::text(id)), fmt::arg("label", html::text(label)),
                       fmt::arg("hint", html::text(hint)), fmt::arg("name", html::text(name)),
                       fmt::arg("value", html::text(value)));
}

std::string select(const std::string& label, const std::string& name,
                   const std::vector<std::pair<std::string, std::string>>& options,
                   const std::string& selected) {
    std::string id = "f-" + name.substr(0, name.find(':'));
    std::string out =
        fmt::format("<label for=\"{}\">{}</label><select id=\"{}\" name=\"{}\">", html::text(id),
                    html::text(label), html::text(id), html::text(name));
    for (const auto& [value, text] : options)
        out += fmt::format("<option value=\"{}\"{}>{}</option>", html::text(value),
                           value == selected ? " selected" : "", html::text(text));
    return out + "</select>";
}

namespace {

// The non-empty pieces of `text` between `separator`s, trimmed.
std::vector<std::string_view> pieces(std::string_view text, char separator) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto at = text.find(separator);
        if (auto piece = trim(text.substr(0, at)); !piece.empty())
            out.push_back(piece);
        text = at == std::string_view::npos ? std::string_view() : text.substr(at + 1);
    }
    return out;
}

// /admin/act's fields as a JSON body: `name` is a string (left out when empty), `name:int` a
// whole number, `name:bool` true or false, `name:list` a comma-separated list of strings,
// `name:str` a string even when empty, `name:lines` a list of strings one per line,
// `name:catalog` one {slug, name, description} object per
// line written "slug | name | description" (name and description optional). Fields starting
// with '_' are the console's own.
std::optional<json> body_of(const std::map<std::string, std::string>& fields, std::string& error) {
    json body = json::object();
    for (const auto& [name, value] : fields) {
        if (name.empty() || name.front() == '_')
            continue;
        auto colon = name.find(':');
        std::string key = name.substr(0, colon);
        std::string type = colon == std::string::npos ? "" : name.substr(colon + 1);
        if (type.empty()) {
            if (!value.empty())
                body[key] = value;
        } else if (type == "str") {
            body[key] = value;
        } else if (type == "int") {
            if (value.empty())
                continue;
            std::int64_t n = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc() || p != value.data() + value.size()) {
                error = "'" + key + "' must be a whole number";
                return std::nullopt;
            }
            body[key] = n;
        } else if (type == "bool") {
            body[key] = value == "true" || value == "on" || value == "1";
        } else if (type == "list" || type == "lines") {
            json items = json::array();
            for (auto item : pieces(value, type == "list" ? ',' : '\n'))
                items.push_back(std::string(item));
            body[key] = items;
        } else if (type == "catalog") {
            json items = json::array();
            for (auto line : pieces(value, '\n')) {
                json entry = json::object();
                const char* keys[] = {"slug", "name", "description"};
                for (std::size_t i = 0; i < 3 && !line.empty(); ++i) {
                    // The description is the rest of the line, bars and all.
                    auto bar = i < 2 ? line.find('|') : std::string_view::npos;
                    auto part = trim(line.substr(0, bar));
                    if (!part.empty())
                        entry[keys[i]] = std::string(part);
                    line =
                        bar == std::string_view::npos ? std::string_view() : line.substr(bar + 1);
                }
                if (!entry.contains("slug")) {
                    error = "each line of '" + key + "' starts with an entitlement's slug";
                    return std::nullopt;
                }
                items.push_back(entry);
            }
            body[key] = items;
        } else {
            error = "unknown field type in '" + name + "'";
            return std::nullopt;
        }
    }
    return body;
}

// A path the console may send to (an admin API route) or come back to (a console page): only
// letters, digits and - _ . / and no "..".
bool plain_path(const std::string& p, std::string_view prefix) {
    return p.starts_with(prefix) && p.find("..") == std::string::npos &&
           std::all_of(p.begin(), p.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) ||
                      std::string_view("-_./").find(c) != std::string_view::npos;
           });
}

// Secrets the API showed once, waiting for their session's next GET of /admin/shown (in
// memory: a restart, or the next request reaching another process, loses them; the API shows
// them once either way). Five minutes at most.
class ShownOnce {
  public:
    struct Secret {
        std::string title, text, back;
        std::int64_t expires_at = 0;
    };
    void put(const std::string& session, Secret s) {
        std::lock_guard lock(m_mutex);
        std::int64_t now = s.expires_at - 300;
        std::erase_if(m_by_session, [&](const auto& kv) { return kv.second.expires_at < now; });
        m_by_session[session] = std::move(s);
    }
    std::optional<Secret> take(const std::string& session, std::int64_t now) {
        std::lock_guard lock(m_mutex);
        auto it = m_by_session.find(session);
        if (it == m_by_session.end())
            return std::nullopt;
        Secret s = std::move(it->second);
        m_by_session.erase(it);
        if (s.expires_at < now)
            return std::nullopt;
        return s;
    }

  private:
    std::mutex m_mutex;
    std::map<std::string, Secret> m_by_session;
};

ShownOnce& shown_once() {
    static ShownOnce store;
    return store;
}

http::Response show_secret(const App& app, db::Database& db, const ConsoleOperator& op) {
    auto s = shown_once().take(op.session_hash, app.clock->now());
    if (!s)
        return console_page(app, db, 404, "Nothing to show", &op, "",
                            notice("error", "A secret is shown once, right after it is made; "
                                            "this one was shown already or has expired.") +
                                "<p><a href=\"/admin/\">Back to the dashboard</a></p>");
    return console_page(app, db, 200, s->title, &op, "",
                        notice("ok", "Done. This is shown once: copy it now.") +
                            "<pre class=\"secret\" tabindex=\"0\">" + html::text(s->text) +
                            "</pre><p><a href=\"" + html::text(s->back) + "\">Back</a></p>");
}

http::Response act(const App& app, const http::Server& server, db::Database& db,
                   const http::Request& req) {
    auto op = signed_in(app, db, req);
    auto fields = last_fields(req);
    if (auto refused = refuse_post(app, db, req, op, fields))
        return std::move(*refused);
    std::string method = fields["_method"], path = fields["_path"], back = fields["_back"];
    if (!plain_path(back, "/admin"))
        back = "/admin/";
    auto fail = [&](int status, const std::string& message) {
        return console_page(app, db, status, "Not done", &*op, "",
                            notice("error", message) + "<p><a href=\"" + html::text(back) +
                                "\">Back</a></p>");
    };
    if ((method != "POST" && method != "PATCH" && method != "PUT" && method != "DELETE") ||
        !plain_path(path, "/v1/admin/"))
        return fail(400, "This form names no admin action. Nothing was changed.");
    std::string error;
    auto body = body_of(fields, error);
    if (!body)
        return fail(400, error + ". Nothing was changed.");
    http::Request inner;
    inner.method = method;
    inner.path = path;
    // A file sent as `_body` is the route's body as it is (a ledger to import); otherwise the
    // fields are a JSON object.
    if (auto file = fields.find("_body"); file != fields.end()) {
        inner.body = file->second;
        inner.headers["content-type"] = "application/octet-stream";
    } else {
        inner.body = body->dump(-1, ' ', false, json::error_handler_t::replace);
        inner.headers["content-type"] = "application/json";
    }
    inner.headers["user-agent"] = req.header("user-agent");
    inner.remote_addr = req.remote_addr;
    inner.on_behalf_of = op->actor;
    auto res = server.dispatch(std::move(inner));
    json answer = json::parse(res.body, nullptr, false);
    if (res.status < 200 || res.status > 299) {
        std::string message = answer.is_object() ? answer.value("message", "") : "";
        return fail(res.status, (message.empty() ? "Refused" : message) + ". Nothing was changed.");
    }
    // Where the answer says to continue (BTCPay's authorize page): only BTCPay's configured
    // origin, the one the payments page's policy lets the browser go to.
    if (auto go = fields.find("_go"); go != fields.end()) {
        std::string url =
            answer.is_object() && answer.contains(go->second) && answer[go->second].is_string()
                ? answer[go->second].get<std::string>()
                : "";
        std::string allowed = btcpay_browser_origin(app);
        if (url.empty() || allowed.empty() || !html::is_safe_link(url) ||
            html::origin_of(url) != allowed)
            return fail(502, "The answer named no BTCPay address to continue at; start again");
        return see_other(url);
    }
    // What the API shows once (a new key's secret, a comp license's key): kept for this session
    // and shown once by the page the browser is sent to, so that a reload asks for nothing twice.
    std::string show = fields["_show"];
    if (!show.empty() && answer.is_object() && answer.contains(show) && answer[show].is_string()) {
        shown_once().put(op->session_hash,
                         {fields["_title"].empty() ? "Done" : fields["_title"].substr(0, 100),
                          answer[show].get<std::string>(), back, app.clock->now() + 300});
        return see_other("/admin/shown");
    }
    // What an idempotent change reports (an import's counts): shown at once, as a list.
    if (auto summary = fields.find("_summary"); summary != fields.end() && answer.is_object()) {
        std::string items;
        for (auto piece : pieces(summary->second, ',')) {
            std::string key(piece);
            if (answer.contains(key))
                items += "<dt>" + html::text(key) + "</dt><dd>" +
                         html::text(cell_text(answer[key])) + "</dd>";
        }
        return console_page(app, db, 200, "Done", &*op, "",
                            notice("ok", "Done.") + "<dl class=\"summary\">" + items +
                                "</dl><p><a href=\"" + html::text(back) + "\">Back</a></p>");
    }
    std::string done = is_done_message(fields["_done"]) ? fields["_done"] : "Done.";
    return see_other(back + (back.find('?') == std::string::npos ? "?" : "&") +
                     "done=" + html::url_component(done));
}

} // namespace

void register_console_routes(http::Server& s, const App& app) {
    s.route("GET", "/admin", [](const http::Request&) { return see_other("/admin/"); });
    s.route("GET", "/admin/login",
            with_database(app, [&app](db::Database& db, const http::Request& req) {
                if (signed_in(app, db, req))
                    return see_other("/admin/");
                return login_form(app, db, 200, "");
            }));
    s.route("POST", "/admin/login",
            with_database(app, [&app](db::Database& db, const http::Request& req) {
                return sign_in(app, db, req);
            }));
    s.route("POST", "/admin/logout",
            with_database(app, [&app](db::Database& db, const http::Request& req) {
                auto op = signed_in(app, db, req);
                auto fields = last_fields(req);
                if (auto refused = refuse_post(app, db, req, op, fields))
                    return std::move(*refused);
                auto tx = db::Transaction::begin(db);
                if (!tx || !store::SessionStore(db).remove(op->session_hash) ||
                    !audit(db, app, op->actor, "console.sign_out", "", json::object()) ||
                    !tx->commit())
                    return console_page(app, db, 500, "Not signed out", &*op, "",
                                        notice("error", "The database is busy; try again."));
                return see_other("/admin/login", cleared_cookie(app));
            }));
    s.route("POST", "/admin/act",
            with_database(app, [&app, &s](db::Database& db, const http::Request& req) {
                return act(app, s, db, req);
            }));
    s.route("GET", "/admin/shown",
            with_database(app, [&app](db::Database& db, const http::Request& req) {
                auto op = signed_in(app, db, req);
                if (!op)
                    return see_other("/admin/login");
                return show_secret(app, db, *op);
            }));
    // The pages: each needs a session (else the sign-in page) and renders through a view.
    for (const auto& [path, render] : console_pages()) {
        s.route("GET", path,
                with_database(
                    app, [&app, &s, render = render](db::Database& db, const http::Request& req) {
                        auto op = signed_in(app, db, req);
                        if (!op)
                            return see_other("/admin/login");
                        ConsoleView view(app, s, db, *op, req);
                        return render(view);
                    }));
    }
}

} // namespace keysat::api
