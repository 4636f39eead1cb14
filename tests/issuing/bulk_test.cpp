#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "keysat/issuing/bulk.hpp"
#include "keysat/license/lic1.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

const char* k_product = "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0";

issuing::BulkOptions options(issuing::InputFormat format = issuing::InputFormat::csv) {
    issuing::BulkOptions o;
    o.format = format;
    o.now = 1700000000;
    o.ns = Uuid::parse("11111111-2222-3333-4444-555555555555");
    return o;
}

std::vector<std::string> sign_all(const crypto::SecretKey& key, issuing::BulkInput& in) {
    std::vector<std::string> lines;
    for (auto& item : in.items)
        lines.push_back(*issuing::sign_bulk_item(key, item));
    return lines;
}

} // namespace

TEST_CASE("CSV lines become ledger records with verifiable keys", "[issuing]") {
    std::string csv = std::string("product,email,days,entitlements,trial,seats,fingerprint\n") +
                      k_product + ",a@example.com,30,pro;multi-device,true,3,fp-1\n" + k_product +
                      ",\"b,c\"\"@example.com\",,,false,,\n";
    auto in = issuing::parse_bulk_input(csv, options());
    REQUIRE(in.errors.empty());
    REQUIRE(in.items.size() == 2);
    auto key = crypto::SecretKey::generate();
    auto lines = sign_all(key, in);
    auto first = json::parse(lines[0]);
    CHECK(first["email"] == "a@example.com");
    CHECK(first["expires_at"] == 1700000000 + 30 * 86400);
    CHECK(first["entitlements"] == json({"pro", "multi-device"}));
    CHECK(first["is_trial"] == true);
    CHECK(first["max_machines"] == 3);
    CHECK(first["product_id"] == k_product);
    CHECK(first["key_id"] == crypto::key_id_text(key.key_id()));
    license::Keyring ring{{key.public_key()}};
    license::LicenseCheck check{1700000001, Uuid::parse(k_product), "fp-1"};
    auto v = license::verify_license_key(first["key"].get<std::string>(), ring, check);
    REQUIRE(v);
    CHECK(v->payload.license_id.to_string() == first["license_id"]);
    auto second = json::parse(lines[1]);
    CHECK(second["email"] == "b,c\"@example.com");
    CHECK(second["expires_at"] == 0);
    CHECK(second["max_machines"].is_null());
}

TEST_CASE("JSON lines use the same names", "[issuing]") {
    std::string jsonl =
        std::string(R"({"product":")") + k_product +
        R"(","expires":"2030-01-01","entitlements":["pro"],"trial":false,"seats":2,"id_key":"order-1"})" +
        "\n\n" + R"({"email":"x@example.com","days":7})" + "\n";
    auto o = options(issuing::InputFormat::jsonl);
    o.default_product = Uuid::parse(k_product);
    auto in = issuing::parse_bulk_input(jsonl, o);
    REQUIRE(in.errors.empty());
    REQUIRE(in.items.size() == 2);
    CHECK(in.items[0].line == 1);
    CHECK(in.items[1].line == 3);
    CHECK(in.items[0].record.request.expires_at == 1893456000);
    CHECK(in.items[0].record.id_key == "order-1");
    CHECK(in.items[1].record.request.product_id == *Uuid::parse(k_product));
}

TEST_CASE("bad lines are reported with line number and field", "[issuing]") {
    std::string csv = std::string("product,days,seats,email\n") + k_product + ",30,1,a@b.c\n" +
                      "not-a-uuid,30,1,a@b.c\n" + k_product + ",-4,1,a@b.c\n" + k_product +
                      ",30,zero,a@b.c\n" + k_product + ",30\n" + k_product + ",30,1,nobody\n";
    auto in = issuing::parse_bulk_input(csv, options());
    CHECK(in.items.size() == 1);
    REQUIRE(in.errors.size() == 5);
    CHECK(issuing::describe(in.errors[0]) == "line 3: product: 'not-a-uuid' is not a UUID");
    CHECK(in.errors[1].line == 4);
    CHECK(in.errors[1].field == "days");
    CHECK(in.errors[2].field == "seats");
    CHECK(in.errors[3].line == 6);
    CHECK_THAT(in.errors[3].message, Catch::Contains("header has 4 columns"));
    CHECK(in.errors[4].field == "email");
}

