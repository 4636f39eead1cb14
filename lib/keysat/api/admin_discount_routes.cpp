// Admin routes for discount and referral codes: create, list, one code with its redemptions,
// edit, enable or disable, and delete (refused once a code has been redeemed).

#include <algorithm>

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/api/fields.hpp"
#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/commerce_store.hpp"
#include "keysat/util/date.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

constexpr const char* k_id = "([0-9a-f-]{36})";

json code_json(const store::DiscountCodeRow& c) {
    json products = json_array_or_empty(c.product_ids_json);
    json policies = json_array_or_empty(c.policy_ids_json);
    return {{"id", c.id},
            {"code", c.code},
            {"kind", c.kind},
            {"amount", c.value},
            {"discount_currency", c.currency},
            {"max_uses", c.max_uses ? json(*c.max_uses) : json(nullptr)},
            {"uses", c.uses},
            {"used_count", c.uses},
            {"expires_at", c.expires_at ? json(format_timestamp(*c.expires_at)) : json(nullptr)},
            {"applies_to_product_id", products.empty() ? json(nullptr) : products.front()},
            {"applies_to_policy_ids", policies},
            // Keysat's single-tier field: the tier when the code names exactly one.
            {"applies_to_policy_id", policies.size() == 1 ? policies.front() : json(nullptr)},
            {"referrer_label", c.referrer_label ? json(*c.referrer_label) : json(nullptr)},
            {"description", c.description},
            {"featured", c.featured},
            {"active", c.active},
            {"created_at", format_timestamp(c.created_at)},
            {"updated_at", format_timestamp(c.updated_at)}};
}

// A redemption in Keysat's words: its status pending (a reserved use), redeemed or cancelled.
json redemption_json(const store::RedemptionDetail& d) {
    const auto& u = d.redemption;
    std::string status = u.status == "reserved" ? "pending"
                         : u.status == "used"   ? "redeemed"
                                                : "cancelled";
    return {{"id", u.id},
            {"code_id", u.discount_code_id},
            {"invoice_id", u.invoice_id},
            {"license_id", d.license_id ? json(*d.license_id) : json(nullptr)},
            {"status", status},
            {"base_price_sats", d.base_amount},
            {"discount_applied_sats", d.discount_amount},
            {"final_price_sats", d.amount},
            {"created_at", format_timestamp(u.created_at)},
            {"updated_at", format_timestamp(u.updated_at)}};
}

