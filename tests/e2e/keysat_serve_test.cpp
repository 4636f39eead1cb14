// End-to-end: the real keysat-serve on a loopback port, real HTTP, real SQLite.

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "keysat/db/database.hpp"
#include "support/admin_routes.hpp"
#include "support/gate_support.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

// A server with a product and a license on it.
struct Shop {
    test::TempDir dir;
    test::ServerProcess server{dir / "data"};
    std::string admin = server.admin_key();

    json make_product(const std::string& slug) {
        auto r = server.post(
            "/v1/admin/products",
            json{{"slug", slug}, {"name", "App " + slug}, {"price_sats", 50000}}.dump(), admin);
        REQUIRE(r.status == 200);
        return r.body;
    }
    json issue(const json& request) {
        auto r = server.post("/v1/admin/licenses", request.dump(), admin);
        REQUIRE(r.status == 200);
        return r.body;
    }
    json validate(const json& request) {
        auto r = server.post("/v1/validate", request.dump());
        REQUIRE(r.status == 200); // validate always answers 200
        return r.body;
    }
};

} // namespace

TEST_CASE("first start: generated key and admin key, service info, public key", "[e2e][serve]") {
    Shop shop;
    CHECK(shop.admin.starts_with("ksm_"));
    CHECK(std::filesystem::exists(shop.dir / "data/keysat.db"));
    CHECK((std::filesystem::status(shop.dir / "data/signing.key").permissions() &
           std::filesystem::perms::group_all) == std::filesystem::perms::none);
    auto info = shop.server.get("/");
    CHECK(info.status == 200);
    CHECK(info.body["service"] == "keysat");
    CHECK(info.body["key_algorithm"] == "ed25519");
    CHECK(info.body["key_format_version"] == 2);
    auto pub = shop.server.get("/v1/pubkey");
    CHECK(pub.body["public_key_pem"] == info.body["public_key_pem"]);
    CHECK(pub.body["algorithm"] == "ed25519");
    CHECK(shop.server.get("/v1/issuer/public-key").body["key_algorithm"] == "ed25519");
    auto health = shop.server.get("/healthz").body;
    CHECK(health["ok"] == true); // Keysat's field, as its supervisors read it
    CHECK(health["status"] == "ok");
    CHECK(!health.contains("degraded"));
    CHECK(health["disk_free_bytes"].is_number_unsigned());
    // The key published by the server verifies what it issues, offline.
    shop.make_product("app");
    auto lic = shop.issue({{"product_slug", "app"}});
    auto v = test::run({test::verify_bin(), "license", "-p",
                        pub.body["public_key_pem"].get<std::string>(),
                        lic["license_key"].get<std::string>()});
    CHECK(v.exit_code == 0);
    // Restarting reuses the key and does not print a new admin key.
    auto pem = info.body["public_key_pem"];
    CHECK(shop.server.stop() == 0);
    test::ServerProcess again(shop.dir / "data");
    CHECK(again.admin_key().empty());
    CHECK(again.get("/").body["public_key_pem"] == pem);
    CHECK(again.get("/v1/admin/products", shop.admin).status == 200);
}

TEST_CASE("validate: every reason, grace-free expiry, seats and fingerprints", "[e2e][serve]") {
    Shop shop;
    shop.make_product("app");
    shop.make_product("other");
    auto lic =
        shop.issue({{"product_slug", "app"}, {"max_machines", 2}, {"entitlements", {"pro"}}});
    std::string key = lic["license_key"];
    auto ok = shop.validate({{"key", key}, {"product_slug", "app"}});
    CHECK(ok["ok"] == true);
    CHECK(ok["license_id"] == lic["license_id"]);
    CHECK(ok["product_slug"] == "app");
    CHECK(ok["entitlements"] == json{"pro"});
    CHECK(ok["status"] == "active");
    CHECK(ok["max_machines"] == 2);
    CHECK_FALSE(ok.contains("expires_at")); // perpetual
    CHECK_FALSE(ok.contains("reason"));

    CHECK(shop.validate({{"key", "LIC1-garbage-more"}})["reason"] == "bad_format");
    std::string tampered = key;
    tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
    CHECK(shop.validate({{"key", tampered}})["reason"] == "bad_signature");
    CHECK(shop.validate({{"key", key}, {"product_slug", "other"}})["reason"] == "product_mismatch");

    auto m1 = shop.validate({{"key", key}, {"fingerprint", "machine-1"}});
    CHECK(m1["ok"] == true);
    CHECK(m1.contains("machine_id"));
    CHECK(shop.validate({{"key", key}, {"fingerprint", "machine-1"}})["machine_id"] ==
          m1["machine_id"]);
    CHECK(shop.validate({{"key", key}, {"fingerprint", "machine-2"}})["ok"] == true);
    auto third = shop.validate({{"key", key}, {"fingerprint", "machine-3"}});
    CHECK(third["reason"] == "too_many_machines");
    CHECK(third["max_machines"] == 2);

    std::string id = lic["license_id"];
    CHECK(
        shop.server
            .post("/v1/admin/licenses/" + id + "/suspend", R"({"reason":"chargeback"})", shop.admin)
            .status == 200);
    CHECK(shop.validate({{"key", key}})["reason"] == "suspended");
    CHECK(shop.server.post("/v1/admin/licenses/" + id + "/unsuspend", "", shop.admin).status ==
          200);
    CHECK(shop.validate({{"key", key}})["ok"] == true);
    CHECK(shop.server.post("/v1/admin/licenses/" + id + "/revoke", "{}", shop.admin).status == 200);
    CHECK(shop.validate({{"key", key}})["reason"] == "revoked");
    CHECK(shop.server.post("/v1/admin/licenses/" + id + "/revoke", "{}", shop.admin).status == 404);

    // An expiry in the past is refused at issue time.
    CHECK(shop.server
              .post("/v1/admin/licenses",
                    json{{"product_slug", "app"}, {"expires_at", "2020-01-01"}}.dump(), shop.admin)
              .status == 400);
}

