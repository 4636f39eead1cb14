// End-to-end: the built keysat-verify binary, its exit codes and JSON output.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;
using test::run;

namespace {

json vectors() {
    return json::parse(test::slurp(test::fixture("keysat/vector.json")));
}

std::string keysat_pem() {
    return vectors()["publicKeyPem"].get<std::string>();
}

} // namespace

TEST_CASE("license: exit 0 valid, 1 not valid, 2 usage", "[e2e]") {
    auto key = vectors()["v2"]["licenseKey"].get<std::string>();
    auto ok = run({test::verify_bin(), "license", "-p", keysat_pem(), "--at", "2025-01-01", key});
    CHECK(ok.exit_code == 0);
    CHECK_THAT(ok.out, Catch::StartsWith("valid license"));

    auto expired =
        run({test::verify_bin(), "license", "-p", keysat_pem(), "--at", "2031-01-01", key});
    CHECK(expired.exit_code == 1);
    CHECK(expired.out.empty());
    CHECK_THAT(expired.err, Catch::Contains("expired"));

    auto wrong_product =
        run({test::verify_bin(), "license", "-p", keysat_pem(), "--at", "2025-01-01",
             "--product-id", "00000000-0000-0000-0000-000000000000", key});
    CHECK(wrong_product.exit_code == 1);

    auto flipped = key;
    flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
    auto bad_sig =
        run({test::verify_bin(), "license", "-p", keysat_pem(), "--at", "2025-01-01", flipped});
    CHECK(bad_sig.exit_code == 1);
    CHECK_THAT(bad_sig.out + bad_sig.err, !Catch::Contains("valid license"));

    CHECK(run({test::verify_bin(), "license", "-p", keysat_pem(), "garbage"}).exit_code == 1);
    CHECK(run({test::verify_bin(), "license", key}).exit_code == 2); // no key
    CHECK(run({test::verify_bin(), "license", "-p", "/no/such.pub", key}).exit_code == 2);
    CHECK(run({test::verify_bin(), "license", "-p", keysat_pem(), "--at", "2025-02-30", key})
              .exit_code == 2);
    CHECK(run({test::verify_bin(), "license", "-p", keysat_pem(), "--product-id", "x", key})
              .exit_code == 2);
}

TEST_CASE("license from stdin with --json, and a keyring", "[e2e]") {
    test::TempDir dir;
    test::spit(dir / "keysat.pem", keysat_pem());
    auto key = vectors()["v1"]["licenseKey"].get<std::string>();
    auto r = run({test::verify_bin(), "license", "-p", test::fixture("minisign/test.pub").string(),
                  "-p", (dir / "keysat.pem").string(), "--json", "-"},
                 key + "\n");
    REQUIRE(r.exit_code == 0);
    auto j = json::parse(r.out);
    CHECK(j["valid"] == true);
    CHECK(j["version"] == 1);
    CHECK(j["license_id"] == "11111111-2222-3333-4444-555555555555");
    CHECK_THAT(j["signed_by"].get<std::string>(), Catch::Contains("key 2 of 2"));
    auto bad = run({test::verify_bin(), "license", "-p",
                    test::fixture("minisign/test.pub").string(), "--json", key});
    CHECK(bad.exit_code == 1);
    auto jb = json::parse(bad.out);
    CHECK(jb["valid"] == false);
    CHECK(jb["error"].get<std::string>().find("signature") != std::string::npos);
}

