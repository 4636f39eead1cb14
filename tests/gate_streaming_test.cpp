// End-to-end: how the gate streams files: Range, HEAD, ETag, Last-Modified, Content-Disposition,
// resumed downloads; and the fail-safe answer without a verification key.

#include <catch2/catch.hpp>

#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "keysat/api/app.hpp"
#include "keysat/gate/routes.hpp"
#include "keysat/util/clock.hpp"
#include "support/gate_support.hpp"

using namespace keysat;
namespace fs = std::filesystem;

namespace {

httplib::Result get(int port, const std::string& path, const httplib::Headers& headers) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10);
    return client.Get(path.c_str(), headers);
}

} // namespace

TEST_CASE("gate streaming: headers, HEAD, ranges and conditional requests", "[e2e][gate]") {
    test::GateFixture g;
    g.start();
    int port = g.server->port();
    std::string path = "/releases/app/1.10.0/" + std::string(test::k_platform);
    std::string size = std::to_string(g.build.size());
    httplib::Headers auth = {{"Authorization", "Bearer " + g.token("app")}};

    auto full = get(port, path, auth);
    REQUIRE(full);
    CHECK(full->status == 200);
    CHECK(full->body == g.build);
    CHECK(full->get_header_value("Content-Length") == size);
    CHECK(full->get_header_value("Content-Type") == "application/octet-stream");
    CHECK(full->get_header_value("Accept-Ranges") == "bytes");
    CHECK(full->get_header_value("Content-Disposition") ==
          "attachment; filename=\"app-1.10.0-x86_64-unknown-linux-gnu\"");
    std::string etag = full->get_header_value("ETag");
    CHECK(etag.size() > 2);
    CHECK(etag.front() == '"');
    std::string last_modified = full->get_header_value("Last-Modified");
    CHECK_THAT(last_modified, Catch::EndsWith(" GMT"));

    // HEAD: the same headers, no body (sent raw: a client would wait for nothing).
    auto head = test::raw_get(port, path,
                              auth.begin()->first + ": " + auth.begin()->second + "\r\n", "HEAD");
    CHECK(head.status == 200);
    CHECK_THAT(head.head, Catch::Contains("Content-Length: " + size));
    CHECK_THAT(head.head, Catch::Contains("ETag: " + etag));
    CHECK(head.body.empty());

    auto with = [&](httplib::Headers extra) {
        extra.insert(auth.begin(), auth.end());
        auto r = get(port, path, extra);
        REQUIRE(r);
        return *r;
    };
    auto mid = with({{"Range", "bytes=1000-1999"}});
    CHECK(mid.status == 206);
    CHECK(mid.body == g.build.substr(1000, 1000));
    CHECK(mid.get_header_value("Content-Range") == "bytes 1000-1999/" + size);
    CHECK(mid.get_header_value("Content-Length") == "1000");
    auto tail = with({{"Range", "bytes=-500"}});
    CHECK(tail.status == 206);
    CHECK(tail.body == g.build.substr(g.build.size() - 500));
    auto open_end = with({{"Range", "bytes=1048570-"}}); // across chunk boundaries
    CHECK(open_end.status == 206);
    CHECK(open_end.body == g.build.substr(1048570));
    auto past = with({{"Range", "bytes=1000-99999999999"}});
    CHECK(past.status == 206);
    CHECK(past.body == g.build.substr(1000));
    auto unsatisfiable = with({{"Range", "bytes=" + size + "-"}});
    CHECK(unsatisfiable.status == 416);
    CHECK(unsatisfiable.get_header_value("Content-Range") == "bytes */" + size);
    CHECK(unsatisfiable.body.find(g.build.substr(0, 16)) == std::string::npos);
    CHECK(nlohmann::json::parse(unsatisfiable.body)["error"] == "range_not_satisfiable");
    // Several ranges: the whole file (allowed by RFC 9110), never a wrong slice.
    auto several = with({{"Range", "bytes=0-1,5-6"}});
    CHECK(several.status == 200);
    CHECK(several.body.size() == g.build.size());
    // Conditional requests.
    CHECK(with({{"If-None-Match", etag}}).status == 304);
    CHECK(with({{"If-None-Match", "W/" + etag}}).status == 304);
    CHECK(with({{"If-None-Match", "\"other\""}}).status == 200);
    CHECK(with({{"If-Modified-Since", last_modified}}).status == 304);
    CHECK(with({{"If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"}}).status == 200);
    CHECK(with({{"If-None-Match", "\"other\""}, {"If-Modified-Since", last_modified}}).status ==
          200);
    CHECK(with({{"Range", "bytes=0-9"}, {"If-Range", etag}}).status == 206);
    CHECK(with({{"Range", "bytes=0-9"}, {"If-Range", "\"stale\""}}).status == 200);
    // HEAD is gated like GET.
    auto anonymous_head = test::raw_get(port, path, "", "HEAD");
    CHECK(anonymous_head.status == 401);
    CHECK(anonymous_head.body.empty());
    // A refused request with a Range header gets its whole JSON error, not a slice of it.
    auto refused = get(port, path, {{"Range", "bytes=0-3"}});
    REQUIRE(refused);
    CHECK(refused->status == 401);
    CHECK(nlohmann::json::parse(refused->body)["error"] == "missing-token");
    // Public signatures stream the same way.
    auto sig = get(port, path + ".minisig", {{"Range", "bytes=0-9"}});
    REQUIRE(sig);
    CHECK(sig->status == 206);
    CHECK(sig->body == "untrusted ");
}