TEST_CASE("unknown columns, both expiries, bad JSON and repeated keys are errors", "[issuing]") {
    auto in = issuing::parse_bulk_input("product,colour\n", options());
    REQUIRE(in.errors.size() == 1);
    CHECK(in.errors[0].field == "colour");
    in = issuing::parse_bulk_input(
        std::string("product,days,expires\n") + k_product + ",3,2030-01-01\n", options());
    REQUIRE(in.errors.size() == 1);
    CHECK(in.errors[0].field == "expires");
    in = issuing::parse_bulk_input("{\"product\":1}\n[1]\n{bad\n",
                                   options(issuing::InputFormat::jsonl));
    CHECK(in.errors.size() == 3);
    in = issuing::parse_bulk_input(std::string("product\n") + k_product + "\n" + k_product + "\n",
                                   options());
    REQUIRE(in.errors.size() == 1);
    CHECK(in.errors[0].line == 3);
    CHECK(in.errors[0].field == "id_key");
    in = issuing::parse_bulk_input(std::string("product,email\n") + k_product + ",\"open\n",
                                   options());
    CHECK(in.errors.size() == 1);
    in = issuing::parse_bulk_input(std::string("product,email\n") + k_product + ",\xff@x\n",
                                   options());
    REQUIRE(in.errors.size() == 1);
    CHECK_THAT(in.errors[0].message, Catch::Contains("UTF-8"));
}

TEST_CASE("with a namespace and a fixed time, bulk output is reproducible", "[issuing]") {
    std::string csv = "product,email\n";
    for (int i = 0; i < 50; ++i)
        csv += std::string(k_product) + ",user" + std::to_string(i) + "@example.com\n";
    auto seed = std::array<std::uint8_t, 32>{1, 2, 3};
    auto key = crypto::SecretKey::from_seed(seed, {9, 9, 9, 9, 9, 9, 9, 9});
    auto a = issuing::parse_bulk_input(csv, options());
    auto b = issuing::parse_bulk_input(csv, options());
    CHECK(sign_all(key, a) == sign_all(key, b));
    auto other_ns = options();
    other_ns.ns = Uuid::parse("99999999-2222-3333-4444-555555555555");
    auto c = issuing::parse_bulk_input(csv, other_ns);
    CHECK(c.items[0].record.request.license_id != a.items[0].record.request.license_id);
    auto random_ids = options();
    random_ids.ns.reset();
    auto d = issuing::parse_bulk_input(csv, random_ids);
    auto e = issuing::parse_bulk_input(csv, random_ids);
    CHECK(d.items[0].record.request.license_id != e.items[0].record.request.license_id);
}

TEST_CASE("check then for_each: errors skip exactly their lines", "[issuing]") {
    std::string csv = std::string("product,email\n") + k_product + ",a@x\n" + k_product + ",bad\n" +
                      k_product + ",a@x\n" + k_product + ",c@x\n";
    auto errors = issuing::check_bulk_input(csv, options());
    REQUIRE(errors.size() == 2); // line 3 (email), line 4 (same id_key as line 2)
    CHECK(errors[0].line == 3);
    CHECK(errors[1].line == 4);
    std::vector<std::size_t> lines;
    issuing::for_each_bulk_item(csv, options(), errors,
                                [&](issuing::BulkItem& item) { lines.push_back(item.line); });
    CHECK(lines == std::vector<std::size_t>{2, 5});
}

TEST_CASE("a line that is not UTF-8 or holds a NUL never reaches the ledger", "[issuing]") {
    // tests/fuzz/regressions/bulk_csv/invalid-utf8-line-as-id-key: without an id_key column the
    // whole line is the idempotency key, cells of unknown columns included, and its bytes made
    // the ledger record invalid JSON.
    auto in = issuing::parse_bulk_input(std::string("product,colour\n") + k_product + ",\xff\n",
                                        options());
    REQUIRE(in.errors.size() == 2);
    CHECK(in.errors[0].field == "colour");
    CHECK(in.errors[1].line == 2);
    CHECK_THAT(in.errors[1].message, Catch::Contains("not valid UTF-8"));
    CHECK(in.items.empty());
    // tests/fuzz/regressions/bulk_jsonl/nul-ends-json-early: nlohmann's parser stops at a NUL,
    // so `{...}<NUL><anything>` was read as the object before it.
    std::string jsonl =
        std::string("{\"product\":\"") + k_product + "\"}" + std::string(1, '\0') + "\xff\n";
    in = issuing::parse_bulk_input(jsonl, options(issuing::InputFormat::jsonl));
    REQUIRE(in.errors.size() == 1);
    CHECK(issuing::describe(in.errors[0]) == "line 1: not a JSON object");
    CHECK(in.items.empty());
}

TEST_CASE("an empty fingerprint in a JSON line is refused before anything is signed", "[issuing]") {
    // tests/fuzz/regressions/bulk_jsonl/empty-fingerprint: the line validated, then signing
    // failed on it.
    issuing::BulkOptions o = options();
    o.format = issuing::InputFormat::jsonl;
    auto in = issuing::parse_bulk_input(
        std::string("{\"product\":\"") + k_product + "\",\"days\":30,\"fingerprint\":\"\"}\n", o);
    REQUIRE(in.errors.size() == 1);
    CHECK(in.errors[0].field == "fingerprint");
    CHECK(in.errors[0].line == 1);
    CHECK(in.items.empty());
}