TEST_CASE("validate: expired keys, and keys the database does not know", "[e2e][serve]") {
    Shop shop;
    shop.make_product("app");
    // A key signed by the server's own key file but never recorded: not_found.
    auto signer = (shop.dir / "data/signing.key").string();
    auto product_id = shop.server.get("/v1/products/app").body["id"].get<std::string>();
    auto unknown = test::run({test::issue_bin(), "license", "-s", signer, "--product", product_id});
    REQUIRE(unknown.exit_code == 0);
    auto r = shop.validate({{"key", unknown.out.substr(0, unknown.out.find('\n'))}});
    CHECK(r["reason"] == "not_found");
    // Recorded with an expiry in the past (keysat-issue --db with a fixed clock): expired.
    auto old =
        test::run({test::issue_bin(), "license", "-s", signer, "--product", product_id, "--days",
                   "30", "--now", "1600000000", "--db", (shop.dir / "data/keysat.db").string()});
    REQUIRE(old.exit_code == 0);
    auto e = shop.validate({{"key", old.out.substr(0, old.out.find('\n'))}});
    CHECK(e["reason"] == "expired");
    CHECK(e.contains("expires_at"));
}

TEST_CASE("machines: activate, heartbeat, deactivate with the key as proof", "[e2e][serve]") {
    Shop shop;
    shop.make_product("app");
    std::string key = shop.issue({{"product_slug", "app"}, {"max_machines", 1}})["license_key"];
    auto act =
        shop.server.post("/v1/machines/activate",
                         json{{"key", key}, {"fingerprint", "fp-1"}, {"hostname", "h"}}.dump());
    CHECK(act.status == 200);
    CHECK(act.body["ok"] == true);
    CHECK(act.body["active_count"] == 1);
    auto full = shop.server.post("/v1/machines/activate",
                                 json{{"key", key}, {"fingerprint", "fp-2"}}.dump());
    CHECK(full.body["ok"] == false);
    CHECK(full.body["reason"] == "too_many_machines");
    CHECK(shop.server
              .post("/v1/machines/heartbeat", json{{"key", key}, {"fingerprint", "fp-1"}}.dump())
              .body["ok"] == true);
    CHECK(shop.server
              .post("/v1/machines/heartbeat", json{{"key", key}, {"fingerprint", "fp-2"}}.dump())
              .body["reason"] == "not_activated");
    CHECK(shop.server
              .post("/v1/machines/deactivate", json{{"key", key}, {"fingerprint", "fp-1"}}.dump())
              .body["ok"] == true);
    CHECK(shop.server
              .post("/v1/machines/activate", json{{"key", key}, {"fingerprint", "fp-2"}}.dump())
              .body["ok"] == true);
    auto bad = shop.server.post("/v1/machines/activate",
                                json{{"key", "LIC1-x-y"}, {"fingerprint", "f"}}.dump());
    CHECK(bad.status == 400);
    CHECK(bad.body["error"] == "bad_request");
}

TEST_CASE("hostile requests get the error shape, never a 500", "[e2e][serve]") {
    Shop shop;
    for (const std::string& body :
         {std::string("not json"), std::string("[1,2]"), std::string(R"({"key":5})"),
          std::string(R"({"key":"LIC1-A-B","fingerprint":["x"]})"), std::string("{"),
          std::string(R"({"key":null})"), std::string("\xff\xfe"), std::string(5000, '{')}) {
        auto r = shop.server.post("/v1/validate", body);
        INFO(body.substr(0, 40));
        CHECK(r.status == 400);
        CHECK(r.body["ok"] == false);
        CHECK(r.body["error"] == "bad_request");
    }
    auto big = shop.server.post("/v1/validate", std::string(2 << 20, ' '));
    CHECK(big.status == 413);
    CHECK(big.body["error"] == "payload_too_large");
    auto missing = shop.server.get("/v1/nothing-here");
    CHECK(missing.status == 404);
    CHECK(missing.body["error"] == "not_found");
    CHECK(shop.server.get("/v1/products/..%2F..%2Fetc").status == 404);
    CHECK(
        shop.server
            .post("/v1/admin/products", R"({"slug":"../x","name":"n","price_sats":1})", shop.admin)
            .status == 400);
    CHECK(shop.server
              .post("/v1/admin/products", R"({"slug":"ok","name":"n","price_sats":-1})", shop.admin)
              .status == 400);
    shop.make_product("dup");
    CHECK(shop.server
              .post("/v1/admin/products", R"({"slug":"dup","name":"n","price_sats":1})", shop.admin)
              .status == 409);
    // The request log never shows a query string (tokens travel there).
    shop.server.get("/v1/products?token=SECRET-IN-QUERY");
    CHECK(shop.server.log_contains("GET /v1/products 200"));
    CHECK(shop.server.log().find("SECRET-IN-QUERY") == std::string::npos);
}