TEST_CASE("gate streaming: a resumed download gets the right bytes", "[e2e][gate]") {
    REQUIRE(test::have_program("curl"));
    test::GateFixture g;
    g.start();
    std::string url = "http://127.0.0.1:" + std::to_string(g.server->port()) +
                      "/releases/app/1.10.0/" + test::k_platform;
    std::string token = g.token("app");
    test::TempDir out;
    // An interrupted download: the first 1,234,567 bytes are on disk.
    test::spit(out / "app", g.build.substr(0, 1234567));
    auto r = test::run({"curl", "-sS", "-f", "-C", "-", "-H", "Authorization: Bearer " + token,
                        "-o", (out / "app").string(), "-w", "%{http_code}", url});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "206");
    CHECK(test::slurp(out / "app") == g.build);
    // curl's own full download, by ?token=.
    auto whole = test::run({"curl", "-sS", "-f", "-o", (out / "whole").string(),
                            url + "?token=" + gate::url_encode(token)});
    CHECK(whole.exit_code == 0);
    CHECK(test::slurp(out / "whole") == g.build);
    // A zero-byte build is a 200 with Content-Length: 0.
    test::spit(g.releases() / "app/1.10.0/empty-target", "");
    auto empty = test::raw_get(g.server->port(), "/releases/app/1.10.0/empty-target",
                               "Authorization: Bearer " + token + "\r\n");
    CHECK(empty.status == 200);
    CHECK_THAT(empty.head, Catch::Contains("Content-Length: 0"));
    CHECK(empty.body.empty());
}

TEST_CASE("gate without a verification key answers 503 and lets nothing through", "[gate][http]") {
    test::TempDir dir;
    fs::create_directories(dir / "releases/app/1.0.0");
    test::spit(dir / "releases/app/1.0.0/x86_64-unknown-linux-gnu", "build");
    SystemClock clock;
    api::App app;
    app.clock = &clock;
    app.db_path = dir / "none.db"; // never opened: the key check comes first
    gate::Gate gate(gate::GateConfig{dir / "releases", "", ""});
    http::ServerOptions options;
    options.threads = 2;
    options.error_body = api::error_for_status;
    http::Server server(options);
    gate::register_gate_routes(server, app, gate);
    auto port = server.bind("127.0.0.1", 0);
    REQUIRE(port);
    std::thread runner([&] { server.run(); });
    auto forged = "Bearer " + std::string(200, 'A');
    auto r =
        get(*port, "/releases/app/1.0.0/x86_64-unknown-linux-gnu", {{"Authorization", forged}});
    auto bare = get(*port, "/releases/app/1.0.0/x86_64-unknown-linux-gnu", {});
    auto listing = get(*port, "/releases/app/", {});
    server.stop();
    runner.join();
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->body.find("build") == std::string::npos);
    REQUIRE(bare);
    CHECK(bare->status == 503);
    REQUIRE(listing);
    CHECK(listing->status == 200); // public routes stay up
}
