// Keysat's response shapes as a contract, walked against the real keysat-serve: every route a
// Keysat SDK calls, and the admin routes Keysat's StartOS actions and operator scripts call. Each
// table below was written from Keysat's own handlers and models (keysat-xyz/keysat,
// licensing-service/src/api/*.rs, models.rs, db/repo.rs) and the SDKs' response parsing
// (keysat-client-python online.py, keysat-client-ts online.ts, keysat-client-go online.go,
// keysat-client-rust online.rs). A field Keysat sends must be there with Keysat's JSON type: an
// integer where Keysat's field is i64 (never null), null only where Keysat's is an Option. Our
// own extra fields are welcome and not checked here.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

// Type words: int, str, bool, arr, obj; "arr<str>" an array of strings; a trailing '?' means
// Keysat's field is an Option: null is allowed (so is absence, where the field is marked '~').
struct Field {
    const char* name;
    const char* type;
};
using Shape = std::vector<Field>;

bool has_type(const json& v, std::string type) {
    if (type.ends_with("?")) {
        if (v.is_null())
            return true;
        type.pop_back();
    }
    if (type == "int")
        return v.is_number_integer();
    if (type == "str")
        return v.is_string();
    if (type == "bool")
        return v.is_boolean();
    if (type == "obj")
        return v.is_object();
    if (type == "arr")
        return v.is_array();
    if (type == "arr<str>")
        return v.is_array() &&
               std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
    FAIL("unknown type word " << type);
    return false;
}

// Checks every field of `shape` on `object`; `where` names the route in failures.
void check_shape(const json& object, const Shape& shape, const std::string& where) {
    INFO(where << ": " << object.dump().substr(0, 600));
    REQUIRE(object.is_object());
    for (const auto& f : shape) {
        std::string type = f.type;
        bool may_be_absent = type.starts_with("~");
        if (may_be_absent)
            type.erase(0, 1);
        INFO("field " << f.name << " (" << type << ")");
        if (!object.contains(f.name)) {
            CHECK(may_be_absent);
            continue;
        }
        CHECK(has_type(object[f.name], type));
    }
}

void check_each(const json& list, const Shape& shape, const std::string& where) {
    REQUIRE(list.is_array());
    REQUIRE_FALSE(list.empty()); // an empty list would prove nothing
    for (const auto& item : list)
        check_shape(item, shape, where);
}

// Keysat's error envelope (error.rs AppError).
const Shape k_error = {{"ok", "bool"}, {"error", "str"}, {"message", "str"}};

// models.rs Product (repo.rs row_to_product).
const Shape k_product = {{"id", "str"},
                         {"slug", "str"},
                         {"name", "str"},
                         {"description", "str"},
                         {"price_sats", "int"},
                         {"price_currency", "str"},
                         {"price_value", "int"},
                         {"active", "bool"},
                         {"metadata", "obj"},
                         {"entitlements_catalog", "arr?"},
                         {"merchant_profile_id", "str?"},
                         {"created_at", "str"},
                         {"updated_at", "str"}};

// policies.rs list_public_policies: the product block and each tier.
const Shape k_storefront_product = {{"slug", "str"},
                                    {"name", "str"},
                                    {"description", "str"},
                                    {"base_price_sats", "int"},
                                    {"entitlements_catalog", "arr"}};
const Shape k_storefront_policy = {{"slug", "str"},
                                   {"name", "str"},
                                   {"description", "str"},
                                   {"price_sats", "int"},
                                   {"duration_seconds", "int"},
                                   {"max_machines", "int"},
                                   {"is_trial", "bool"},
                                   {"entitlements", "arr<str>"},
                                   {"marketing_bullets", "arr"},
                                   {"marketing_bullets_position", "str"},
                                   {"hidden_entitlements", "arr"},
                                   {"highlighted", "bool"},
                                   {"is_recurring", "bool"},
                                   {"renewal_period_days", "int"},
                                   {"trial_days", "int"},
                                   {"featured_discount", "obj?"}};
const Shape k_featured_discount = {{"code", "str"},
                                   {"kind", "str"},
                                   {"amount", "int"},
                                   {"description", "str"},
                                   {"expires_at", "str?"},
                                   {"max_uses", "int?"},
                                   {"used_count", "int"},
                                   {"remaining_uses", "int?"},
                                   {"discount_applied_sats", "int"},
                                   {"discounted_price_sats", "int"}};

