// Interop with the real minisign binary, both directions.

#include <catch2/catch.hpp>

#include "support/support.hpp"

using namespace keysat;
using test::run;

TEST_CASE("files signed by keysat-issue verify with minisign -V", "[e2e][minisign]") {
    REQUIRE(test::have_program("minisign"));
    test::TempDir dir;
    REQUIRE(
        run({test::issue_bin(), "keygen", "--unencrypted", "-o", (dir / "k").string()}).exit_code ==
        0);
    test::spit(dir / "release.tar.gz", std::string(300000, 'r'));
    test::spit(dir / "old.bin", "legacy content");
    REQUIRE(run({test::issue_bin(), "sign", "-s", (dir / "k.key").string(),
                 (dir / "release.tar.gz").string()})
                .exit_code == 0);
    REQUIRE(run({test::issue_bin(), "sign", "-s", (dir / "k.key").string(), "--legacy", "-t",
                 "custom comment", (dir / "old.bin").string()})
                .exit_code == 0);
    auto v = run({"minisign", "-V", "-p", (dir / "k.pub").string(), "-m",
                  (dir / "release.tar.gz").string()});
    CHECK(v.exit_code == 0);
    CHECK_THAT(v.out + v.err, Catch::Contains("hashed"));
    auto legacy =
        run({"minisign", "-V", "-p", (dir / "k.pub").string(), "-m", (dir / "old.bin").string()});
    CHECK(legacy.exit_code == 0);
    CHECK_THAT(legacy.out + legacy.err, Catch::Contains("custom comment"));
    // minisign also accepts our key inline as the bare base64 line.
    auto line =
        run({test::issue_bin(), "pubkey", "-s", (dir / "k.key").string(), "--format", "base64"});
    auto inline_key = line.out.substr(0, line.out.find('\n'));
    CHECK(run({"minisign", "-V", "-P", inline_key, "-m", (dir / "release.tar.gz").string()})
              .exit_code == 0);
    // And rejects a tampered file, as we do.
    test::spit(dir / "release.tar.gz", std::string(300000, 'R'));
    CHECK(run({"minisign", "-V", "-p", (dir / "k.pub").string(), "-m",
               (dir / "release.tar.gz").string()})
              .exit_code != 0);
}

TEST_CASE("minisign's keys and signatures work with keysat", "[e2e][minisign]") {
    REQUIRE(test::have_program("minisign"));
    test::TempDir dir;
    auto gen = run(
        {"minisign", "-G", "-W", "-p", (dir / "m.pub").string(), "-s", (dir / "m.key").string()});
    REQUIRE(gen.exit_code == 0);
    test::spit(dir / "a.bin", std::string(123456, 'a'));
    REQUIRE(run({"minisign", "-S", "-s", (dir / "m.key").string(), "-m", (dir / "a.bin").string(),
                 "-t", "from minisign"})
                .exit_code == 0);
    auto ours =
        run({test::verify_bin(), "file", "-p", (dir / "m.pub").string(), (dir / "a.bin").string()});
    CHECK(ours.exit_code == 0);
    CHECK_THAT(ours.out, Catch::Contains("from minisign"));
    // minisign's secret key signs with keysat-issue directly, and minisign verifies the result.
    test::spit(dir / "b.bin", "bbb");
    REQUIRE(
        run({test::issue_bin(), "sign", "-s", (dir / "m.key").string(), (dir / "b.bin").string()})
            .exit_code == 0);
    CHECK(run({"minisign", "-V", "-p", (dir / "m.pub").string(), "-m", (dir / "b.bin").string()})
              .exit_code == 0);
    // A minisign-signed legacy signature (-l, raw file) too.
    REQUIRE(run({"minisign", "-S", "-l", "-s", (dir / "m.key").string(), "-m",
                 (dir / "b.bin").string()})
                .exit_code == 0);
    CHECK(
        run({test::verify_bin(), "file", "-p", (dir / "m.pub").string(), (dir / "b.bin").string()})
            .exit_code == 0);
}

TEST_CASE("an encrypted minisign key imports with its passphrase", "[e2e][minisign][slow]") {
    test::TempDir dir;
    test::spit(dir / "pass", "test\n");
    auto r = run({test::issue_bin(), "import", "--minisign",
                  test::fixture("minisign/encrypted/enc.key").string(), "--source-passphrase-file",
                  (dir / "pass").string(), "--unencrypted", "-o", (dir / "imported").string()});
    REQUIRE(r.exit_code == 0);
    test::spit(dir / "c.bin", "ccc");
    REQUIRE(run({test::issue_bin(), "sign", "-s", (dir / "imported.key").string(),
                 (dir / "c.bin").string()})
                .exit_code == 0);
    CHECK(run({test::verify_bin(), "file", "-p",
               test::fixture("minisign/encrypted/enc.pub").string(), (dir / "c.bin").string()})
              .exit_code == 0);
}

TEST_CASE("sign writes nothing when any FILE cannot be signed", "[e2e]") {
    test::TempDir dir;
    REQUIRE(
        run({test::issue_bin(), "keygen", "--unencrypted", "-o", (dir / "k").string()}).exit_code ==
        0);
    test::spit(dir / "a.bin", "a");
    auto r = run({test::issue_bin(), "sign", "-s", (dir / "k.key").string(),
                  (dir / "a.bin").string(), (dir / "missing.bin").string()});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("missing.bin"));
    CHECK_FALSE(std::filesystem::exists(dir / "a.bin.minisig"));
}