TEST_CASE("admin auth: missing, malformed, wrong, revoked and under-scoped credentials",
          "[e2e][serve]") {
    Shop shop;
    CHECK(shop.server.get("/v1/admin/products").status == 401);
    CHECK(shop.server.request("GET", "/v1/admin/products", "", {{"Authorization", "Basic abc"}})
              .status == 401);
    CHECK(shop.server.get("/v1/admin/products", "ksm_wrong").status == 403);
    auto create = [&](const std::string& role) {
        auto r = shop.server.post("/v1/admin/api-keys",
                                  json{{"label", role}, {"role", role}}.dump(), shop.admin);
        REQUIRE(r.status == 200);
        CHECK(r.body["token"].get<std::string>().starts_with("ks_"));
        return r.body;
    };
    auto reader = create("read-only");
    auto issuer = create("license-issuer");
    auto onboard = create("merchant-onboard");
    CHECK(shop.server.post("/v1/admin/api-keys", R"({"label":"x","role":"god"})", shop.admin)
              .status == 400);
    std::string r = reader["token"], i = issuer["token"], o = onboard["token"];
    // route, method, body, token -> expected status
    struct Case {
        std::string method, path, body, token;
        int status;
    };
    std::vector<Case> cases = {
        {"GET", "/v1/admin/products", "", r, 200},
        {"POST", "/v1/admin/products", R"({"slug":"a","name":"A","price_sats":1})", r, 403},
        {"POST", "/v1/admin/products", R"({"slug":"a","name":"A","price_sats":1})", i, 403},
        {"POST", "/v1/admin/products", R"({"slug":"a","name":"A","price_sats":1})", o, 200},
        {"POST", "/v1/admin/licenses", R"({"product_slug":"a"})", r, 403},
        {"POST", "/v1/admin/licenses", R"({"product_slug":"a"})", i, 200},
        {"GET", "/v1/admin/licenses/search?buyer_email=x", "", r, 200},
        {"GET", "/v1/admin/audit", "", r, 200},
        {"GET", "/v1/admin/api-keys", "", r, 403}, // API keys: master only
        {"POST", "/v1/admin/api-keys", R"({"label":"l","role":"full-admin"})", o, 403},
        {"GET", "/v1/admin/api-keys", "", shop.admin, 200},
    };
    for (const auto& c : cases) {
        INFO(c.method << " " << c.path << " as " << c.token.substr(0, 6));
        auto res =
            shop.server.request(c.method, c.path, c.body, {{"Authorization", "Bearer " + c.token}});
        CHECK(res.status == c.status);
    }
    CHECK(shop.server
              .request("DELETE", "/v1/admin/api-keys/" + reader["id"].get<std::string>(), "",
                       {{"Authorization", "Bearer " + shop.admin}})
              .status == 200);
    CHECK(shop.server.get("/v1/admin/products", r).status == 403); // revoked
    // Every mutation left an audit row, with the credential's hash, never the credential.
    auto audit = shop.server.get("/v1/admin/audit", shop.admin);
    std::string text = audit.raw;
    CHECK(text.find(shop.admin) == std::string::npos);
    CHECK(text.find(i) == std::string::npos);
    CHECK(text.find("license.issue") != std::string::npos);
    CHECK(text.find("api_key.revoke") != std::string::npos);
}

TEST_CASE("a valid scoped key on a master-only route is a 403, never a lockout",
          "[e2e][serve][security]") {
    Shop shop;
    auto key =
        shop.server.post("/v1/admin/api-keys", R"({"label":"ci","role":"full-admin"})", shop.admin);
    REQUIRE(key.status == 200);
    std::string token = key.body["token"];
    // Far more than the 10 failed attempts that lock a client out.
    for (int i = 0; i < 25; ++i) {
        auto r = shop.server.get("/v1/admin/api-keys", token);
        REQUIRE(r.status == 403);
        CHECK_THAT(r.body["message"].get<std::string>(), Catch::Contains("master key"));
    }
    CHECK(shop.server.get("/v1/admin/products", token).status == 200);
    CHECK(shop.server.get("/v1/admin/api-keys", shop.admin).status == 200);
    // A wrong secret still counts, and is locked out after ten.
    int last = 0;
    for (int i = 0; i < 12; ++i)
        last = shop.server.get("/v1/admin/api-keys", "ks_not-a-key").status;
    CHECK(last == 429);
}

