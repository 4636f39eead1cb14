// End-to-end: the release gate in the real keysat-serve, over real HTTP on loopback.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include <arpa/inet.h>
#include <csignal>
#include <ctime>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "keysat/gate/routes.hpp"
#include "keysat/license/token.hpp"
#include "keysat/util/date.hpp"
#include "support/gate_support.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;
namespace fs = std::filesystem;
using test::GateFixture;
using test::RawResponse;

TEST_CASE("gate: indexes, manifests, installer and signatures are public", "[e2e][gate]") {
    GateFixture g;
    g.start();
    auto& s = *g.server;
    auto index = s.get("/releases/");
    CHECK(index.status == 200);
    CHECK(index.body["products"] == json{"app", "free"});
    auto versions = s.get("/releases/app/");
    CHECK(versions.status == 200);
    CHECK(versions.body["product"] == "app");
    CHECK(versions.body["versions"] == json{"2.0.0-rc.1", "1.10.0", "1.9.2"});
    CHECK(s.get("/releases/app").body == versions.body);
    CHECK(s.get("/releases/nope/").status == 404);
    auto install = s.get("/releases/app/install.sh");
    CHECK(install.status == 200);
    CHECK(install.raw == "#!/bin/sh\necho install\n");
    CHECK(s.get("/releases/free/install.sh").status == 404);
    // The 3 MiB build is hashed in the background from the start: a client asks again after
    // Retry-After while it is not done.
    auto manifest = s.get("/releases/app/1.10.0/MANIFEST");
    for (int i = 0; i < 100 && manifest.status == 503; ++i) {
        CHECK(manifest.headers.count("Retry-After") == 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        manifest = s.get("/releases/app/1.10.0/MANIFEST");
    }
    REQUIRE(manifest.status == 200);
    REQUIRE(manifest.body["files"].size() == 1);
    CHECK(manifest.body["files"][0]["name"] == test::k_platform);
    CHECK(manifest.body["files"][0]["size"] == g.build.size());
    CHECK(manifest.body["files"][0]["sha256"] == g.build_sha256());
    CHECK(manifest.body["files"][0]["minisig"] ==
          "/releases/app/1.10.0/" + std::string(test::k_platform) + ".minisig");
    CHECK(s.get("/releases/app/1.9.2/MANIFEST").raw == R"({"written":"by the pipeline"})");
    CHECK(s.get("/releases/app/7.0.0/MANIFEST").status == 404);
    // The served .minisig is exactly what keysat-issue sign wrote.
    auto sig = s.get("/releases/app/1.10.0/" + std::string(test::k_platform) + ".minisig");
    CHECK(sig.status == 200);
    CHECK(sig.raw == test::slurp(g.build_path().string() + ".minisig"));
    CHECK(s.get("/releases/app/1.10.0/nothing.minisig").status == 404);
    // The OpenAPI document lists the gate's routes.
    auto doc = s.get("/v1/openapi.json");
    CHECK(doc.body["paths"].contains("/releases/"));
    CHECK(doc.body["paths"].contains("/v1/admin/releases/revocations/reload"));
}

TEST_CASE("gate: a downloaded build verifies with minisign -Vm and keysat-verify file",
          "[e2e][gate][minisign]") {
    REQUIRE(test::have_program("minisign"));
    GateFixture g;
    g.start();
    std::string path = "/releases/app/1.10.0/" + std::string(test::k_platform);
    auto bin = g.server->get(path, g.token("app"));
    REQUIRE(bin.status == 200);
    CHECK(bin.raw == g.build);
    auto sig = g.server->get(path + ".minisig");
    REQUIRE(sig.status == 200);
    test::TempDir customer;
    test::spit(customer / "app", bin.raw);
    test::spit(customer / "app.minisig", sig.raw);
    auto m = test::run({"minisign", "-Vm", (customer / "app").string(), "-p", g.pub().string()});
    CHECK(m.exit_code == 0);
    auto v = test::run(
        {test::verify_bin(), "file", "-p", g.pub().string(), (customer / "app").string()});
    CHECK(v.exit_code == 0);
    // A corrupted download fails both.
    test::spit(customer / "app", bin.raw.substr(1));
    CHECK(test::run({"minisign", "-Vm", (customer / "app").string(), "-p", g.pub().string()})
              .exit_code != 0);
    CHECK(
        test::run({test::verify_bin(), "file", "-p", g.pub().string(), (customer / "app").string()})
            .exit_code == 1);
}

TEST_CASE("gate: every token answer over HTTP", "[e2e][gate]") {
    GateFixture g;
    g.start();
    auto& s = *g.server;
    std::string path = "/releases/app/1.10.0/" + std::string(test::k_platform);
    auto expect = [&](const std::string& token, int status, const std::string& word,
                      bool in_query = false) {
        INFO("token " << token.substr(0, 80) << " in " << (in_query ? "query" : "header"));
        auto r = in_query ? s.get(path + "?token=" + gate::url_encode(token)) : s.get(path, token);
        CHECK(r.status == status);
        if (!word.empty())
            CHECK(r.body["error"] == word);
        if (status == 401)
            CHECK(r.headers["WWW-Authenticate"] == "Bearer");
    };
    std::string today = format_date(std::time(nullptr));
    std::string yesterday = format_date(std::time(nullptr) - 86400);
    auto good = g.token("app");
    expect(good, 200, "");
    expect(good, 200, "", true);
    expect(g.token("app", today), 200, ""); // valid through the end of its day
    expect(g.token("app", yesterday), 403, "channel-expired");
    expect(g.token("free"), 403, "wrong-product");
    expect(g.token("app", "2099-12-31", g.other_key()), 401, "invalid-signature");
    std::string tampered = good;
    tampered[90] = tampered[90] == 'A' ? 'B' : 'A';
    expect(tampered, 401, "invalid-signature");
    expect(good + "==", 401, "malformed-token");
    expect(good + "==", 401, "malformed-token", true);
    expect("has spaces in it", 401, "malformed-token", true);
    expect("%%%", 401, "malformed-token", true);
    expect(std::string(7000, 'A'), 401, "invalid-signature");
    auto huge = s.get(path + "?token=" + std::string(30000, 'A'));
    CHECK(huge.status == 414);
    CHECK(huge.body["error"] == "uri_too_long");
    expect("c2hvcnQ", 401, "token-too-short");
    expect("LIC1-NOT-AKEY", 401, "malformed-token");
    auto missing = s.get(path);
    CHECK(missing.status == 401);
    CHECK(missing.body["error"] == "missing-token");
    CHECK(s.request("GET", path, "", {{"Authorization", "Basic " + good}}).status == 401);
    // A missing build behind a good token: the seed's words, no path.
    auto absent = s.get("/releases/app/1.10.0/riscv64gc-unknown-linux-gnu", good);
    CHECK(absent.status == 404);
    CHECK(absent.body["message"] == "the build pipeline has not produced this release yet");
    // An open product needs no token.
    CHECK(s.get("/releases/free/1.0.0/" + std::string(test::k_platform)).raw == "free build");
    // The token never reaches the request log.
    CHECK(s.log_contains(" 200 "));
    CHECK(s.log().find(good.substr(0, 40)) == std::string::npos);
    CHECK(s.log().find(gate::url_encode(good).substr(0, 40)) == std::string::npos);
}

TEST_CASE("gate: LIC1 license keys open their own product until revoked or suspended",
          "[e2e][gate]") {
    GateFixture g;
    g.start();
    auto& s = *g.server;
    auto admin = s.admin_key();
    REQUIRE(s.post("/v1/admin/products", R"({"slug":"app","name":"App","price_sats":1})", admin)
                .status == 200);
    REQUIRE(s.post("/v1/admin/products", R"({"slug":"free","name":"F","price_sats":1})", admin)
                .status == 200);
    auto [key, id] = g.license("app");
    auto [other_key, other_id] = g.license("free");
    auto [old_key, old_id] = g.license("app", {"--days", "30", "--now", "1600000000"});
    std::string path = "/releases/app/1.10.0/" + std::string(test::k_platform);
    CHECK(s.get(path, key).status == 200);
    CHECK(s.get(path + "?token=" + gate::url_encode(key)).status == 200);
    auto wrong = s.get(path, other_key);
    CHECK(wrong.status == 403);
    CHECK(wrong.body["error"] == "wrong-product");
    auto expired = s.get(path, old_key);
    CHECK(expired.status == 403);
    CHECK(expired.body["error"] == "channel-expired");
    REQUIRE(s.post("/v1/admin/licenses/" + id + "/suspend", R"({"reason":"chargeback"})", admin)
                .status == 200);
    auto suspended = s.get(path, key);
    CHECK(suspended.status == 403);
    CHECK(suspended.body["error"] == "token-revoked");
    REQUIRE(s.post("/v1/admin/licenses/" + id + "/unsuspend", "", admin).status == 200);
    CHECK(s.get(path, key).status == 200);
    REQUIRE(s.post("/v1/admin/licenses/" + id + "/revoke", "{}", admin).status == 200);
    CHECK(s.get(path, key).body["error"] == "token-revoked");
}

TEST_CASE("gate: the revocation list reloads on SIGHUP and by the admin route", "[e2e][gate]") {
    GateFixture g;
    g.start();
    auto& s = *g.server;
    std::string path = "/releases/app/1.10.0/" + std::string(test::k_platform);
    auto first = g.token("app"), second = g.token("app", "2098-01-01");
    CHECK(s.get(path, first).status == 200);
    test::spit(g.revocations(), "# revoked\n" + license::token_revocation_id(first) + "\n");
    CHECK(s.get(path, first).status == 200); // not reloaded yet
    s.signal(SIGHUP);
    REQUIRE(s.log_contains("revocation list reloaded (1 entries)"));
    auto r = s.get(path, first);
    CHECK(r.status == 403);
    CHECK(r.body["error"] == "token-revoked");
    CHECK(s.get(path, second).status == 200);
    // The admin route: master key or settings:write only.
    test::spit(g.revocations(), license::token_revocation_id(second) + "\n");
    CHECK(s.post("/v1/admin/releases/revocations/reload", "").status == 401);
    auto key = s.post("/v1/admin/api-keys", R"({"label":"ro","role":"read-only"})", s.admin_key());
    REQUIRE(key.status == 200);
    CHECK(s.post("/v1/admin/releases/revocations/reload", "", key.body["token"].get<std::string>())
              .status == 403);
    CHECK(s.get(path, second).status == 200);
    auto full =
        s.post("/v1/admin/api-keys", R"({"label":"ops","role":"full-admin"})", s.admin_key());
    REQUIRE(full.status == 200); // full-admin holds settings:write
    auto reload =
        s.post("/v1/admin/releases/revocations/reload", "", full.body["token"].get<std::string>());
    CHECK(reload.status == 200);
    CHECK(reload.body["revoked"] == 1);
    CHECK(s.get(path, second).body["error"] == "token-revoked");
    CHECK(s.get(path, first).status == 200); // the list replaced, not appended
    // A broken list keeps the one in use, and the error names no path.
    test::spit(g.revocations(), "not a hash\n");
    auto bad = s.post("/v1/admin/releases/revocations/reload", "", s.admin_key());
    CHECK(bad.status == 400);
    CHECK(bad.raw.find(g.dir.path().string()) == std::string::npos);
    CHECK(s.get(path, second).body["error"] == "token-revoked");
    auto audit = s.get("/v1/admin/audit?action=releases.revocations.reload", s.admin_key());
    CHECK(audit.body["entries"].size() == 1);
    CHECK(audit.body["entries"][0]["actor_kind"] == "api_key");
}

TEST_CASE("gate: latest redirects to the newest version that has the file", "[e2e][gate]") {
    GateFixture g;
    g.start();
    auto& s = *g.server;
    auto token = g.token("app");
    auto r = s.get("/releases/app/latest/" + std::string(test::k_platform) +
                   "?token=" + gate::url_encode(token));
    CHECK(r.status == 307);
    // 6.6.6 is a link out of the tree and 2.0.0-rc.1 has no Linux build: 1.10.0.
    CHECK(r.headers["Location"] == "/releases/app/1.10.0/" + std::string(test::k_platform) +
                                       "?token=" + gate::url_encode(token));
    // Characters that need encoding are encoded, never copied raw (read raw: cpp-httplib's
    // client decodes Location headers).
    auto odd = test::raw_get(s.port(),
                             "/releases/app/latest/aarch64-apple-darwin?token=a%2Bb%26c%0d%0aX:y");
    CHECK(odd.status == 307);
    CHECK_THAT(odd.head + "\r\n",
               Catch::Contains("\r\nLocation: /releases/app/2.0.0-rc.1/aarch64-apple-darwin"
                               "?token=a%2Bb%26c%0D%0AX%3Ay\r\n"));
    CHECK(s.get("/releases/app/latest/aarch64-apple-darwin").headers["Location"] ==
          "/releases/app/2.0.0-rc.1/aarch64-apple-darwin");
    CHECK(s.get("/releases/app/latest/riscv64gc-unknown-linux-gnu").status == 404);
    CHECK(s.get("/releases/nope/latest/" + std::string(test::k_platform)).status == 404);
    // Following the redirect downloads the build.
    httplib::Client client("127.0.0.1", s.port());
    client.set_follow_location(true);
    auto followed = client.Get(("/releases/app/latest/" + std::string(test::k_platform) +
                                "?token=" + gate::url_encode(token))
                                   .c_str());
    REQUIRE(followed);
    CHECK(followed->status == 200);
    CHECK(followed->body == g.build);
}

TEST_CASE("gate: /git/* redirects to the public repository", "[e2e][gate]") {
    GateFixture g;
    g.start();
    auto& s = *g.server;
    auto r = s.get("/git/info/refs?service=git-upload-pack");
    CHECK(r.status == 307);
    CHECK(r.headers["Location"] ==
          "https://git.example.com/org/app/info/refs?service=git-upload-pack");
    CHECK(s.post("/git/git-upload-pack", "").headers["Location"] ==
          "https://git.example.com/org/app/git-upload-pack");
    CHECK(s.get("/git").headers["Location"] == "https://git.example.com/org/app");
    CHECK(s.get("/git/../../evil").headers["Location"] == "https://git.example.com/org/app/");
}

TEST_CASE("gate: a drop-in for the seed's server runs on its variables alone", "[e2e][gate]") {
    GateFixture g;
    auto hex = test::run({test::issue_bin(), "pubkey", "-s", g.key().string(), "--format", "hex"});
    REQUIRE(hex.exit_code == 0);
    std::string hex_key = hex.out.substr(0, hex.out.find('\n'));
    REQUIRE(hex_key.size() == 64);
    auto first = g.token("app"), second = g.token("app", "2098-01-01");
    test::spit(g.revocations(), license::token_revocation_id(first) + "\n");
    std::string path = "/releases/app/1.10.0/" + std::string(test::k_platform);
    SECTION("VERIFY_KEY_PUB as 64 hex characters") {
        g.start({"RELEASES_DIR=" + g.releases().string(), "VERIFY_KEY_PUB=" + hex_key,
                 "REVOCATION_LIST_PATH=" + g.revocations().string()},
                false);
    }
    SECTION("VERIFY_KEY_PUB as a file holding them") {
        test::spit(g.dir / "verify.hex", hex_key + "\n");
        g.start({"RELEASES_DIR=" + g.releases().string(),
                 "VERIFY_KEY_PUB=" + (g.dir / "verify.hex").string(),
                 "REVOCATION_LIST_PATH=" + g.revocations().string()},
                false);
    }
    auto& s = *g.server;
    CHECK(s.log_contains("verify-only listening"));
    CHECK_FALSE(fs::exists(g.dir / "data/signing.key")); // no signing key was needed or made
    CHECK(s.get("/releases/").body["products"] == json{"app", "free"});
    CHECK(s.get(path, second).raw == g.build);
    CHECK(s.get(path, first).body["error"] == "token-revoked");
    CHECK(s.get(path, g.token("app", "2099-12-31", g.other_key())).body["error"] ==
          "invalid-signature");
    CHECK(s.get("/git/x").status == 404); // no repository configured
}

TEST_CASE("gate: our variables win over the seed's, and a bad list stops the start",
          "[e2e][gate]") {
    GateFixture g;
    // The seed's key is the untrusted one; ours (KEYSAT_VERIFY_KEYS) wins.
    g.start({"VERIFY_KEY_PUB=" + (g.dir / "other.pub").string(), "RELEASES_DIR=/nonexistent"});
    std::string path = "/releases/app/1.10.0/" + std::string(test::k_platform);
    CHECK(g.server->get(path, g.token("app")).status == 200);
    CHECK(g.server->get(path, g.token("app", "2099-12-31", g.other_key())).status == 401);
    g.server->stop();
    auto missing = test::run(
        {KEYSAT_SERVE_BIN, "--bind", "127.0.0.1:0", "--data-dir", (g.dir / "data").string()}, "",
        {"KEYSAT_RELEASES_DIR=" + g.releases().string(), "KEYSAT_VERIFY_KEYS=" + g.pub().string(),
         "KEYSAT_REVOCATION_LIST=" + (g.dir / "no-such-list").string()});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Catch::Contains("revocation list"));
    auto bad_url = test::run(
        {KEYSAT_SERVE_BIN, "--bind", "127.0.0.1:0", "--data-dir", (g.dir / "data").string()}, "",
        {"KEYSAT_GIT_REDIRECT_URL=javascript:alert(1)"});
    CHECK(bad_url.exit_code == 2);
    CHECK_THAT(bad_url.err, Catch::Contains("git_redirect_url"));
}