bool valid_code(const std::string& s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

// Resolves policy slugs of `product_id` to ids; an error message when one is unknown.
std::string policy_ids(store::CatalogStore& catalog, const std::string& product_id,
                       const std::vector<std::string>& slugs, json& out) {
    out = json::array();
    for (const auto& slug : slugs) {
        auto p = catalog.find_policy_by_slug(product_id, slug);
        if (!p || !*p)
            return "policy '" + slug + "' of the code's product does not exist";
        out.push_back((*p)->id);
    }
    return "";
}

// Applies the editable fields present in `body` to `c` (kind and code are fixed at creation);
// an error message (with its code, bad_request or not_found) when one is bad.
Refusal code_fields(const json& body, store::DiscountCodeRow& c, store::CatalogStore& catalog,
                    std::int64_t now, bool creating) {
    auto bad = [](std::string m) { return Refusal{"bad_request", std::move(m)}; };
    Fields f(body);
    auto amount = f.integer("amount", 0, 2100000000000000, creating && c.kind != "free_license");
    auto currency = f.text("discount_currency", false, 3);
    auto max_uses = f.integer("max_uses", 1, 1000000000);
    auto expires = f.text("expires_at", false, 64);
    auto description = f.text("description", false, 2000);
    auto referrer = f.text("referrer_label", false, 200);
    auto featured = f.boolean("featured");
    auto slugs = f.strings("policy_slugs");
    auto slug = f.text("policy_slug", false, 64);
    if (!f.error().empty())
        return bad(f.error());
    if (amount) {
        if (c.kind == "percent" && *amount > 10000)
            return bad("bad request: a percent code's 'amount' is in basis points, 0 to 10000");
        c.value = *amount;
    }
    if (currency) {
        std::string cur = *currency;
        std::transform(cur.begin(), cur.end(), cur.begin(), ::toupper);
        if (cur != "SAT" && cur != "USD" && cur != "EUR")
            return bad("bad request: 'discount_currency' must be SAT, USD or EUR");
        c.currency = cur;
    }
    if (body.contains("max_uses")) { // null clears the cap
        if (max_uses && *max_uses < c.uses)
            return bad(
                fmt::format("bad request: 'max_uses' is below the {} use(s) already made", c.uses));
        c.max_uses = max_uses;
    }
    if (body.contains("expires_at")) {
        if (expires) {
            auto t = parse_timestamp(*expires);
            if (!t)
                return bad("bad request: 'expires_at' must be an RFC 3339 time");
            if (creating && *t <= now)
                return bad("bad request: 'expires_at' is in the past");
            c.expires_at = t;
        } else {
            c.expires_at.reset();
        }
    }
    if (description)
        c.description = *description;
    if (body.contains("referrer_label"))
        c.referrer_label = referrer;
    if (featured)
        c.featured = *featured;
    if (slugs || slug) {
        json products = json_array_or_empty(c.product_ids_json);
        if (products.empty() || !products.front().is_string())
            return bad("bad request: policy scope needs a code scoped to a product "
                       "('product_slug')");
        json ids;
        auto missing = policy_ids(catalog, products.front().get<std::string>(),
                                  slugs ? *slugs : std::vector<std::string>{*slug}, ids);
        if (!missing.empty())
            return {"not_found", "not found: " + missing};
        c.policy_ids_json = ids.dump();
    }
    return {};
}

Outcome create_code(Mutation& m) {
    auto code = m.fields.text("code", true, 64);
    auto kind = m.fields.text("kind", true, 20);
    auto product_slug = m.fields.text("product_slug", false, 64);
    if (auto bad = m.bad_fields())
        return *bad;
    store::DiscountCodeRow c;
    c.code = *code;
    std::transform(c.code.begin(), c.code.end(), c.code.begin(), ::toupper);
    if (!valid_code(c.code))
        return error_response("bad_request",
                              "bad request: 'code' may hold A-Z, 0-9, - and _ (1 to 64)");
    if (*kind != "percent" && *kind != "fixed_sats" && *kind != "set_price" &&
        *kind != "free_license")
        return error_response("bad_request", "bad request: 'kind' must be percent, fixed_sats, "
                                             "set_price or free_license");
    c.kind = *kind;
    store::CatalogStore catalog(m.db);
    if (product_slug) {
        http::Response error;
        auto product =
            found(catalog.find_product_by_slug(*product_slug), "product", *product_slug, error);
        if (!product)
            return error;
        c.product_ids_json = json::array({product->id}).dump();
    }
    if (auto refused = code_fields(m.body, c, catalog, m.now, true); !refused.message.empty())
        return error_response(refused.code, refused.message);
    store::CommerceStore commerce(m.db);
    auto taken = commerce.find_code(c.code);
    if (taken && *taken)
        return error_response("conflict", "conflict: code " + c.code + " exists");
    c.id = crypto::uuid_v4().to_string();
    c.created_at = c.updated_at = m.now;
    if (!commerce.create_code(c))
        return error_response("internal_error", "could not create the code");
    return Mutated{code_json(c),
                   "discount_code.create",
                   c.id,
                   {{"code", c.code}, {"kind", c.kind}, {"amount", c.value}}};
}

// PATCH of a discount code: `change` edits it.
template <typename F, typename Out = json (*)(const store::DiscountCodeRow&)>
Outcome change_code(Mutation& m, const std::string& action, F change, Out out = code_json) {
    store::CommerceStore commerce(m.db);
    return change_row(
        m, "discount code", action,
        [&](const std::string& i) { return commerce.find_code_by_id(i); }, change,
        [&](const store::DiscountCodeRow& c) { return commerce.update_code(c); }, out);
}

} // namespace