TEST_CASE("each license status change records its own reason", "[e2e][serve][admin]") {
    Shop shop;
    REQUIRE(
        shop.server
            .post("/v1/admin/products", R"({"slug":"app","name":"A","price_sats":1})", shop.admin)
            .status == 200);
    auto lic = shop.server.post("/v1/admin/licenses", R"({"product_slug":"app"})", shop.admin);
    std::string id = lic.body["license_id"];
    for (const char* op : {"suspend", "unsuspend"})
        REQUIRE(shop.server.post("/v1/admin/licenses/" + id + "/" + op, "", shop.admin).status ==
                200);
    REQUIRE(shop.server.post("/v1/admin/licenses/" + id + "/revoke", R"({"reason":""})", shop.admin)
                .status == 200);
    auto entries = shop.server.get("/v1/admin/audit?limit=10", shop.admin).body["entries"];
    std::map<std::string, std::string> reasons;
    for (const auto& e : entries)
        if (e["action"].get<std::string>().starts_with("license."))
            reasons[e["action"]] = e["details"].value("reason", "");
    CHECK(reasons["license.suspend"] == "admin suspend");
    CHECK(reasons["license.unsuspend"] == "admin unsuspend"); // it said "admin suspend"
    CHECK(reasons["license.revoke"] == "admin revoke");       // an empty reason is the default
}

TEST_CASE("validate: a license of a product the database lacks is not_found",
          "[e2e][serve][security]") {
    test::TempDir dir;
    REQUIRE(test::run({test::issue_bin(), "keygen", "--unencrypted", "-o", (dir / "k").string()})
                .exit_code == 0);
    test::ServerProcess server(dir / "data", {},
                               {"KEYSAT_VERIFY_KEYS=" + (dir / "k.pub").string()});
    REQUIRE(server
                .post("/v1/admin/products", R"({"slug":"app","name":"A","price_sats":1})",
                      server.admin_key())
                .status == 200);
    // Signed by a trusted key and recorded, but for a product id nobody created.
    auto lic = test::run({test::issue_bin(), "license", "-s", (dir / "k.key").string(), "--product",
                          "0b8e3f2a-1111-4222-8333-944455556666", "--db",
                          (dir / "data/keysat.db").string()});
    REQUIRE(lic.exit_code == 0);
    std::string key = lic.out.substr(0, lic.out.find('\n'));
    for (const json& request : {json{{"key", key}, {"product_slug", "app"}}, json{{"key", key}}}) {
        auto v = server.post("/v1/validate", request.dump());
        CHECK(v.body["ok"] == false);
        CHECK(v.body["reason"] == "not_found");
    }
}

TEST_CASE("direct issuance grants only entitlements in the product's catalog",
          "[e2e][serve][security]") {
    Shop shop;
    REQUIRE(shop.server
                .post("/v1/admin/products",
                      json{{"slug", "app"},
                           {"name", "App"},
                           {"price_sats", 1},
                           {"entitlements_catalog",
                            {{{"slug", "pro"}, {"name", "Pro"}, {"description", ""}}}}}
                          .dump(),
                      shop.admin)
                .status == 200);
    auto refused = shop.server.post(
        "/v1/admin/licenses",
        json{{"product_slug", "app"}, {"entitlements", {"pro", "anything"}}}.dump(), shop.admin);
    CHECK(refused.status == 400);
    CHECK_THAT(refused.body["message"].get<std::string>(), Catch::Contains("'anything'"));
    CHECK(shop.server.get("/v1/admin/licenses", shop.admin).body["licenses"].empty());
    CHECK(shop.issue({{"product_slug", "app"}, {"entitlements", {"pro"}}})["entitlements"] ==
          json({"pro"}));
}

TEST_CASE("a verify-only server validates but refuses to issue", "[e2e][serve]") {
    test::TempDir dir;
    REQUIRE(test::run({test::issue_bin(), "keygen", "--unencrypted", "-o", (dir / "k").string()})
                .exit_code == 0);
    test::ServerProcess server(dir / "data", {},
                               {"KEYSAT_VERIFY_KEYS=" + (dir / "k.pub").string()});
    auto admin = server.admin_key();
    REQUIRE(server.post("/v1/admin/products", R"({"slug":"app","name":"A","price_sats":1})", admin)
                .status == 200);
    auto r = server.post("/v1/admin/licenses", R"({"product_slug":"app"})", admin);
    CHECK(r.status == 503);
    CHECK(r.body["error"] == "service_unavailable");
    CHECK_FALSE(std::filesystem::exists(dir / "data/signing.key"));
    // Keys issued offline and recorded in the database validate.
    auto product_id = server.get("/v1/products/app").body["id"].get<std::string>();
    auto lic = test::run({test::issue_bin(), "license", "-s", (dir / "k.key").string(), "--product",
                          product_id, "--db", (dir / "data/keysat.db").string()});
    REQUIRE(lic.exit_code == 0);
    auto v =
        server.post("/v1/validate", json{{"key", lic.out.substr(0, lic.out.find('\n'))}}.dump());
    CHECK(v.body["ok"] == true);
}

