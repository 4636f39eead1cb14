#include <catch2/catch.hpp>

#include "keysat/db/migrations.hpp"
#include "keysat/store/license_store.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

namespace {

struct Fixture {
    test::TempDir dir;
    db::Database db = test::fresh_database(dir / "keysat.db");

    store::LicenseRow row(const std::string& id, const std::string& key) {
        store::LicenseRow r;
        r.id = id;
        r.product_id = "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0";
        r.issued_at = 1700000000;
        r.license_key = key;
        r.signing_key_id = "0011223344556677";
        r.entitlements_json = R"(["pro"])";
        return r;
    }
};

} // namespace

TEST_CASE("licenses insert once, the same row again is unchanged, another is a conflict",
          "[store]") {
    Fixture f;
    store::SigningKeyStore keys(f.db);
    REQUIRE(keys.ensure("0011223344556677", Bytes(32, 7), 1));
    auto store = store::LicenseStore::open(f.db);
    REQUIRE(store);
    auto a = f.row("aaaaaaaa-0000-4000-8000-000000000001", "LIC1-A");
    a.id_key = "order-1";
    a.expires_at = 1800000000;
    a.buyer_email = "a@example.com";
    CHECK(*store->insert(a, 5) == store::InsertOutcome::inserted);
    CHECK(*store->insert(a, 6) == store::InsertOutcome::unchanged);
    auto other_key = a;
    other_key.license_key = "LIC1-B";
    CHECK(*store->insert(other_key, 7) == store::InsertOutcome::already_issued);
    other_key.id_key = "order-9"; // the id is taken by other content
    CHECK(*store->insert(other_key, 7) == store::InsertOutcome::conflict);
    auto same_id_key = f.row("aaaaaaaa-0000-4000-8000-000000000002", "LIC1-C");
    same_id_key.id_key = "order-1";
    CHECK(*store->insert(same_id_key, 8) == store::InsertOutcome::already_issued);
    CHECK(*store->count() == 1);

    auto found = store->find_by_id_key("order-1");
    REQUIRE(found);
    REQUIRE(*found);
    CHECK((*found)->id == a.id);
    CHECK((*found)->expires_at == 1800000000);
    CHECK((*found)->buyer_email == "a@example.com");
    CHECK((*found)->entitlements_json == R"(["pro"])");
    CHECK_FALSE(*store->find_by_id_key("order-2"));
    CHECK_FALSE(*store->find("nope"));
}

TEST_CASE("a license needs a recorded signing key", "[store]") {
    Fixture f;
    auto store = store::LicenseStore::open(f.db);
    REQUIRE(store);
    auto r = store->insert(f.row("aaaaaaaa-0000-4000-8000-000000000003", "LIC1-D"), 1);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("FOREIGN KEY"));
}

TEST_CASE("signing keys: the same id with another public key is refused", "[store]") {
    Fixture f;
    store::SigningKeyStore keys(f.db);
    REQUIRE(keys.ensure("AAAAAAAAAAAAAAAA", Bytes(32, 1), 1));
    REQUIRE(keys.ensure("AAAAAAAAAAAAAAAA", Bytes(32, 1), 2)); // idempotent
    CHECK_FALSE(keys.ensure("AAAAAAAAAAAAAAAA", Bytes(32, 2), 3));
    CHECK_FALSE(keys.ensure("BBBBBBBBBBBBBBBB", Bytes(32, 1), 3)); // same key, other id
    auto list = keys.list();
    REQUIRE(list);
    REQUIRE(list->size() == 1);
    CHECK(list->front().created_at == 1);
}
