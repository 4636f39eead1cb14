#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "keysat/db/migrations.hpp"
#include "keysat/issuing/bulk.hpp"
#include "keysat/service/ledger.hpp"
#include "keysat/service/recorder.hpp"
#include "keysat/store/catalog_store.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

const char* k_product = "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0";

struct Fixture {
    test::TempDir dir;
    crypto::SecretKey key = crypto::SecretKey::generate();
    license::Keyring ring{{key.public_key()}};
    db::Database db = test::fresh_database(dir / "keysat.db");
    bool product_made = make_product(k_product);

    bool make_product(const std::string& id) {
        store::ProductRow p;
        p.id = id;
        p.slug = "app-" + id.substr(0, 8);
        p.name = "App";
        REQUIRE(store::CatalogStore(db).create_product(p));
        return true;
    }

    // A ledger of `n` licenses signed by `signer`.
    std::string ledger(const crypto::SecretKey& signer, int n,
                       const std::string& product = k_product) {
        std::string csv = "product,email,days\n";
        for (int i = 0; i < n; ++i)
            csv += product + ",u" + std::to_string(i) + "@example.com,30\n";
        issuing::BulkOptions o;
        o.now = 1700000000;
        o.ns = Uuid::parse(k_product);
        auto in = issuing::parse_bulk_input(csv, o);
        REQUIRE(in.errors.empty());
        std::string out;
        for (auto& item : in.items)
            out += *issuing::sign_bulk_item(signer, item) + "\n";
        return out;
    }

    std::int64_t licenses() { return *db.query_int("SELECT count(*) FROM licenses"); }
};

} // namespace

TEST_CASE("a ledger imports once, and importing it again changes nothing", "[service]") {
    Fixture f;
    auto text = f.ledger(f.key, 5);
    auto r = service::import_ledger(f.db, text, f.ring, service::KeepGoing::no, 10);
    REQUIRE(r);
    CHECK(r->records == 5);
    CHECK(r->inserted == 5);
    CHECK(r->problems.empty());
    auto again = service::import_ledger(f.db, text, license::Keyring{}, service::KeepGoing::no, 11);
    REQUIRE(again); // the signing key is now recorded and trusted
    CHECK(again->inserted == 0);
    CHECK(again->unchanged == 5);
    CHECK(f.licenses() == 5);
    CHECK(*f.db.query_int("SELECT count(*) FROM ledger_imports") == 2);
    CHECK(*f.db.query_texts("SELECT DISTINCT source FROM licenses") ==
          std::vector<std::string>{"ledger"});
}

TEST_CASE("records with untrusted or forged signatures are rejected", "[service]") {
    Fixture f;
    auto stranger = crypto::SecretKey::generate();
    auto good = f.ledger(f.key, 3);
    auto foreign = f.ledger(stranger, 1);
    // A record whose unsigned copy of a signed field was edited: longer expiry.
    auto forged_record = json::parse(good.substr(0, good.find('\n')));
    forged_record["expires_at"] = forged_record["expires_at"].get<std::int64_t>() + 86400 * 365;
    for (const std::string& bad : {foreign, forged_record.dump() + "\n", std::string("{not json\n"),
                                   std::string("{\"key\":\"LIC1-XX\",\"key_id\":\"00\"}\n")}) {
        auto r = service::import_ledger(f.db, good + bad, f.ring, service::KeepGoing::no, 1);
        REQUIRE(r);
        CHECK(r->problems.size() == 1);
        CHECK(r->problems[0].line == 4);
        CHECK(f.licenses() == 0); // nothing imported
    }
    auto keep = service::import_ledger(f.db, good + foreign, f.ring, service::KeepGoing::yes, 1);
    REQUIRE(keep);
    CHECK(keep->inserted == 3);
    CHECK_THAT(keep->problems[0].message, Catch::Contains("signature"));
    CHECK(f.licenses() == 3);
}

TEST_CASE("a record of a product the database does not have is refused, naming its line",
          "[service][security]") {
    Fixture f;
    const std::string unknown = "0b8e3f2a-1111-4222-8333-944455556666";
    auto r = service::import_ledger(f.db, f.ledger(f.key, 2) + f.ledger(f.key, 1, unknown), f.ring,
                                    service::KeepGoing::no, 1);
    REQUIRE(r);
    REQUIRE(r->problems.size() == 1);
    CHECK(r->problems[0].line == 3);
    CHECK_THAT(r->problems[0].message, Catch::Contains(unknown));
    CHECK(f.licenses() == 0);
    f.make_product(unknown); // once the product exists, the same ledger imports
    auto again = service::import_ledger(f.db, f.ledger(f.key, 2) + f.ledger(f.key, 1, unknown),
                                        f.ring, service::KeepGoing::no, 2);
    REQUIRE(again);
    CHECK(again->problem_count == 0);
    CHECK(f.licenses() == 3);
}

