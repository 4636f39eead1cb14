#pragma once
// A client of the operator's console for tests over HTTP: a browser that keeps its session
// cookie and sends its origin on every POST, and keysat-serve in process with a console password
// set and a clock the test moves.

#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "keysat/crypto/password.hpp"
#include "keysat/db/database.hpp"
#include "keysat/util/clock.hpp"
#include "support/serve_in_process.hpp"
#include "support/support.hpp"

namespace keysat::test::console {

using nlohmann::json;

inline constexpr std::int64_t k_t0 = 1'790'000'000;
inline const std::string k_password = "correct horse battery";

// A browser of the console: keeps its session cookie, sends its origin on every POST.
struct Browser {
    const test::InProcessServer& server;
    std::string cookie;                       // "keysat_console=<token>", or empty
    std::string origin;                       // sent as Origin on POSTs; empty: none
    std::string last_csrf;                    // the newest form token seen on a page
    std::map<std::string, std::string> extra; // more headers on every request

    Browser(const test::InProcessServer& s) : server(s), origin(s.base()) {}

    test::HttpResult request(const std::string& method, const std::string& path,
                             const std::string& body = "") {
        std::map<std::string, std::string> h = extra;
        if (!cookie.empty())
            h["Cookie"] = cookie;
        if (method == "POST") {
            h["Content-Type"] = "application/x-www-form-urlencoded";
            if (!origin.empty())
                h["Origin"] = origin;
        }
        auto r = test::http_request(server.port(), method, path, body, h);
        if (auto set = r.headers.find("Set-Cookie"); set != r.headers.end()) {
            std::string v = set->second.substr(0, set->second.find(';'));
            cookie = v.ends_with('=') ? "" : v;
        }
        std::smatch m;
        static const std::regex csrf("name=\"_csrf\" value=\"([A-Za-z0-9_-]+)\"");
        if (std::regex_search(r.raw, m, csrf))
            last_csrf = m[1];
        return r;
    }
    test::HttpResult get(const std::string& path) { return request("GET", path); }
    test::HttpResult post(const std::string& path, const std::string& body) {
        return request("POST", path, body);
    }
    test::HttpResult sign_in(const std::string& field, const std::string& secret) {
        return post("/admin/login", field + "=" + html_form(secret) + "&with=" + field);
    }
    // A console form post: /admin/act with the session's token unless `csrf` is given.
    test::HttpResult act(const std::string& method, const std::string& path,
                         const std::string& fields, std::optional<std::string> csrf = {}) {
        std::string body = "_method=" + method + "&_path=" + path + "&_back=/admin/products";
        if (!csrf || !csrf->empty())
            body += "&_csrf=" + csrf.value_or(last_csrf);
        if (!fields.empty())
            body += "&" + fields;
        return post("/admin/act", body);
    }
    static std::string html_form(const std::string& s) {
        std::string out;
        for (char c : s)
            out += c == ' ' ? std::string("+") : std::string(1, c);
        return out;
    }
};

struct Console {
    FixedClock clock{k_t0};
    test::TempDir dir;
    std::unique_ptr<test::InProcessServer> server;

    explicit Console(const std::string& toml = "") {
        server = std::make_unique<test::InProcessServer>(dir / "data", toml, clock);
        auto hash = crypto::hash_password(k_password);
        REQUIRE(hash);
        auto db = db::Database::open(server->app().db_path, db::OpenMode::read_write);
        REQUIRE(db);
        auto q = db->prepare("INSERT INTO settings (key, value, updated_at) VALUES "
                             "('admin_password_hash', ?, 0)");
        REQUIRE(q);
        q->bind(1, *hash);
        REQUIRE(q->run());
    }
    std::int64_t count(const std::string& sql) const {
        auto db = db::Database::open(server->app().db_path, db::OpenMode::read_only);
        REQUIRE(db);
        auto n = db->query_int(sql);
        INFO(sql);
        REQUIRE(n);
        return *n;
    }
    std::string api_key(const std::string& role) {
        auto made = server->post("/v1/admin/api-keys", json{{"label", role}, {"role", role}}.dump(),
                                 server->admin_key());
        REQUIRE(made.status == 200);
        return made.body["token"];
    }
};

// The Location header, with %20 read as a space (the HTTP client may hand it over either way).
inline std::string location(const test::HttpResult& r) {
    auto l = r.headers.find("Location");
    std::string out = l == r.headers.end() ? "" : l->second;
    for (auto at = out.find("%20"); at != std::string::npos; at = out.find("%20"))
        out.replace(at, 3, " ");
    return out;
}

} // namespace keysat::test::console