// validate.rs ValidateResp: `ok` always, the rest absent when None.
const Shape k_validate_ok = {{"ok", "bool"},
                             {"license_id", "str"},
                             {"product_id", "str"},
                             {"product_slug", "str"},
                             {"issued_at", "str"},
                             {"expires_at", "~str?"},
                             {"entitlements", "arr<str>"},
                             {"status", "str"},
                             {"machine_id", "str"},
                             {"max_machines", "int"},
                             {"is_trial", "~bool?"},
                             {"grace_until", "~str?"},
                             {"in_grace_period", "~bool?"}};
const Shape k_validate_refused = {{"ok", "bool"}, {"reason", "str"}};

// machines.rs ActivateResp: all five keys always present.
const Shape k_activate = {{"ok", "bool"},
                          {"machine_id", "str?"},
                          {"active_count", "int"},
                          {"max_machines", "int"},
                          {"reason", "str?"}};

// models.rs Policy.
const Shape k_policy = {{"id", "str"},
                        {"product_id", "str"},
                        {"name", "str"},
                        {"slug", "str"},
                        {"duration_seconds", "int"},
                        {"grace_seconds", "int"},
                        {"max_machines", "int"},
                        {"is_trial", "bool"},
                        {"price_sats_override", "int?"},
                        {"entitlements", "arr<str>"},
                        {"metadata", "obj"},
                        {"active", "bool"},
                        {"tip_recipient", "str?"},
                        {"tip_pct_bps", "int"},
                        {"tip_label", "str?"},
                        {"public", "bool"},
                        {"is_recurring", "bool"},
                        {"renewal_period_days", "int"},
                        {"grace_period_days", "int"},
                        {"trial_days", "int"},
                        {"tier_rank", "int?"},
                        {"archived_at", "str?"},
                        {"created_at", "str"},
                        {"updated_at", "str"}};

// models.rs License.
const Shape k_license = {{"id", "str"},
                         {"product_id", "str"},
                         {"status", "str"},
                         {"issued_at", "str"},
                         {"invoice_id", "str?"},
                         {"policy_id", "str?"},
                         {"expires_at", "str?"},
                         {"buyer_email", "str?"},
                         {"grace_seconds", "int"},
                         {"max_machines", "int"},
                         {"entitlements", "arr<str>"},
                         {"is_trial", "bool"},
                         {"fingerprint", "str?"},
                         {"bound_identity", "str?"},
                         {"revoked_at", "str?"},
                         {"revocation_reason", "str?"},
                         {"metadata", "obj"},
                         {"suspended_at", "str?"},
                         {"suspension_reason", "str?"},
                         {"nostr_npub", "str?"}};

// admin.rs IssueLicenseResp.
const Shape k_issued = {{"license_id", "str"}, {"product_id", "str"},  {"license_key", "str"},
                        {"issued_at", "str"},  {"expires_at", "str?"}, {"entitlements", "arr<str>"},
                        {"is_trial", "bool"},  {"max_machines", "int"}};

// repo.rs MachineEnriched.
const Shape k_machine = {{"id", "str"},
                         {"license_id", "str"},
                         {"product_id", "str"},
                         {"product_slug", "str"},
                         {"product_name", "str"},
                         {"buyer_email", "str?"},
                         {"license_status", "str"},
                         {"hostname", "str?"},
                         {"platform", "str?"},
                         {"ip_last_seen", "str?"},
                         {"activated_at", "str"},
                         {"last_heartbeat_at", "str?"},
                         {"deactivated_at", "str?"},
                         {"deactivation_reason", "str?"},
                         {"active", "bool"}};

// models.rs DiscountCode and DiscountRedemption.
const Shape k_code = {{"id", "str"},
                      {"code", "str"},
                      {"kind", "str"},
                      {"description", "str"},
                      {"amount", "int"},
                      {"max_uses", "int?"},
                      {"used_count", "int"},
                      {"expires_at", "str?"},
                      {"applies_to_product_id", "str?"},
                      {"applies_to_policy_id", "str?"},
                      {"applies_to_policy_ids", "arr<str>"},
                      {"referrer_label", "str?"},
                      {"active", "bool"},
                      {"featured", "bool"},
                      {"created_at", "str"},
                      {"updated_at", "str"}};

// models.rs WebhookEndpoint (the secret only on creation) and WebhookDelivery.
const Shape k_endpoint = {{"id", "str"},        {"url", "str"},         {"event_types", "arr<str>"},
                          {"active", "bool"},   {"description", "str"}, {"created_at", "str"},
                          {"updated_at", "str"}};