TEST_CASE("bad configuration is a start-up error naming the key", "[e2e][serve]") {
    test::TempDir dir;
    test::spit(dir / "bad.toml", "bind = \"127.0.0.1:0\"\ncolour = \"blue\"\n");
    auto r = test::run({KEYSAT_SERVE_BIN, "--config", (dir / "bad.toml").string(), "--data-dir",
                        (dir / "data").string()});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("unknown key 'colour'"));
    test::spit(dir / "float.toml", "threads = 3.3e42\n"); // a float is not read as an integer
    auto rf = test::run({KEYSAT_SERVE_BIN, "--config", (dir / "float.toml").string()});
    CHECK(rf.exit_code == 2);
    CHECK_THAT(rf.err, Catch::Contains("threads: expected a whole number"));
    test::spit(dir / "bad2.toml", "threads = \"many\"\n");
    auto r2 = test::run({KEYSAT_SERVE_BIN, "--config", (dir / "bad2.toml").string()});
    CHECK(r2.exit_code == 2);
    CHECK_THAT(r2.err, Catch::Contains("threads"));
    auto r3 =
        test::run({KEYSAT_SERVE_BIN, "--bind", "127.0.0.1:0", "--data-dir", (dir / "d3").string()},
                  "", {"KEYSAT_ADMIN_API_KEY=short"});
    CHECK(r3.exit_code == 2);
    CHECK_THAT(r3.err, Catch::Contains("at least 32"));
    // Trusted proxies are addresses or CIDR ranges; a range with host bits is refused.
    auto r4 =
        test::run({KEYSAT_SERVE_BIN, "--bind", "127.0.0.1:0", "--data-dir", (dir / "d4").string()},
                  "", {"KEYSAT_TRUSTED_PROXIES=10.0.0.0/8,10.0.0.1/8"});
    CHECK(r4.exit_code == 2);
    CHECK_THAT(r4.err, Catch::Contains("'10.0.0.1/8'"));
    // Text outside strings and comments is ASCII (toml++ 3.3 misbehaves otherwise), named by line.
    test::spit(dir / "bad5.toml", "threads = 2\nbind = \"127.0.0.1:0\" \xc2\xa0\n");
    auto r5 = test::run({KEYSAT_SERVE_BIN, "--config", (dir / "bad5.toml").string()});
    CHECK(r5.exit_code == 2);
    CHECK_THAT(r5.err, Catch::Contains("bad5.toml:2: non-ASCII"));
}

TEST_CASE("a configuration file with a byte order mark and non-ASCII strings loads",
          "[e2e][serve]") {
    test::TempDir dir;
    test::spit(dir / "k.toml", "\xEF\xBB\xBF# caf\xc3\xa9\noperator_name = \"Caf\xc3\xa9 Ltd\"\n");
    test::ServerProcess server(dir / "data", {"--config", (dir / "k.toml").string()});
    CHECK(server.get("/").body["operator"] == "Caf\xc3\xa9 Ltd");
}

TEST_CASE("read timeout and worker count come from the configuration", "[e2e][serve]") {
    test::TempDir dir;
    test::spit(dir / "bad.toml", "read_timeout = 0\n");
    auto bad = test::run({KEYSAT_SERVE_BIN, "--config", (dir / "bad.toml").string()});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("read_timeout"));
    test::spit(dir / "bad2.toml", "write_timeout = -3\n");
    auto bad2 = test::run({KEYSAT_SERVE_BIN, "--config", (dir / "bad2.toml").string()});
    CHECK(bad2.exit_code == 2);
    CHECK_THAT(bad2.err, Catch::Contains("write_timeout"));
    // A head that never ends is dropped after KEYSAT_READ_TIMEOUT (1 s), not the default 10 s.
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_READ_TIMEOUT=1", "KEYSAT_THREADS=1"});
    auto start = std::chrono::steady_clock::now();
    auto r = test::raw_request(server.port(), "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow:");
    CHECK(r.status == 0);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    // One worker still serves everyone.
    CHECK(server.get("/healthz").status == 200);
}