TEST_CASE("gate: cold manifests of 1 GiB builds hash in the background and /healthz keeps "
          "answering",
          "[e2e][gate][security]") {
    test::TempDir dir;
    constexpr int k_versions = 16;
    for (int i = 0; i < k_versions; ++i) {
        auto build = dir / "releases/app" / ("1.0." + std::to_string(i)) / test::k_platform;
        fs::create_directories(build.parent_path());
        test::spit(build, "");
        fs::resize_file(build, std::uintmax_t(1) << 30); // sparse: hashed, not stored
    }
    test::ServerProcess server(dir / "data", {},
                               {"KEYSAT_RELEASES_DIR=" + (dir / "releases").string()});
    std::atomic<bool> done = false;
    std::vector<double> healthz_ms;
    std::thread prober([&] {
        while (!done || healthz_ms.size() < 200) {
            auto t0 = std::chrono::steady_clock::now();
            auto r = server.get("/healthz");
            healthz_ms.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count());
            CHECK(r.status == 200);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    std::vector<test::HttpResult> answers(k_versions);
    std::vector<double> manifest_ms(k_versions);
    {
        std::vector<std::jthread> askers;
        for (int i = 0; i < k_versions; ++i)
            askers.emplace_back([&, i] {
                auto t0 = std::chrono::steady_clock::now();
                answers[i] = server.get("/releases/app/1.0." + std::to_string(i) + "/MANIFEST");
                manifest_ms[i] =
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
            });
    }
    done = true;
    prober.join();
    for (int i = 0; i < k_versions; ++i) {
        INFO("version 1.0." << i << ": " << answers[i].status << " " << answers[i].raw);
        CHECK(manifest_ms[i] < 1000); // answered, not hashed on the request's worker
        if (answers[i].status == 503) {
            CHECK(answers[i].body["error"] == "service_unavailable");
            REQUIRE(answers[i].headers.count("Retry-After") == 1);
            CHECK(std::stoi(answers[i].headers["Retry-After"]) >= 1);
        } else {
            CHECK(answers[i].status == 200);
        }
    }
    std::sort(healthz_ms.begin(), healthz_ms.end());
    double p99 = healthz_ms[healthz_ms.size() * 99 / 100];
    INFO(healthz_ms.size() << " probes, p50 " << healthz_ms[healthz_ms.size() / 2] << " ms, p99 "
                           << p99 << " ms");
    CHECK(p99 < 50.0);
    // Stopping does not wait for the 16 GiB still being hashed.
    auto t0 = std::chrono::steady_clock::now();
    CHECK(server.stop() == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}
