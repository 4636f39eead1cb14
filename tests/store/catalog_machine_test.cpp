#include <catch2/catch.hpp>

#include "keysat/store/catalog_store.hpp"
#include "keysat/store/license_store.hpp"
#include "keysat/store/machine_store.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

namespace {

store::ProductRow product(const std::string& id, const std::string& slug, bool active = true) {
    return store::ProductRow{id, slug, "Name " + slug, "", 1000, "SAT", R"(["pro"])", active,
                             1,  1,    std::nullopt};
}

store::PolicyRow policy(const std::string& id, const std::string& product_id,
                        const std::string& slug, std::int64_t rank) {
    store::PolicyRow p;
    p.id = id;
    p.product_id = product_id;
    p.slug = slug;
    p.name = slug;
    p.tier_rank = rank;
    p.duration_days = 365;
    p.max_machines = 2;
    return p;
}

} // namespace

TEST_CASE("products and policies: create, find, update, list in order", "[store]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    store::CatalogStore catalog(db);
    REQUIRE(catalog.create_product(product("p1", "zeta")));
    REQUIRE(catalog.create_product(product("p2", "alpha", false)));
    auto dup = catalog.create_product(product("p3", "zeta"));
    REQUIRE_FALSE(dup);
    CHECK_THAT(dup.error().message, Catch::Contains("zeta"));
    CHECK((*catalog.list_products(false)).size() == 2);
    auto active = *catalog.list_products(true);
    REQUIRE(active.size() == 1);
    CHECK(active[0].slug == "zeta");
    auto changed = product("p2", "alpha", true);
    changed.price_amount = 2500;
    CHECK(*catalog.update_product(changed));
    CHECK((*catalog.find_product_by_slug("alpha"))->price_amount == 2500);
    CHECK_FALSE(*catalog.update_product(product("nope", "x")));
    CHECK_FALSE(*catalog.find_product("nope"));

    REQUIRE(catalog.create_policy(policy("t2", "p1", "pro", 2)));
    REQUIRE(catalog.create_policy(policy("t1", "p1", "basic", 1)));
    auto hidden = policy("t3", "p1", "secret", 0);
    hidden.is_public = false;
    REQUIRE(catalog.create_policy(hidden));
    CHECK_FALSE(catalog.create_policy(policy("t4", "missing-product", "x", 0))); // foreign key
    auto all = *catalog.list_policies("p1", false);
    REQUIRE(all.size() == 3);
    CHECK(all[0].slug == "secret");
    auto shop = *catalog.list_policies("p1", true);
    REQUIRE(shop.size() == 2);
    CHECK(shop[0].slug == "basic");
    CHECK(shop[1].slug == "pro");
    auto pro = *catalog.find_policy_by_slug("p1", "pro");
    REQUIRE(pro);
    CHECK(pro->duration_days == 365);
    pro->archived = true;
    CHECK(*catalog.update_policy(*pro));
    CHECK((*catalog.list_policies("p1", true)).size() == 1);
}

TEST_CASE("machines: one active row per fingerprint, heartbeat, deactivate", "[store]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    store::SigningKeyStore keys(db);
    REQUIRE(keys.ensure("0011223344556677", Bytes(32, 1), 1));
    auto licenses = store::LicenseStore::open(db);
    store::LicenseRow lic;
    lic.id = "lic-1";
    lic.product_id = "p";
    lic.license_key = "LIC1-X";
    lic.signing_key_id = "0011223344556677";
    REQUIRE(licenses->insert(lic, 1));
    store::MachineStore machines(db);
    store::MachineRow m{"m1",    "lic-1", "fp",         "fp-hash",    "laptop",
                        "linux", 10,      std::nullopt, std::nullopt, std::nullopt};
    REQUIRE(machines.activate(m));
    auto again = m;
    again.id = "m2";
    CHECK_FALSE(machines.activate(again)); // the same machine is already active
    CHECK(*machines.count_active("lic-1") == 1);
    CHECK(*machines.heartbeat("m1", 20));
    CHECK((*machines.find_active("lic-1", "fp-hash"))->last_heartbeat_at == 20);
    CHECK(*machines.deactivate("m1", 30, std::string("replaced")));
    CHECK_FALSE(*machines.deactivate("m1", 31, std::nullopt));
    CHECK_FALSE(*machines.heartbeat("m1", 32));
    CHECK(*machines.count_active("lic-1") == 0);
    REQUIRE(machines.activate(again)); // after deactivation the machine may come back
    auto list = *machines.list("lic-1");
    REQUIRE(list.size() == 2);
    CHECK(list[0].id == "m2"); // active first
    CHECK(list[1].deactivation_reason == "replaced");
    auto orphan = m;
    orphan.id = "m3";
    orphan.license_id = "no-such-license";
    CHECK_FALSE(machines.activate(orphan));
}

TEST_CASE("license status changes follow their rules", "[store]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    REQUIRE(store::SigningKeyStore(db).ensure("0011223344556677", Bytes(32, 1), 1));
    auto licenses = store::LicenseStore::open(db);
    for (const char* id : {"a", "b"}) {
        store::LicenseRow r;
        r.id = id;
        r.product_id = "p";
        r.license_key = std::string("LIC1-") + id;
        r.signing_key_id = "0011223344556677";
        r.buyer_email = "Buyer@Example.com";
        r.issued_at = id[0] == 'a' ? 1 : 2;
        REQUIRE(licenses->insert(r, 1));
    }
    CHECK_FALSE(*licenses->unsuspend("a", 2));
    CHECK(*licenses->suspend("a", "chargeback", 2));
    CHECK_FALSE(*licenses->suspend("a", "again", 3));
    CHECK((*licenses->find("a"))->status == "suspended");
    CHECK(*licenses->unsuspend("a", 4));
    CHECK(*licenses->revoke("a", "refund", 5));
    CHECK_FALSE(*licenses->revoke("a", "twice", 6));
    CHECK_FALSE(*licenses->unsuspend("a", 7));
    auto revoked = *licenses->find("a");
    revoked->expires_at = 99;
    CHECK_FALSE(*licenses->reissue(*revoked, 8)); // a revoked license keeps its terms
    auto other = *licenses->find("b");
    other->expires_at = 99;
    other->license_key = "LIC1-new";
    other->grace_days = 3;
    CHECK(*licenses->reissue(*other, 8));
    CHECK((*licenses->find("b"))->expires_at == 99);
    CHECK((*licenses->find("b"))->license_key == "LIC1-new");
    CHECK((*licenses->find("b"))->grace_days == 3);
    auto found = *licenses->search(std::string("buyer@example.com"), std::nullopt, 10);
    REQUIRE(found.size() == 2);
    CHECK(found[0].id == "b"); // newest first
    CHECK((*licenses->search(std::nullopt, std::string("inv"), 10)).empty());
}