TEST_CASE("a ledger grants only entitlements in its product's catalog", "[service][security]") {
    Fixture f;
    REQUIRE(f.db.exec(std::string("UPDATE products SET entitlements = "
                                  "'[{\"slug\":\"basic\",\"name\":\"Basic\"}]' WHERE id = '") +
                      k_product + "'"));
    // One record grants a catalog slug, the other one the catalog does not list.
    std::string csv = std::string("product,email,days,entitlements\n") + k_product +
                      ",a@example.com,30,basic\n" + k_product + ",b@example.com,30,pro\n";
    issuing::BulkOptions o;
    o.now = 1700000000;
    o.ns = Uuid::parse(k_product);
    auto in = issuing::parse_bulk_input(csv, o);
    REQUIRE(in.errors.empty());
    std::string text;
    for (auto& item : in.items)
        text += *issuing::sign_bulk_item(f.key, item) + "\n";
    auto r = service::import_ledger(f.db, text, f.ring, service::KeepGoing::yes, 1);
    REQUIRE(r);
    CHECK(r->inserted == 1);
    REQUIRE(r->problems.size() == 1);
    CHECK(r->problems[0].line == 2);
    CHECK_THAT(r->problems[0].message, Catch::Contains("'pro'"));
}

TEST_CASE("a ledger of junk reports the first 100 problems and their count", "[service]") {
    Fixture f;
    std::string junk;
    for (int i = 0; i < 5000; ++i)
        junk += "{}\n";
    auto r = service::import_ledger(f.db, junk, f.ring, service::KeepGoing::yes, 1);
    REQUIRE(r);
    CHECK(r->records == 5000);
    CHECK(r->problem_count == 5000);
    REQUIRE(r->problems.size() == 100);
    CHECK(r->problems.front().line == 1);
    CHECK(r->problems.back().line == 100);
}

TEST_CASE("the recorder writes batches atomically and finds licenses by idempotency key",
          "[service]") {
    Fixture f;
    auto recorder = service::IssueRecorder::open(f.dir / "keysat.db", f.key, 5);
    REQUIRE(recorder);
    issuing::LedgerRecord rec;
    rec.request.product_id = *Uuid::parse(k_product);
    rec.request.license_id = *Uuid::parse("aaaaaaaa-0000-4000-8000-000000000001");
    rec.request.issued_at = 1700000000;
    rec.key = "LIC1-ONE";
    rec.key_id = crypto::key_id_text(f.key.key_id());
    rec.id_key = "k1";
    auto twin = rec; // same id_key, another license: recorded once, the twin reported
    twin.request.license_id = *Uuid::parse("aaaaaaaa-0000-4000-8000-000000000002");
    twin.key = "LIC1-TWO";
    std::vector<issuing::LedgerRecord> batch{rec, twin};
    auto at = [&](std::size_t i) -> const issuing::LedgerRecord& { return batch[i]; };
    auto r = recorder->record(batch.size(), at, 6);
    REQUIRE(r);
    CHECK(*r == std::vector<store::InsertOutcome>{store::InsertOutcome::inserted,
                                                  store::InsertOutcome::already_issued});
    auto again = recorder->record(1, at, 7);
    REQUIRE(again);
    CHECK(again->front() == store::InsertOutcome::unchanged);
    // A license id taken by other content fails the whole batch.
    auto stolen = rec;
    stolen.id_key = "k2";
    stolen.key = "LIC1-THREE";
    issuing::LedgerRecord fresh = rec;
    fresh.request.license_id = *Uuid::parse("aaaaaaaa-0000-4000-8000-000000000003");
    fresh.id_key = "k3";
    fresh.key = "LIC1-FOUR";
    std::vector<issuing::LedgerRecord> bad{fresh, stolen};
    CHECK_FALSE(recorder->record(
        2, [&](std::size_t i) -> const issuing::LedgerRecord& { return bad[i]; }, 8));
    CHECK_FALSE(*recorder->existing("k3")); // rolled back with the batch
    auto found = recorder->existing("k1");
    REQUIRE(found);
    REQUIRE(*found);
    CHECK((*found)->license_key == "LIC1-ONE");
    CHECK((*found)->source == "issue");
}

TEST_CASE("recorded keys leave out retired signing keys", "[service]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    REQUIRE(db.exec("INSERT INTO signing_keys (key_id, public_key, created_at, retired_at) VALUES "
                    "('A', zeroblob(32), 1, NULL), ('B', randomblob(32), 1, 5)"));
    auto ring = service::recorded_keys(db);
    REQUIRE(ring);
    REQUIRE(ring->keys.size() == 1);
    CHECK(ring->keys[0].bytes == std::array<std::uint8_t, 32>{}); // A, the zero key
}