const Shape k_delivery = {{"id", "str"},
                          {"endpoint_id", "str"},
                          {"event_type", "str"},
                          {"payload_json", "str"},
                          {"attempt_count", "int"},
                          {"next_attempt_at", "str?"},
                          {"last_status_code", "int?"},
                          {"last_error", "str?"},
                          {"delivered_at", "str?"},
                          {"created_at", "str"}};

// models.rs AuditEntry.
const Shape k_audit = {{"id", "int"},          {"actor_kind", "str"},   {"actor_hash", "str?"},
                       {"action", "str"},      {"target_kind", "str?"}, {"target_id", "str?"},
                       {"request_ip", "str?"}, {"user_agent", "str?"},  {"details", "obj"},
                       {"occurred_at", "str"}};

// api_keys.rs ApiKeyListEntry.
const Shape k_api_key = {{"id", "str"},         {"label", "str"},         {"role", "str"},
                         {"created_at", "str"}, {"last_used_at", "str?"}, {"revoked_at", "str?"}};

struct Shop {
    test::TempDir dir;
    // Webhook endpoints on a closed local port: allowed to loopback.
    test::ServerProcess server{dir / "data", {}, {"KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"}};
    std::string key = server.admin_key();

    test::HttpResult call(const std::string& method, const std::string& path,
                          const json& body = nullptr, bool admin = true) {
        std::map<std::string, std::string> headers;
        if (admin)
            headers["Authorization"] = "Bearer " + key;
        return server.request(method, path, body.is_null() ? "" : body.dump(), headers);
    }
    json ok(const std::string& method, const std::string& path, const json& body = nullptr,
            bool admin = true) {
        auto r = call(method, path, body, admin);
        INFO(method << " " << path << " -> " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }
    json public_post(const std::string& path, const json& body) {
        return ok("POST", path, body, false);
    }
};

} // namespace

