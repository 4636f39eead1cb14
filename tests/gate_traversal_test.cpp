// End-to-end: path traversal and encoding tricks, sent raw over a socket (so that no client
// normalises them), against every gate route, with and without a valid token. Nothing outside
// the releases directory may be served, no answer may show a filesystem path, none may be a 500.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/gate_support.hpp"

using namespace keysat;

namespace {

// Tricks against the tree of GateFixture: secret.txt sits next to releases/, app/1.10.0/evil and
// relative-evil link to it, app/6.6.6 and escape link to directories outside, app/etc-link to
// /etc.
std::vector<std::string> corpus() {
    const std::string v = "/releases/app/1.10.0/";
    std::vector<std::string> c = {
        "/releases/../secret.txt",
        "/releases/app/../../secret.txt",
        "/releases/%2e%2e/secret.txt",
        "/releases/%2e%2e/%2e%2e/secret.txt",
        "/releases/app/%2e%2e/%2e%2e/secret.txt",
        "/releases/%2e%2e/1.10.0/secret.txt",
        "/releases/app/%2e%2e/..%2fsecret.txt",
        "/releases/..%2f..%2fsecret.txt/",
        "/releases/..%2f..%2f/1/secret.txt",
        v + "..%2f..%2f..%2fsecret.txt",
        v + "%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt",
        v + "%2E%2E%2F%2E%2E%2Fsecret.txt",
        v + "..%5c..%5c..%5csecret.txt",
        v + "..\\..\\..\\secret.txt",
        v + "%252e%252e%252fsecret.txt",
        "/releases/%252e%252e/%252e%252e/secret.txt",
        v + "x86_64-unknown-linux-gnu%00",
        v + "x86_64-unknown-linux-gnu%00.minisig",
        v + "evil",
        v + "relative-evil",
        v + "evil.minisig",
        "/releases/app/6.6.6/x86_64-unknown-linux-gnu",
        "/releases/app/6.6.6/x86_64-unknown-linux-gnu.minisig",
        "/releases/app/6.6.6/MANIFEST",
        "/releases/escape/",
        "/releases/escape/releases/MANIFEST",
        "/releases/escape/install.sh",
        "/releases/escape/outside/x86_64-unknown-linux-gnu",
        "/releases/escape/latest/secret.txt",
        "/releases/app/latest/..%2f..%2fsecret.txt",
        "/releases/app/latest/%2e%2e",
        "/releases/%2e%2e/latest/secret.txt",
        "/releases/app/latest/evil",
        v + "%2fetc%2fpasswd",
        v + "/etc/passwd",
        "/releases//etc/passwd",
        "/releases/%2Fetc/passwd",
        v + "%2F%2F%2Fetc%2Fpasswd",
        "/releases/app/etc-link/passwd",
        "/releases/app/etc-link/passwd.minisig",
        "/releases/app/etc-link/MANIFEST",
        "/releases/app/etc-link/",
        "/releases/app/.../secret.txt",
        v + ".hidden",
        v + "%2e",
        "/releases/app/%2e/x86_64-unknown-linux-gnu",
        "/releases/app/./1.10.0/x86_64-unknown-linux-gnu",
        v + "%E2%80%A4%E2%80%A4%2Fsecret.txt",
        v + "%EF%BC%8E%EF%BC%8E%EF%BC%8Fsecret.txt",
        v + "%C0%AE%C0%AE%C0%AFsecret.txt",
        v + std::string(5000, 'a'),
        "/releases/" + std::string(300, 'a') + "/1.10.0/x86_64-unknown-linux-gnu",
        v + std::string(129, 'b'),
        v + "x86_64-unknown-linux-gnu/..",
        v + "x86_64-unknown-linux-gnu/.",
        v + "x86_64-unknown-linux-gnu%2f..%2f..%2f..%2fsecret.txt",
        v + "C:%5cWindows%5cwin.ini",
        v + "%5c%5cserver%5cshare",
        v + "x86_64-unknown-linux-gnu;.minisig",
        v + "~",
        v + "%00",
        "/releases/%00/1.10.0/x",
        "/releases/app%00/",
        v + "secret.txt%00.minisig",
        v + "..;/..;/secret.txt",
        v + "%u002e%u002e%u2215secret.txt",
        v + ".%2e/.%2e/secret.txt",
        v + "%2e./%2e./secret.txt",
        "/releases/app/install.sh/../../secret.txt",
        "/releases/app/1.10.0/MANIFEST/../../../secret.txt",
        "/%2e%2e/%2e%2e/secret.txt",
        v + "secret.txt",
        v + "..%00/secret.txt",
        "http://127.0.0.1/releases/../secret.txt",
        "/releases/app/1.10.0/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/releases/app/1.9.2/..%252f..%252fsecret.txt",
        "/releases/app/1.10.0/x86_64-unknown-linux-gnu%20",
        "/releases/app/1.10.0/x86_64-unknown-linux-gnu%0d%0aX-Injected:%201",
    };
    return c;
}

} // namespace

TEST_CASE("gate traversal: a corpus of tricks never reaches outside the releases directory",
          "[e2e][gate][security]") {
    test::GateFixture g;
    g.start();
    int port = g.server->port();
    auto targets = corpus();
    REQUIRE(targets.size() >= 50);
    std::string bearer = "Authorization: Bearer " + g.token("app") + "\r\n";
    int answered = 0;
    for (const auto& target : targets) {
        for (std::string method : {"GET", "HEAD"}) {
            for (const std::string& headers : {std::string(), bearer}) {
                INFO(method << " " << target << (headers.empty() ? "" : " with a token"));
                auto r = test::raw_get(port, target, headers, method);
                CHECK(r.status != 0);
                CHECK(r.status != 500);
                CHECK(r.status >= 400); // every trick is refused
                CHECK(r.raw.find(test::k_secret) == std::string::npos);
                CHECK(r.raw.find("root:x:0:0") == std::string::npos);
                CHECK(r.raw.find(g.dir.path().string()) == std::string::npos);
                CHECK(r.raw.find("/etc/") == std::string::npos);
                CHECK(r.raw.find("X-Injected") == std::string::npos);
                answered += r.status != 0;
            }
        }
    }
    CHECK(answered == static_cast<int>(targets.size()) * 4);
    // /git/* carries only safe segments into its redirect.
    for (std::string target : {"/git/../../etc/passwd", "/git/%2e%2e/%2e%2e/x",
                               "/git/a%0d%0aX-Injected:%201", "/git/..%5c..%5cx"}) {
        INFO(target);
        auto r = test::raw_get(port, target);
        CHECK(r.status == 307);
        CHECK_THAT(r.head + "\r\n",
                   Catch::Contains("\r\nLocation: https://git.example.com/org/app/\r\n"));
        CHECK(r.raw.find("X-Injected") == std::string::npos);
    }
    // The server is still healthy.
    CHECK(g.server->get("/releases/").status == 200);
}
