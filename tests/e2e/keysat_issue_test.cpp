// End-to-end: the built keysat-issue binary with real files.

#include <catch2/catch.hpp>

#include <algorithm>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "support/support.hpp"

using namespace keysat;
using test::run;

namespace {

const char* k_product = "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0";
const std::vector<std::string> k_pass_env{"KEYSAT_PASSPHRASE=hunter2"};

// Generates NAME.key/NAME.pub in `dir` with the cheap KDF.
void keygen(const test::TempDir& dir, const std::string& name = "k") {
    auto r = run({test::issue_bin(), "keygen", "--kdf", "interactive", "-o", (dir / name).string()},
                 "", k_pass_env);
    REQUIRE(r.exit_code == 0);
}

} // namespace

TEST_CASE("keygen writes a 0600 secret key and refuses to overwrite", "[e2e]") {
    test::TempDir dir;
    keygen(dir);
    struct stat st {};
    REQUIRE(::stat((dir / "k.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(test::slurp(dir / "k.pub").starts_with("untrusted comment: minisign public key "));
    auto before = test::slurp(dir / "k.key");
    auto again =
        run({test::issue_bin(), "keygen", "--kdf", "interactive", "-o", (dir / "k").string()}, "",
            k_pass_env);
    CHECK(again.exit_code == 2);
    CHECK_THAT(again.err, Catch::Contains("already exists"));
    CHECK(test::slurp(dir / "k.key") == before);
    auto forced = run({test::issue_bin(), "keygen", "--kdf", "interactive", "--force", "-o",
                       (dir / "k").string()},
                      "", k_pass_env);
    CHECK(forced.exit_code == 0);
    CHECK(test::slurp(dir / "k.key") != before);
}

TEST_CASE("an encrypted key without any passphrase source fails cleanly", "[e2e]") {
    test::TempDir dir;
    keygen(dir);
    // No KEYSAT_PASSPHRASE, no --passphrase-file, no terminal (the child runs in a new session).
    auto r = run({"env", "-u", "KEYSAT_PASSPHRASE", test::issue_bin(), "license", "-s",
                  (dir / "k.key").string(), "--product", k_product});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("passphrase"));
    CHECK(r.out.empty());
    auto none = run({"env", "-u", "KEYSAT_PASSPHRASE", test::issue_bin(), "keygen", "-o",
                     (dir / "new").string()});
    CHECK(none.exit_code == 2);
    CHECK_FALSE(std::filesystem::exists(dir / "new.key"));
    test::spit(dir / "wrong", "not-hunter2\n");
    auto wrong = run({"env", "-u", "KEYSAT_PASSPHRASE", test::issue_bin(), "license", "-s",
                      (dir / "k.key").string(), "--passphrase-file", (dir / "wrong").string(),
                      "--product", k_product});
    CHECK(wrong.exit_code == 2);
    CHECK_THAT(wrong.err, Catch::Contains("wrong passphrase"));
    test::spit(dir / "right", "hunter2\n");
    auto right = run({"env", "-u", "KEYSAT_PASSPHRASE", test::issue_bin(), "license", "-s",
                      (dir / "k.key").string(), "--passphrase-file", (dir / "right").string(),
                      "--product", k_product});
    CHECK(right.exit_code == 0);
    // --passphrase-file, which every subcommand takes, may also stand before the subcommand.
    auto before = run({"env", "-u", "KEYSAT_PASSPHRASE", test::issue_bin(), "--passphrase-file",
                       (dir / "right").string(), "license", "-s", (dir / "k.key").string(),
                       "--product", k_product});
    CHECK(before.exit_code == 0);
    CHECK_THAT(before.out, Catch::StartsWith("LIC1-"));
    auto before_wrong =
        run({"env", "-u", "KEYSAT_PASSPHRASE", test::issue_bin(), "--passphrase-file",
             (dir / "wrong").string(), "pubkey", "-s", (dir / "k.key").string()});
    CHECK(before_wrong.exit_code == 2);
    CHECK_THAT(before_wrong.err, Catch::Contains("wrong passphrase"));
}

TEST_CASE("license, ledger and pubkey forms", "[e2e]") {
    test::TempDir dir;
    keygen(dir);
    auto r = run({test::issue_bin(),
                  "license",
                  "-s",
                  (dir / "k.key").string(),
                  "--product",
                  k_product,
                  "--days",
                  "30",
                  "-e",
                  "pro",
                  "-e",
                  "team",
                  "--trial",
                  "--seats",
                  "5",
                  "--email",
                  "a@example.com",
                  "--fingerprint",
                  "fp",
                  "--now",
                  "1700000000",
                  "--ledger",
                  (dir / "ledger.jsonl").string()},
                 "", k_pass_env);
    REQUIRE(r.exit_code == 0);
    std::string key = r.out.substr(0, r.out.find('\n'));
    CHECK(key.starts_with("LIC1-"));
    auto rec = nlohmann::json::parse(test::slurp(dir / "ledger.jsonl"));
    CHECK(rec["key"] == key);
    CHECK(rec["max_machines"] == 5);
    CHECK(rec["email"] == "a@example.com");
    CHECK(rec["is_trial"] == true);
    CHECK(rec["expires_at"] == 1700000000 + 30 * 86400);
    for (const char* form : {"minisign", "pem", "hex", "base64"}) {
        auto p =
            run({test::issue_bin(), "pubkey", "-s", (dir / "k.key").string(), "--format", form}, "",
                k_pass_env);
        REQUIRE(p.exit_code == 0);
        auto v = run({test::verify_bin(), "license", "-p", p.out, "--at", "2023-11-20", key});
        CHECK(v.exit_code == 0);
    }
    auto bad =
        run({test::issue_bin(), "license", "-s", (dir / "k.key").string(), "--product", "nope"}, "",
            k_pass_env);
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("--product: 'nope' is not a UUID"));
    auto both = run({test::issue_bin(), "license", "-s", (dir / "k.key").string(), "--product",
                     k_product, "--days", "3", "--expires", "2030-01-01"},
                    "", k_pass_env);
    CHECK(both.exit_code == 2);
}

TEST_CASE("import from PKCS#8 (openssl), seed hex and minisign keys", "[e2e]") {
    test::TempDir dir;
    if (test::have_program("openssl")) {
        auto gen = run(
            {"openssl", "genpkey", "-algorithm", "ed25519", "-out", (dir / "srv.pem").string()});
        REQUIRE(gen.exit_code == 0);
        auto pub = run({"openssl", "pkey", "-in", (dir / "srv.pem").string(), "-pubout"});
        REQUIRE(pub.exit_code == 0);
        auto imp = run({test::issue_bin(), "import", "--pkcs8", (dir / "srv.pem").string(),
                        "--unencrypted", "-o", (dir / "srv").string()});
        REQUIRE(imp.exit_code == 0);
        auto lic = run({test::issue_bin(), "license", "-s", (dir / "srv.key").string(), "--product",
                        k_product});
        REQUIRE(lic.exit_code == 0);
        // The SPKI PEM that openssl derives verifies what the imported key signs.
        CHECK(run({test::verify_bin(), "license", "-p", pub.out, lic.out}).exit_code == 0);
    }
    auto seed = run({test::issue_bin(), "import", "--seed-hex", "-", "--unencrypted", "-o",
                     (dir / "seed").string()},
                    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n");
    REQUIRE(seed.exit_code == 0);
    auto hex =
        run({test::issue_bin(), "pubkey", "-s", (dir / "seed.key").string(), "--format", "hex"});
    CHECK(hex.out == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n");
    auto mini =
        run({test::issue_bin(), "import", "--minisign", test::fixture("minisign/test.key").string(),
             "--kdf", "interactive", "-o", (dir / "mini").string()},
            "", k_pass_env);
    REQUIRE(mini.exit_code == 0);
    CHECK(test::slurp(dir / "mini.pub").substr(test::slurp(dir / "mini.pub").find('\n')) ==
          test::slurp(test::fixture("minisign/test.pub"))
              .substr(test::slurp(test::fixture("minisign/test.pub")).find('\n')));
    auto two = run({test::issue_bin(), "import", "--seed-hex", "00", "--pkcs8", "x", "-o",
                    (dir / "two").string()});
    CHECK(two.exit_code == 2);
}

TEST_CASE("bulk: reproducible byte for byte, all-or-nothing, --keep-going", "[e2e]") {
    test::TempDir dir;
    keygen(dir);
    std::string csv = "product,email,days,entitlements\n";
    for (int i = 0; i < 200; ++i)
        csv += std::string(k_product) + ",u" + std::to_string(i) + "@example.com,365,pro;team\n";
    std::vector<std::string> args{
        test::issue_bin(), "bulk",       "-s",          (dir / "k.key").string(),
        "--now",           "1700000000", "--namespace", k_product};
    auto a = run(args, csv, k_pass_env);
    auto b = run(args, csv, k_pass_env);
    REQUIRE(a.exit_code == 0);
    CHECK(a.out == b.out);
    CHECK(std::count(a.out.begin(), a.out.end(), '\n') == 200);
    // The number of signing threads changes nothing in the output.
    for (const char* jobs : {"1", "3"}) {
        auto threaded = args;
        threaded.insert(threaded.end(), {"--jobs", jobs});
        CHECK(run(threaded, csv, k_pass_env).out == a.out);
    }
    auto pub = dir / "k.pub";
    auto first = nlohmann::json::parse(a.out.substr(0, a.out.find('\n')));
    CHECK(run({test::verify_bin(), "license", "-p", pub.string(), "--at", "2023-12-01",
               first["key"].get<std::string>()})
              .exit_code == 0);

    std::string bad = csv + std::string(k_product) + ",x@example.com,forever,pro\n";
    auto c = run(args, bad, k_pass_env);
    CHECK(c.exit_code == 1);
    CHECK(c.out.empty());
    CHECK_THAT(c.err, Catch::Contains("line 202: days:"));
    auto keep = args;
    keep.push_back("--keep-going");
    auto d = run(keep, bad, k_pass_env);
    CHECK(d.exit_code == 1);
    CHECK(d.out == a.out);

    auto jsonl = run({test::issue_bin(), "bulk", "-s", (dir / "k.key").string(), "--input-format",
                      "jsonl", "--product", k_product, "--now", "1700000000"},
                     "{\"email\":\"j@example.com\",\"days\":10}\n", k_pass_env);
    CHECK(jsonl.exit_code == 0);
    CHECK(nlohmann::json::parse(jsonl.out)["expires_at"] == 1700000000 + 10 * 86400);
}

TEST_CASE("help, version and usage errors", "[e2e]") {
    auto help = run({test::issue_bin(), "--help"});
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Catch::Contains("bulk"));
    CHECK(run({test::issue_bin(), "--version"}).exit_code == 0);
    CHECK(run({test::issue_bin()}).exit_code == 2);
    CHECK(run({test::issue_bin(), "frobnicate"}).exit_code == 2);
    CHECK(run({test::issue_bin(), "license", "--product", k_product}).exit_code == 2);
    auto missing =
        run({test::issue_bin(), "license", "-s", "/nonexistent.key", "--product", k_product});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Catch::Contains("/nonexistent.key"));
}