TEST_CASE("requests the HTTP layer refuses get the error shape with their own word",
          "[e2e][serve][security]") {
    test::TempDir dir;
    test::ServerProcess server(dir / "data");
    std::string many = "GET /healthz HTTP/1.1\r\nHost: t\r\n";
    for (int i = 0; i < 150; ++i)
        many += "X-" + std::to_string(i) + ": v\r\n";
    const std::vector<std::tuple<std::string, int, std::string>> cases = {
        {"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
         "bad_request"},
        {"GET /nothing-here HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 404, "not_found"},
        {"DELETE /v1/validate HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 405,
         "method_not_allowed"},
        {"POST /v1/validate HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", 413,
         "payload_too_large"},
        {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414, "uri_too_long"},
        {"GET /healthz HTTP/1.1\r\nHost: t\r\nExpect: 302-please\r\n\r\n", 417,
         "expectation_failed"},
        {many + "\r\n", 431, "header_fields_too_large"},
        {"POST /v1/validate HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
         "not_implemented"},
        {"GET /healthz HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"},
        {"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "bad_request"}, // no Host
        {"GET /healthz HTTP/1.1\r\nHost: t\r\nUser-Agent: a\x7f\r\n\r\n", 400, "bad_request"},
    };
    for (const auto& [request, status, word] : cases) {
        INFO(request.substr(0, 60));
        auto r = test::raw_request(server.port(), request);
        CHECK(r.status == status);
        auto body = nlohmann::json::parse(r.body, nullptr, false);
        REQUIRE(body.is_object());
        CHECK(body["ok"] == false);
        CHECK(body["error"] == word);
        CHECK_THAT(r.head, Catch::Contains("Content-Type: application/json"));
    }
    CHECK(server.get("/healthz").status == 200);
    auto absolute = test::raw_request(
        server.port(),
        "GET http://keysat.example/healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK(absolute.status == 200);
}

TEST_CASE("a database behind the binary: exit 3, or --migrate", "[e2e][serve]") {
    test::TempDir dir;
    auto db = (dir / "data/keysat.db").string();
    std::filesystem::create_directories(dir / "data");
    REQUIRE(test::run({KEYSAT_MIGRATE_BIN, "up", "--to", "1", "--db", db}).exit_code == 0);
    auto r = test::run(
        {KEYSAT_SERVE_BIN, "--bind", "127.0.0.1:0", "--data-dir", (dir / "data").string()});
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("keysat-migrate up"));
    test::ServerProcess server(dir / "data", {"--migrate"});
    CHECK(server.get("/healthz").status == 200);
}

TEST_CASE("rate limits: validate per client, failed admin logins, and a validation log",
          "[e2e][serve]") {
    Shop shop;
    shop.make_product("app");
    std::string key = shop.issue({{"product_slug", "app"}})["license_key"];
    int limited = 0;
    for (int i = 0; i < 70; ++i) {
        // A forged X-Forwarded-For from an untrusted peer does not buy a fresh bucket.
        auto r = shop.server.request("POST", "/v1/validate", json{{"key", key}}.dump(),
                                     {{"X-Forwarded-For", "203.0.113." + std::to_string(i)}});
        limited += r.body["reason"] == "rate_limited";
    }
    CHECK(limited >= 9);
    CHECK(limited <= 11);
    int refused = 0;
    for (int i = 0; i < 12; ++i)
        refused +=
            shop.server.get("/v1/admin/products", "ksm_guess" + std::to_string(i)).status == 429;
    CHECK(refused >= 1);
    // The right key still works: failures from an address cannot lock the operator out.
    CHECK(shop.server.get("/v1/admin/products", shop.admin).status == 200);
    CHECK(shop.server.stop() == 0); // flushes the validation log
    auto db = db::Database::open(shop.dir / "data/keysat.db", db::OpenMode::read_only);
    REQUIRE(db);
    CHECK(*db->query_int("SELECT count(*) FROM validation_log WHERE result = 'ok'") >= 59);
    CHECK(*db->query_int("SELECT count(*) FROM validation_log WHERE request_ip != '127.0.0.1'") ==
          0);
}

TEST_CASE("behind a trusted proxy, each forwarded client has its own bucket", "[e2e][serve]") {
    test::TempDir dir;
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_TRUSTED_PROXIES=127.0.0.1"});
    int limited = 0;
    for (int i = 0; i < 70; ++i)
        limited += server
                       .request("POST", "/v1/validate", R"({"key":"LIC1-A-B"})",
                                {{"X-Forwarded-For", "203.0.113." + std::to_string(i)}})
                       .body["reason"] == "rate_limited";
    CHECK(limited == 0);
}

TEST_CASE("known machines' heartbeats are recorded in the background", "[e2e][serve]") {
    Shop shop;
    shop.make_product("app");
    std::string key = shop.issue({{"product_slug", "app"}})["license_key"];
    auto first = shop.validate({{"key", key}, {"fingerprint", "fp"}});
    auto second = shop.validate({{"key", key}, {"fingerprint", "fp"}});
    CHECK(first["machine_id"] == second["machine_id"]);
    CHECK(shop.server.stop() == 0);
    auto db = db::Database::open(shop.dir / "data/keysat.db", db::OpenMode::read_only);
    REQUIRE(db);
    CHECK(*db->query_int("SELECT count(*) FROM machines WHERE last_heartbeat_at IS NOT NULL") == 1);
    CHECK(*db->query_int("SELECT count(*) FROM validation_log") == 2);
}

TEST_CASE("validate_rate 0 turns the validate limit off", "[e2e][serve]") {
    test::TempDir dir;
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_VALIDATE_RATE=0"});
    int limited = 0;
    for (int i = 0; i < 80; ++i)
        limited +=
            server.post("/v1/validate", R"({"key":"LIC1-A-B"})").body["reason"] == "rate_limited";
    CHECK(limited == 0);
}

TEST_CASE("hostile corners found in review", "[e2e][serve]") {
    Shop shop;
    shop.make_product("app");
    auto product_id = shop.server.get("/v1/products/app").body["id"].get<std::string>();
    auto signer = (shop.dir / "data/signing.key").string();
    auto db = (shop.dir / "data/keysat.db").string();
    // A machine-bound key is not valid without its fingerprint, nor with another one.
    auto bound = test::run({test::issue_bin(), "license", "-s", signer, "--product", product_id,
                            "--fingerprint", "the-machine", "--db", db});
    REQUIRE(bound.exit_code == 0);
    std::string bound_key = bound.out.substr(0, bound.out.find('\n'));
    CHECK(shop.validate({{"key", bound_key}})["reason"] == "fingerprint_mismatch");
    CHECK(shop.validate({{"key", bound_key}, {"fingerprint", "other"}})["reason"] ==
          "fingerprint_mismatch");
    CHECK(shop.validate({{"key", bound_key}, {"fingerprint", "the-machine"}})["ok"] == true);
    CHECK(shop.server
              .post("/v1/machines/activate",
                    json{{"key", bound_key}, {"fingerprint", "other"}}.dump())
              .body["reason"] == "fingerprint_mismatch");
    // Expired licenses activate nothing; revoked ones get no heartbeat.
    auto old = test::run({test::issue_bin(), "license", "-s", signer, "--product", product_id,
                          "--days", "30", "--now", "1600000000", "--db", db});
    REQUIRE(old.exit_code == 0);
    std::string old_key = old.out.substr(0, old.out.find('\n'));
    CHECK(shop.server
              .post("/v1/machines/activate", json{{"key", old_key}, {"fingerprint", "f"}}.dump())
              .body["reason"] == "expired");
    auto lic = shop.issue({{"product_slug", "app"}});
    std::string key = lic["license_key"];
    REQUIRE(
        shop.server.post("/v1/machines/activate", json{{"key", key}, {"fingerprint", "f"}}.dump())
            .body["ok"] == true);
    REQUIRE(shop.server
                .post("/v1/admin/licenses/" + lic["license_id"].get<std::string>() + "/revoke",
                      "{}", shop.admin)
                .status == 200);
    CHECK(
        shop.server.post("/v1/machines/heartbeat", json{{"key", key}, {"fingerprint", "f"}}.dump())
            .body["reason"] == "revoked");
    // Deeply nested JSON where a flat list is expected: 400, and the server lives on.
    std::string deep = R"({"slug":"deep","name":"D","price_sats":1,"entitlements_catalog":)" +
                       std::string(100000, '[') + std::string(100000, ']') + "}";
    auto r = shop.server.post("/v1/admin/products", deep, shop.admin);
    CHECK(r.status == 400);
    // The same on an unauthenticated route.
    CHECK(shop.server.post("/v1/validate", std::string(200000, '[') + std::string(200000, ']'))
              .status == 400);
    CHECK(shop.server.get("/healthz").status == 200);
    // A decoded path cannot forge a log line.
    shop.server.get("/v1/products/x%0aFORGED%20200");
    CHECK(shop.server.log_contains("\\x0aFORGED"));
    CHECK(shop.server.log().find("\nFORGED") == std::string::npos);
}

TEST_CASE("the OpenAPI document lists every route the server answers", "[e2e][serve]") {
    Shop shop;
    auto doc = shop.server.get("/v1/openapi.json");
    REQUIRE(doc.status == 200);
    CHECK(doc.body["openapi"] == "3.1.0");
    const auto& paths = doc.body["paths"];
    std::vector<std::pair<std::string, std::string>> expected = {
        {"get", "/"},
        {"get", "/healthz"},
        {"get", "/v1/pubkey"},
        {"get", "/v1/issuer/public-key"},
        {"get", "/v1/openapi.json"},
        {"get", "/v1/products"},
        {"get", "/v1/products/{slug}"},
        {"get", "/v1/products/{slug}/policies"},
        {"post", "/v1/validate"},
        {"post", "/v1/machines/activate"},
        {"post", "/v1/machines/heartbeat"},
        {"post", "/v1/machines/deactivate"},
        {"post", "/v1/purchase"},
        {"get", "/v1/purchase/{id}"},
        {"post", "/v1/redeem"},
        {"get", "/v1/discount-codes/preview"},
        {"post", "/v1/btcpay/webhook/{slug}"},
        {"post", "/v1/btcpay/webhook"},
        {"post", "/v1/recover"},
        {"post", "/v1/zaprite/webhook/{slug}/{slug2}"},
        {"post", "/v1/zaprite/webhook/{slug}"},
        {"post", "/v1/zaprite/webhook"},
        {"post", "/v1/btcpay/authorize/callback"},
        {"get", "/v1/btcpay/authorize/callback"},
        {"post", "/v1/btcpay/authorize/store"},
        {"get", "/buy/{slug}"},
        {"post", "/buy/{slug}"},
        {"get", "/thank-you"},
        {"get", "/recover"},
        {"post", "/recover"},
        {"post", "/v1/subscriptions/cancel"},
        {"post", "/v1/subscriptions/renew"},
        {"post", "/v1/upgrade-quote"},
        {"post", "/v1/upgrade"},
        {"get", "/upgrade"},
        {"post", "/upgrade"},
        {"get", "/v1/backup/{slug}"},
    };
    for (const auto& r : test::admin_routes())
        if (!r.gate) // this server has no releases directory
            expected.emplace_back(r.method, r.path);
    std::size_t operations = 0;
    for (const auto& [path, ops] : paths.items())
        operations += ops.size();
    CHECK(operations == expected.size()); // nothing undocumented, nothing extra
    for (const auto& [method, path] : expected) {
        INFO(method << " " << path);
        REQUIRE(paths.contains(path));
        CHECK(paths[path].contains(method));
        if (path.starts_with("/v1/admin/"))
            CHECK(paths[path][method].contains("security"));
    }
}

TEST_CASE("JSON request log stays valid JSON for hostile paths, audit limits are checked",
          "[e2e][serve]") {
    test::TempDir dir;
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_LOG_FORMAT=json"});
    server.get("/v1/products/a%22b%5cc%0a?token=SECRET");
    REQUIRE(server.log_contains("\"status\":404"));
    std::string log = server.log();
    for (std::size_t start = 0; start < log.size();) {
        auto end = log.find('\n', start);
        std::string line = log.substr(start, end - start);
        start = end == std::string::npos ? log.size() : end + 1;
        if (!line.starts_with("{"))
            continue; // start-up messages
        auto j = json::parse(line, nullptr, false);
        INFO(line);
        CHECK_FALSE(j.is_discarded());
    }
    CHECK(log.find("SECRET") == std::string::npos);
    CHECK(server.get("/v1/admin/audit?limit=abc", server.admin_key()).status == 400);
    CHECK(server.get("/v1/admin/audit?limit=-5", server.admin_key()).status == 200);
    CHECK(server.get("/v1/admin/audit?limit=99999999999999999999", server.admin_key()).status ==
          400);
}

TEST_CASE("validate's row cache: own writes are seen at once, other processes' within the TTL",
          "[e2e][serve]") {
    for (int ttl : {0, 400}) {
        INFO("cache_ttl_ms " << ttl);
        test::TempDir dir;
        test::ServerProcess server(dir / "data", {},
                                   {"KEYSAT_CACHE_TTL_MS=" + std::to_string(ttl)});
        std::string admin = server.admin_key();
        REQUIRE(server
                    .post("/v1/admin/products",
                          json{{"slug", "app"}, {"name", "App"}, {"price_sats", 1}}.dump(), admin)
                    .status == 200);
        auto issue = [&] {
            return server.post("/v1/admin/licenses", json{{"product_slug", "app"}}.dump(), admin)
                .body;
        };
        auto validate = [&](const std::string& key, const char* fp = "fp-1") {
            return server.post("/v1/validate", json{{"key", key}, {"fingerprint", fp}}.dump()).body;
        };
        // Through the server: suspend, unsuspend, revoke, machine deactivation, at once.
        auto lic = issue();
        std::string key = lic["license_key"], id = lic["license_id"];
        for (int i = 0; i < 3; ++i)
            REQUIRE(validate(key)["ok"] == true);
        server.post("/v1/admin/licenses/" + id + "/suspend", "", admin);
        CHECK(validate(key)["reason"] == "suspended");
        server.post("/v1/admin/licenses/" + id + "/unsuspend", "", admin);
        CHECK(validate(key)["ok"] == true);
        CHECK(validate(key, "fp-2")["reason"] == "too_many_machines"); // one seat
        server.post("/v1/machines/deactivate", json{{"key", key}, {"fingerprint", "fp-1"}}.dump());
        CHECK(validate(key, "fp-2")["ok"] == true);
        server.post("/v1/admin/licenses/" + id + "/revoke", "", admin);
        CHECK(validate(key, "fp-2")["reason"] == "revoked");
        // Another process writing the file directly: seen within the TTL.
        auto other = issue();
        std::string other_key = other["license_key"];
        REQUIRE(validate(other_key)["ok"] == true);
        {
            auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_write);
            REQUIRE(db);
            REQUIRE(db->exec("UPDATE licenses SET status = 'suspended' WHERE id = '" +
                             other["license_id"].get<std::string>() + "'"));
        }
        auto start = std::chrono::steady_clock::now();
        while (validate(other_key)["ok"] == true &&
               std::chrono::steady_clock::now() - start < std::chrono::seconds(3))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        auto seen_after = std::chrono::steady_clock::now() - start;
        CHECK(validate(other_key)["reason"] == "suspended");
        CHECK(seen_after < std::chrono::milliseconds(ttl + 1000));
    }
}