TEST_CASE("contract: the routes Keysat's SDKs call answer in Keysat's shapes",
          "[e2e][serve][contract]") {
    Shop shop;
    auto product = shop.ok(
        "POST", "/v1/admin/products",
        {{"slug", "app"},
         {"name", "App"},
         {"description", "An app"},
         {"price_sats", 50000},
         {"entitlements_catalog", {{{"slug", "pro"}, {"name", "Pro"}, {"description", "Pro"}}}}});
    check_shape(product, k_product, "POST /v1/admin/products");
    // A tier with none of the optional fields set, and one with all of them.
    shop.ok("POST", "/v1/admin/policies",
            {{"product_slug", "app"}, {"slug", "basic"}, {"name", "Basic"}, {"max_machines", 1}});
    shop.ok("POST", "/v1/admin/policies",
            {{"product_slug", "app"},
             {"slug", "pro"},
             {"name", "Pro"},
             {"duration_seconds", 31536000},
             {"entitlements", {"pro"}},
             {"is_recurring", true},
             {"renewal_period_days", 365},
             {"trial_days", 14},
             {"metadata",
              {{"description", "For teams"},
               {"highlight", true},
               {"marketing_bullets", {"Priority support"}},
               {"marketing_bullets_position", "below"}}}});
    shop.ok("POST", "/v1/admin/discount-codes",
            {{"code", "LAUNCH"}, {"kind", "percent"}, {"amount", 2500}, {"featured", true}});

    SECTION("public key, service info, products") {
        check_shape(shop.ok("GET", "/v1/pubkey", nullptr, false),
                    {{"algorithm", "str"}, {"public_key_pem", "str"}}, "GET /v1/pubkey");
        check_shape(
            shop.ok("GET", "/v1/issuer/public-key", nullptr, false),
            {{"public_key_pem", "str"}, {"key_algorithm", "str"}, {"key_format_version", "int"}},
            "GET /v1/issuer/public-key");
        check_shape(shop.ok("GET", "/", nullptr, false),
                    {{"service", "str"},
                     {"version", "str"},
                     {"operator", "str?"},
                     {"public_key_pem", "str"},
                     {"key_algorithm", "str"},
                     {"key_format_version", "int"}},
                    "GET /");
        check_shape(shop.ok("GET", "/healthz", nullptr, false), {{"ok", "bool"}}, "GET /healthz");
        check_each(shop.ok("GET", "/v1/products", nullptr, false)["products"], k_product,
                   "GET /v1/products");
        check_shape(shop.ok("GET", "/v1/products/app", nullptr, false), k_product,
                    "GET /v1/products/app");
        auto missing = shop.call("GET", "/v1/products/nope", nullptr, false);
        CHECK(missing.status == 404);
        check_shape(missing.body, k_error, "GET /v1/products/nope");
    }

    SECTION("the storefront's tiers: integers never null, every Keysat field") {
        auto body = shop.ok("GET", "/v1/products/app/policies", nullptr, false);
        check_shape(body["product"], k_storefront_product, "policies: product");
        auto policies = body["policies"];
        check_each(policies, k_storefront_policy, "policies: tier");
        REQUIRE(policies.size() == 2);
        for (const auto& p : policies) {
            INFO(p.dump());
            // The Python SDK calls int() on each of these; the Rust SDK needs integers.
            for (const char* n : {"price_sats", "duration_seconds", "max_machines",
                                  "renewal_period_days", "trial_days"})
                CHECK(p[n].is_number_integer());
            // The global featured code applies to every tier, with its numbers worked out.
            REQUIRE(p["featured_discount"].is_object());
            check_shape(p["featured_discount"], k_featured_discount, "featured_discount");
            CHECK(p["featured_discount"]["discount_applied_sats"] == 12500);
            CHECK(p["featured_discount"]["discounted_price_sats"] == 37500);
        }
        const auto& basic = policies[0]["slug"] == "basic" ? policies[0] : policies[1];
        const auto& pro = policies[0]["slug"] == "pro" ? policies[0] : policies[1];
        CHECK(basic["trial_days"] == 0); // Keysat: 0 when there is no trial, never null
        CHECK(basic["renewal_period_days"] == 0);
        CHECK(basic["description"] == "");
        CHECK(basic["highlighted"] == false);
        CHECK(basic["marketing_bullets_position"] == "above");
        CHECK(pro["trial_days"] == 14);
        CHECK(pro["renewal_period_days"] == 365);
        CHECK(pro["description"] == "For teams");
        CHECK(pro["highlighted"] == true);
        CHECK(pro["marketing_bullets"] == json({"Priority support"}));
        CHECK(pro["marketing_bullets_position"] == "below");
        auto missing = shop.call("GET", "/v1/products/nope/policies", nullptr, false);
        CHECK(missing.status == 404);
        check_shape(missing.body, k_error, "policies of a missing product");
    }

    SECTION("validate and the machine routes, granted and refused") {
        auto issued =
            shop.ok("POST", "/v1/admin/licenses",
                    {{"product_slug", "app"}, {"max_machines", 1}, {"entitlements", {"pro"}}});
        check_shape(issued, k_issued, "POST /v1/admin/licenses");
        std::string key = issued["license_key"];
        auto ok = shop.public_post(
            "/v1/validate", {{"key", key}, {"product_slug", "app"}, {"fingerprint", "fp-1"}});
        CHECK(ok["ok"] == true);
        check_shape(ok, k_validate_ok, "validate: granted");
        auto crowded = shop.public_post(
            "/v1/validate", {{"key", key}, {"product_slug", "app"}, {"fingerprint", "fp-2"}});
        CHECK(crowded["reason"] == "too_many_machines");
        check_shape(crowded,
                    {{"ok", "bool"},
                     {"reason", "str"},
                     {"license_id", "str"},
                     {"product_id", "str"},
                     {"max_machines", "int"}},
                    "validate: too_many_machines");
        auto wrong = shop.public_post("/v1/validate", {{"key", key}, {"product_slug", "other"}});
        CHECK(wrong["ok"] == false);
        check_shape(wrong, k_validate_refused, "validate: product_mismatch");
        auto garbage = shop.public_post("/v1/validate", {{"key", "LIC1-NOPE"}});
        CHECK(garbage["ok"] == false);
        check_shape(garbage, k_validate_refused, "validate: bad_format");
        // An SDK passing an empty key gets Keysat's 200 bad_format, not an HTTP error.
        auto empty = shop.public_post("/v1/validate", {{"key", ""}});
        CHECK(empty["reason"] == "bad_format");
        CHECK(shop.call("POST", "/v1/validate", json::object(), false).status == 400);

        auto act =
            shop.public_post("/v1/machines/activate", {{"key", key}, {"fingerprint", "fp-1"}});
        check_shape(act, k_activate, "activate: the machine already active");
        auto full =
            shop.public_post("/v1/machines/activate", {{"key", key}, {"fingerprint", "fp-3"}});
        CHECK(full["ok"] == false);
        check_shape(full, k_activate, "activate: no seat left");
        check_shape(
            shop.public_post("/v1/machines/heartbeat", {{"key", key}, {"fingerprint", "fp-1"}}),
            {{"ok", "bool"}, {"machine_id", "str"}}, "heartbeat");
        check_shape(
            shop.public_post("/v1/machines/heartbeat", {{"key", key}, {"fingerprint", "fp-9"}}),
            k_validate_refused, "heartbeat: not activated");
        check_shape(
            shop.public_post("/v1/machines/deactivate", {{"key", key}, {"fingerprint", "fp-1"}}),
            {{"ok", "bool"}}, "deactivate");
        check_shape(
            shop.public_post("/v1/machines/deactivate", {{"key", key}, {"fingerprint", "fp-1"}}),
            k_validate_refused, "deactivate: not found");
    }
}