TEST_CASE("token: issue, verify, expiry, product, revocation", "[e2e]") {
    test::TempDir dir;
    REQUIRE(
        run({test::issue_bin(), "keygen", "--unencrypted", "-o", (dir / "k").string()}).exit_code ==
        0);
    auto t = run({test::issue_bin(), "token", "-s", (dir / "k.key").string(), "--product", "app",
                  "--channel-expiry", "2026-05-01", "-e", "pro", "--version-floor", "1.0.0"});
    REQUIRE(t.exit_code == 0);
    std::string token = t.out.substr(0, t.out.find('\n'));
    // A base64url token may start with '-': "--" ends the options, as for any program.
    auto pub = (dir / "k.pub").string();
    CHECK(run({test::verify_bin(), "token", "-p", pub, "--at", "2026-05-01", "--", token})
              .exit_code == 0);
    CHECK(run({test::verify_bin(), "token", "-p", pub, "--at", "2026-05-02", "--", token})
              .exit_code == 1);
    CHECK(
        run({test::verify_bin(), "token", "-p", pub, "--at", "2026-01-01", "--product", "app", "-"},
            t.out)
            .exit_code == 0);
    CHECK(run({test::verify_bin(), "token", "-p", pub, "--at", "2026-01-01", "--product", "other",
               "--", token})
              .exit_code == 1);
    auto j = json::parse(
        run({test::verify_bin(), "token", "-p", pub, "--at", "2026-01-01", "--json", "--", token})
            .out);
    test::spit(dir / "revoked.txt",
               "# revoked tokens\n" + j["revocation_id"].get<std::string>() + "\n");
    auto revoked = run({test::verify_bin(), "token", "-p", pub, "--at", "2026-01-01", "--revoked",
                        (dir / "revoked.txt").string(), "--", token});
    CHECK(revoked.exit_code == 1);
    CHECK_THAT(revoked.err, Catch::Contains("revoked"));
    auto bad_date = run({test::issue_bin(), "token", "-s", (dir / "k.key").string(), "--product",
                         "app", "--channel-expiry", "2026-02-30"});
    CHECK(bad_date.exit_code == 2);
    CHECK(bad_date.out.empty());
}

TEST_CASE("inspect decodes without trusting and says so", "[e2e]") {
    auto key = vectors()["v2"]["licenseKey"].get<std::string>();
    auto r = run({test::verify_bin(), "inspect", key});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("UNVERIFIED"));
    CHECK_THAT(r.out, !Catch::Contains("valid license"));
    auto j = json::parse(run({test::verify_bin(), "inspect", "--json", key}).out);
    CHECK(j["verified"] == false);
    CHECK(j["kind"] == "license");
    CHECK(j["entitlements"] == json({"pro", "multi-device"}));
    auto sig = json::parse(run({test::verify_bin(), "inspect", "--json",
                                test::fixture("minisign/msg.txt.minisig").string()})
                               .out);
    CHECK(sig["kind"] == "signature");
    CHECK(sig["key_id"] == "4EBD15E228CBD1DC");
    CHECK(run({test::verify_bin(), "inspect", "complete nonsense"}).exit_code == 1);
    // --json, which every subcommand takes, may stand before the subcommand too.
    auto before = run({test::verify_bin(), "--json", "inspect", key});
    REQUIRE(before.exit_code == 0);
    CHECK(json::parse(before.out)["kind"] == "license");
}

TEST_CASE("file: fixtures, tampering, missing signature", "[e2e]") {
    auto pub = test::fixture("minisign/test.pub").string();
    auto ok =
        run({test::verify_bin(), "file", "-p", pub, test::fixture("minisign/msg.txt").string()});
    CHECK(ok.exit_code == 0);
    CHECK_THAT(ok.out, Catch::Contains("Trusted comment: test vector"));
    test::TempDir dir;
    test::spit(dir / "msg.txt", test::slurp(test::fixture("minisign/msg.txt")) + "!");
    auto tampered =
        run({test::verify_bin(), "file", "-p", pub, "-x",
             test::fixture("minisign/msg.txt.minisig").string(), (dir / "msg.txt").string()});
    CHECK(tampered.exit_code == 1);
    auto no_sig = run({test::verify_bin(), "file", "-p", pub, (dir / "msg.txt").string()});
    CHECK(no_sig.exit_code == 2);
    CHECK_THAT(no_sig.err, Catch::Contains("msg.txt.minisig"));
}

TEST_CASE("keysat-verify help lists every subcommand", "[e2e]") {
    auto help = run({test::verify_bin(), "--help"});
    CHECK(help.exit_code == 0);
    for (const char* sub : {"license", "token", "file", "inspect"})
        CHECK_THAT(help.out, Catch::Contains(sub));
}