void register_discount_admin_routes(http::Server& s, const App& app) {
    s.route("GET", "/v1/admin/discount-codes",
            admin(app, "discount_codes:read",
                  [](db::Database& db, const Actor&, const http::Request& r) {
                      auto list = store::CommerceStore(db).list_codes();
                      if (!list)
                          return error_response("internal_error", "discount codes");
                      bool inactive = r.query_value("include_inactive").value_or("") == "true";
                      json out = json::array();
                      for (const auto& c : *list)
                          if (c.active || inactive)
                              out.push_back(code_json(c));
                      return json_response(200, {{"codes", out}});
                  }));
    s.route("POST", "/v1/admin/discount-codes",
            mutation(app, "discount_codes:write", Body::json, create_code));
    s.route("GET", fmt::format("/v1/admin/discount-codes/{}", k_id),
            admin(app, "discount_codes:read",
                  [](db::Database& db, const Actor&, const http::Request& r) {
                      store::CommerceStore commerce(db);
                      http::Response error;
                      auto c = found(commerce.find_code_by_id(r.params[0]), "discount code",
                                     r.params[0], error);
                      if (!c)
                          return error;
                      auto uses = commerce.redemption_details(r.params[0]);
                      if (!uses)
                          return error_response("internal_error", "discount codes");
                      json list = json::array();
                      for (const auto& d : *uses)
                          list.push_back(redemption_json(d));
                      return json_response(200, {{"code", code_json(*c)}, {"redemptions", list}});
                  }));
    s.route("PATCH", fmt::format("/v1/admin/discount-codes/{}", k_id),
            mutation(app, "discount_codes:write", Body::json, [](Mutation& m) -> Outcome {
                for (const char* fixed : {"code", "kind", "product_slug"})
                    if (m.body.contains(fixed))
                        return error_response("bad_request",
                                              fmt::format("bad request: '{}' cannot change; "
                                                          "create a new code instead",
                                                          fixed));
                store::CatalogStore catalog(m.db);
                return change_code(m, "discount_code.update",
                                   [&](store::DiscountCodeRow& c, json& details) {
                                       details = {{"fields", field_names(m.body)}};
                                       return code_fields(m.body, c, catalog, m.now, false);
                                   });
            }));
    s.route("PATCH", fmt::format("/v1/admin/discount-codes/{}/active", k_id),
            mutation(app, "discount_codes:write", Body::json, [](Mutation& m) -> Outcome {
                auto active = flag_of(m, "active");
                if (!active)
                    return flag_error("active");
                return change_code(
                    m, *active ? "discount_code.enable" : "discount_code.disable",
                    [&](store::DiscountCodeRow& c, json& details) {
                        c.active = *active;
                        details = {{"active", *active}};
                        return Refusal{};
                    },
                    [](const store::DiscountCodeRow& c) {
                        json out = code_json(c);
                        out["ok"] = true; // Keysat's answer
                        return out;
                    });
            }));
    s.route("DELETE", fmt::format("/v1/admin/discount-codes/{}", k_id),
            mutation(app, "discount_codes:write", Body::none, [](Mutation& m) -> Outcome {
                const auto& id = m.req.params[0];
                store::CommerceStore commerce(m.db);
                http::Response error;
                auto c = found(commerce.find_code_by_id(id), "discount code", id, error);
                if (!c)
                    return error;
                auto gone = commerce.delete_unredeemed_code(id);
                if (!gone)
                    return error_response("internal_error", "discount codes");
                if (!*gone)
                    return error_response("conflict",
                                          "conflict: code " + c->code +
                                              " has redemptions on record; disable it instead");
                return Mutated{{{"ok", true}, {"deleted", c->code}},
                               "discount_code.delete",
                               id,
                               {{"code", c->code}}};
            }));
}

} // namespace keysat::api
