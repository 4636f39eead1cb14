// Prices and discount codes: what each kind takes off, when a code applies to a tier, and which
// featured code a storefront shows.

#include <catch2/catch.hpp>

#include "keysat/service/pricing.hpp"

using namespace keysat;
using service::CodeScope;

namespace {

store::ProductRow product() {
    store::ProductRow p;
    p.id = "prod-1";
    p.price_amount = 10000;
    return p;
}

store::PolicyRow policy(const std::string& id) {
    store::PolicyRow p;
    p.id = id;
    p.product_id = "prod-1";
    return p;
}

store::DiscountCodeRow code(const std::string& name, std::int64_t created_at) {
    store::DiscountCodeRow c;
    c.id = "id-" + name;
    c.code = name;
    c.kind = "percent";
    c.value = 1000; // 10 %
    c.featured = true;
    c.created_at = created_at;
    return c;
}

} // namespace

TEST_CASE("pricing: what each kind of code takes off", "[service][pricing]") {
    CHECK(service::discount_for("percent", 2500, 10000) == 2500);
    CHECK(service::discount_for("percent", 3333, 100) == 33);   // rounded down
    CHECK(service::discount_for("percent", 20000, 100) == 100); // at most everything
    CHECK(service::discount_for("percent", -5, 100) == 0);
    CHECK(service::discount_for("percent", 10000, 2'100'000'000'000'000) ==
          2'100'000'000'000'000); // no overflow on 21 M BTC in sats
    CHECK(service::discount_for("fixed_sats", 300, 1000) == 300);
    CHECK(service::discount_for("fixed_sats", 3000, 1000) == 1000);
    CHECK(service::discount_for("set_price", 400, 1000) == 600);
    CHECK(service::discount_for("set_price", 4000, 1000) == 0); // never a surcharge
    CHECK(service::discount_for("free_license", 0, 1000) == 1000);
    CHECK(service::discount_for("mystery", 500, 1000) == 0);
    CHECK(service::discount_for("percent", 5000, 0) == 0);
}

TEST_CASE("pricing: a code's scope, expiry, uses and currency", "[service][pricing]") {
    auto c = code("ANY", 1);
    auto prod = product();
    auto pro = policy("pol-pro");
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::global);
    c.product_ids_json = R"(["prod-1"])";
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::product);
    c.product_ids_json = R"(["prod-2"])";
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::none);
    c.product_ids_json = R"(["prod-1"])";
    c.policy_ids_json = R"(["pol-pro"])";
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::policy);
    CHECK(service::code_scope(c, prod, policy("pol-basic"), 100) == CodeScope::none);
    c.policy_ids_json = "not json";
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::product); // names no tier
    c.expires_at = 100;
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::none); // expired at that second
    CHECK(service::code_scope(c, prod, pro, 99) == CodeScope::product);
    c.expires_at.reset();
    c.max_uses = 2;
    c.uses = 2;
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::none);
    c.uses = 1;
    c.active = false;
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::none);
    c.active = true;
    c.kind = "fixed_sats";
    c.currency = "USD"; // an amount in dollars does not come off a price in sats
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::none);
    c.kind = "percent";
    CHECK(service::code_scope(c, prod, pro, 100) == CodeScope::product);
}

TEST_CASE("pricing: the featured code shown beside a tier", "[service][pricing]") {
    auto prod = product();
    auto pro = policy("pol-pro");
    auto global = code("GLOBAL", 1);
    auto for_product = code("PRODUCT", 5);
    for_product.product_ids_json = R"(["prod-1"])";
    auto for_tier = code("TIER", 9);
    for_tier.policy_ids_json = R"(["pol-pro"])";
    for_tier.value = 5000;
    auto hidden = code("HIDDEN", 0);
    hidden.featured = false;
    hidden.policy_ids_json = R"(["pol-pro"])";

    auto best =
        service::featured_discount({global, for_product, for_tier, hidden}, prod, pro, 10000, 100);
    REQUIRE(best);
    CHECK(best->code.code == "TIER"); // the tier's own code beats broader ones
    CHECK(best->discount == 5000);
    CHECK(best->price == 5000);
    best = service::featured_discount({global, for_product}, prod, pro, 10000, 100);
    REQUIRE(best);
    CHECK(best->code.code == "PRODUCT");
    auto older = code("OLDER", 0);
    best = service::featured_discount({global, older}, prod, pro, 10000, 100);
    REQUIRE(best);
    CHECK(best->code.code == "OLDER"); // ties go to the oldest
    CHECK_FALSE(service::featured_discount({hidden}, prod, pro, 10000, 100));
    CHECK_FALSE(service::featured_discount({}, prod, pro, 10000, 100));
}