TEST_CASE("contract: the admin routes Keysat's StartOS actions and scripts call",
          "[e2e][serve][contract]") {
    Shop shop;
    auto product = shop.ok("POST", "/v1/admin/products",
                           {{"slug", "app"}, {"name", "App"}, {"price_sats", 1000}});
    std::string product_id = product["id"];
    auto policy = shop.ok(
        "POST", "/v1/admin/policies",
        {{"product_slug", "app"}, {"slug", "pro"}, {"name", "Pro"}, {"metadata", json::object()}});
    check_shape(policy, k_policy, "POST /v1/admin/policies");
    std::string policy_id = policy["id"];
    check_each(shop.ok("GET", "/v1/admin/policies?product_slug=app")["policies"], k_policy,
               "GET /v1/admin/policies");
    for (const char* flag : {"active", "public"}) {
        auto r = shop.ok("PATCH", "/v1/admin/policies/" + policy_id + "/" + flag, {{flag, true}});
        CHECK(r["ok"] == true);
    }
    auto archived =
        shop.ok("PATCH", "/v1/admin/policies/" + policy_id + "/archived", {{"archived", true}});
    CHECK(archived["ok"] == true);
    CHECK(archived["archived"] == true);
    CHECK(archived["archived_at"].is_string());
    CHECK(shop.ok("PATCH", "/v1/admin/policies/" + policy_id + "/archived",
                  {{"archived", false}})["archived_at"]
              .is_null());
    CHECK(shop.ok("PATCH", "/v1/admin/products/" + product_id + "/active",
                  {{"active", true}})["ok"] == true);

    // Licenses: issue, search (with the product and tier names), list by Keysat's product_id.
    auto issued = shop.ok(
        "POST", "/v1/admin/licenses",
        {{"product_slug", "app"}, {"policy_slug", "pro"}, {"buyer_email", "buyer@example.com"}});
    std::string license_id = issued["license_id"];
    auto found = shop.ok("GET", "/v1/admin/licenses/search?buyer_email=buyer@example.com");
    check_each(found["licenses"], k_license, "GET /v1/admin/licenses/search");
    CHECK(found["licenses"][0]["product_slug"] == "app");
    CHECK(found["licenses"][0]["policy_slug"] == "pro");
    CHECK(found["licenses"][0]["policy_name"] == "Pro");
    CHECK(shop.ok("GET", "/v1/admin/licenses/search?nostr_npub=npub1x")["licenses"].empty());
    check_each(shop.ok("GET", "/v1/admin/licenses?product_id=" + product_id)["licenses"], k_license,
               "GET /v1/admin/licenses?product_id");
    CHECK(shop.ok("POST", "/v1/admin/licenses/" + license_id + "/suspend",
                  {{"reason", "chargeback"}})["ok"] == true);
    auto suspended = shop.ok("GET", "/v1/admin/licenses?product_id=" + product_id)["licenses"][0];
    CHECK(suspended["suspension_reason"] == "chargeback");
    CHECK(shop.ok("POST", "/v1/admin/licenses/" + license_id + "/unsuspend")["ok"] == true);

    // Machines, across licenses.
    shop.public_post("/v1/machines/activate",
                     {{"key", issued["license_key"]}, {"fingerprint", "fp-1"}, {"hostname", "h"}});
    check_each(shop.ok("GET", "/v1/admin/machines")["machines"], k_machine,
               "GET /v1/admin/machines");

    // Discount codes and their redemptions.
    auto code = shop.ok("POST", "/v1/admin/discount-codes",
                        {{"code", "TEAM"},
                         {"kind", "fixed_sats"},
                         {"amount", 100},
                         {"product_slug", "app"},
                         {"policy_slugs", {"pro"}},
                         {"max_uses", 3}});
    check_shape(code, k_code, "POST /v1/admin/discount-codes");
    CHECK(code["applies_to_policy_id"] == policy_id);
    std::string code_id = code["id"];
    check_each(shop.ok("GET", "/v1/admin/discount-codes")["codes"], k_code,
               "GET /v1/admin/discount-codes");
    auto one = shop.ok("GET", "/v1/admin/discount-codes/" + code_id);
    check_shape(one["code"], k_code, "GET /v1/admin/discount-codes/:id");
    CHECK(one["redemptions"].is_array());
    CHECK(shop.ok("PATCH", "/v1/admin/discount-codes/" + code_id + "/active",
                  {{"active", false}})["ok"] == true);

    // Webhook endpoints (Keysat's event_types and wrapper) and their deliveries.
    auto endpoint = shop.ok("POST", "/v1/admin/webhook-endpoints",
                            {{"url", "http://127.0.0.1:9/hook"},
                             {"event_types", {"license.issued"}},
                             {"description", "CRM"}});
    check_shape(endpoint, k_endpoint, "POST /v1/admin/webhook-endpoints");
    CHECK(endpoint["secret"].is_string());
    CHECK(endpoint["event_types"] == json({"license.issued"}));
    CHECK(endpoint["description"] == "CRM");
    auto all_events = shop.ok("POST", "/v1/admin/webhook-endpoints",
                              {{"url", "http://127.0.0.1:9/all"}, {"event_types", {"*"}}});
    CHECK(all_events["event_types"] == json({"*"}));
    auto endpoints = shop.ok("GET", "/v1/admin/webhook-endpoints")["endpoints"];
    check_each(endpoints, k_endpoint, "GET /v1/admin/webhook-endpoints");
    for (const auto& e : endpoints)
        CHECK_FALSE(e.contains("secret"));
    shop.ok("POST", "/v1/admin/licenses", {{"product_slug", "app"}}); // queues deliveries
    auto deliveries = shop.ok("GET", "/v1/admin/webhook-deliveries?endpoint_id=" +
                                         endpoint["id"].get<std::string>())["deliveries"];
    check_each(deliveries, k_delivery, "GET /v1/admin/webhook-deliveries");
    for (const auto& d : deliveries)
        CHECK(d["endpoint_id"] == endpoint["id"]);

    // Audit, settings, API keys.
    check_each(shop.ok("GET", "/v1/admin/audit?limit=50")["entries"], k_audit,
               "GET /v1/admin/audit");
    auto named = shop.ok("POST", "/v1/admin/settings/operator-name", {{"name", "Acme"}});
    CHECK(named["ok"] == true);
    CHECK(named["operator_name"] == "Acme");
    auto operator_name = shop.ok("GET", "/v1/admin/settings/operator-name");
    check_shape(operator_name,
                {{"stored", "str?"}, {"effective", "str?"}, {"fallback_env", "str?"}},
                "GET /v1/admin/settings/operator-name");
    CHECK(operator_name["stored"] == "Acme");
    auto api_key = shop.ok("POST", "/v1/admin/api-keys", {{"label", "ci"}, {"role", "support"}});
    check_shape(
        api_key,
        {{"id", "str"}, {"label", "str"}, {"role", "str"}, {"created_at", "str"}, {"token", "str"}},
        "POST /v1/admin/api-keys");
    auto keys = shop.ok("GET", "/v1/admin/api-keys")["api_keys"];
    check_each(keys, k_api_key, "GET /v1/admin/api-keys");
    CHECK(keys[0]["role"] == "support");

    // Deletes answer with what they deleted; errors carry the envelope.
    auto gone_code = shop.call("DELETE", "/v1/admin/discount-codes/" + code_id);
    CHECK(gone_code.body["deleted"] == "TEAM");
    auto spare = shop.ok("POST", "/v1/admin/policies",
                         {{"product_slug", "app"}, {"slug", "spare"}, {"name", "Spare"}});
    auto gone = shop.ok("DELETE", "/v1/admin/policies/" + spare["id"].get<std::string>());
    check_shape(gone, {{"ok", "bool"}, {"deleted", "str"}}, "DELETE /v1/admin/policies/:id");
    CHECK(gone["deleted"] == "spare");
    auto refused = shop.call("DELETE", "/v1/admin/products/" + product_id);
    CHECK(refused.status == 409);
    check_shape(refused.body, k_error, "DELETE of a product in use");
    auto unauthorized = shop.call("GET", "/v1/admin/audit", nullptr, false);
    CHECK(unauthorized.status == 401);
    check_shape(unauthorized.body, k_error, "no credentials");
}
