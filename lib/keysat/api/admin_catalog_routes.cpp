// Admin routes for the catalog: products (create, list, update, activate, delete) and their
// policies (create, list, update, the active/public/archived flags, delete).

#include <algorithm>

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/api/fields.hpp"
#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/service/catalog.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/util/date.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

constexpr const char* k_id = "([0-9a-f-]{36})";

// Applies the product fields present in `body` to `p`; an error message when one is bad.
// Creating, slug, name and a price are required.
std::string product_fields(const json& body, store::ProductRow& p, bool creating) {
    Fields f(body);
    auto slug = f.text("slug", creating, 64);
    auto name = f.text("name", creating, 200);
    auto description = f.text("description", false, 10000);
    auto price_sats = f.integer("price_sats", 0, 2100000000000000);
    auto currency = f.text("price_currency", false, 3);
    auto value = f.integer("price_value", 0, 1000000000000);
    if (!f.error().empty())
        return f.error();
    if (slug && !valid_slug(*slug))
        return "bad request: 'slug' may hold a-z, 0-9, - and _";
    if (price_sats && !currency) {
        p.currency = "SAT";
        p.price_amount = *price_sats;
    } else if (currency && value) {
        std::string cur = *currency;
        std::transform(cur.begin(), cur.end(), cur.begin(), ::toupper);
        if (cur != "SAT" && cur != "USD" && cur != "EUR")
            return "bad request: 'price_currency' must be SAT, USD or EUR";
        if (price_sats && (cur != "SAT" || *price_sats != *value))
            return "bad request: price_sats and price_value disagree";
        p.currency = cur;
        p.price_amount = *value;
    } else if (creating || currency || value) {
        return "bad request: give price_sats, or price_currency and price_value";
    }
    if (auto it = body.find("merchant_profile_id"); it != body.end()) {
        if (it->is_null())
            p.merchant_profile_id.reset();
        else if (it->is_string() && !it->get<std::string>().empty() &&
                 it->get<std::string>().size() <= 64)
            p.merchant_profile_id = it->get<std::string>();
        else
            return "bad request: 'merchant_profile_id' must be a merchant profile's id or null";
    }
    if (slug)
        p.slug = *slug;
    if (name)
        p.name = *name;
    if (description)
        p.description = *description;
    if (auto it = body.find("entitlements_catalog"); it != body.end() && !it->is_null()) {
        // A flat list of {slug, name, description} strings: nothing deeper is stored or echoed
        // (a deeply nested value would also be a stack-depth hazard when serialised).
        json catalog = json::array();
        bool flat = it->is_array() && it->size() <= 256;
        for (const auto& entry : flat ? *it : json::array()) {
            json clean = json::object();
            flat = flat && entry.is_object();
            for (const char* k : {"slug", "name", "description"})
                if (flat && entry.contains(k)) {
                    flat = entry[k].is_string() && entry[k].get<std::string>().size() <= 1000;
                    if (flat)
                        clean[k] = entry[k];
                }
            flat = flat && clean.contains("slug");
            catalog.push_back(clean);
        }
        if (!flat)
            return "bad request: 'entitlements_catalog' must be an array of up to 256 {slug, "
                   "name, description} objects of strings";
        p.entitlements_json = catalog.dump();
    }
    return "";
}

// The refusal of a product naming a merchant profile that does not exist; empty when it is fine.
std::string unknown_profile(db::Database& db, const store::ProductRow& p) {
    if (!p.merchant_profile_id)
        return "";
    auto found = store::AccountStore(db).find_merchant(*p.merchant_profile_id);
    if (found && *found)
        return "";
    return fmt::format("bad request: merchant profile {} not found", *p.merchant_profile_id);
}

Outcome create_product(Mutation& m) {
    store::ProductRow p;
    if (auto bad = product_fields(m.body, p, true); !bad.empty())
        return error_response("bad_request", bad);
    if (auto bad = unknown_profile(m.db, p); !bad.empty())
        return error_response("bad_request", bad);
    p.id = crypto::uuid_v4().to_string();
    p.created_at = p.updated_at = m.now;
    store::CatalogStore catalog(m.db);
    auto existing = catalog.find_product_by_slug(p.slug);
    if (existing && *existing)
        return error_response("conflict", "conflict: product slug '" + p.slug + "' exists");
    if (!catalog.create_product(p))
        return error_response("internal_error", "could not create the product");
    return Mutated{product_json(p),
                   "product.create",
                   p.id,
                   {{"slug", p.slug}},
                   {{"product.created", product_json(p)}}};
}

// PATCH of a product: `change` edits it (an error message is a 400); a new slug must be free.
// A flag route's answer: Keysat's {"ok":true} (with "archived" for that flag), and the row.
json flag_answer(json row) {
    row["ok"] = true;
    return row;
}

template <typename F, typename Out = json (*)(const store::ProductRow&)>
Outcome change_product(Mutation& m, const std::string& action, F change, Out out = product_json) {
    store::CatalogStore catalog(m.db);
    return change_row(
        m, "product", action, [&](const std::string& i) { return catalog.find_product(i); },
        [&](store::ProductRow& p, json& details) -> Refusal {
            std::string slug = p.slug;
            if (auto bad = change(p, details); !bad.empty())
                return {"bad_request", bad};
            if (auto bad = unknown_profile(m.db, p); !bad.empty())
                return {"bad_request", bad};
            auto taken = p.slug == slug ? Expected<std::optional<store::ProductRow>>()
                                        : catalog.find_product_by_slug(p.slug);
            if (taken && *taken)
                return {"conflict", "conflict: product slug '" + p.slug + "' exists"};
            return {};
        },
        [&](const store::ProductRow& p) { return catalog.update_product(p); }, out);
}

json policy_json(const store::PolicyRow& p) {
    auto opt = [](const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); };
    return {{"id", p.id},
            {"product_id", p.product_id},
            {"slug", p.slug},
            {"name", p.name},
            {"duration_seconds", p.duration_days.value_or(0) * 86400},
            {"grace_seconds", p.grace_days * 86400},
            {"max_machines", p.max_machines},
            {"is_trial", p.is_trial},
            {"trial_days", p.trial_days.value_or(0)},
            {"is_recurring", p.renewal_period_days.has_value()},
            {"recurring_period", p.recurring_period ? json(*p.recurring_period) : json(nullptr)},
            {"renewal_period_days", renewal_period_days(p)},
            {"grace_period_days", p.grace_period_days},
            {"price_sats_override", opt(p.price_override)},
            {"tier_rank", p.tier_rank},
            {"entitlements", json_array_or_empty(p.entitlements_json)},
            {"hidden_entitlements", json_array_or_empty(p.hidden_entitlements_json)},
            {"marketing_bullets", json_array_or_empty(p.marketing_bullets_json)},
            {"description", p.description},
            {"highlighted", p.highlighted},
            {"marketing_bullets_position", p.marketing_bullets_position},
            {"metadata", policy_metadata(p)},
            {"active", p.active},
            {"is_public", p.is_public},
            {"public", p.is_public},
            {"archived", p.archived},
            {"archived_at", p.archived_at ? json(format_timestamp(*p.archived_at)) : json(nullptr)},
            // Tips to a third party are Keysat's; none is ever sent here.
            {"tip_recipient", nullptr},
            {"tip_pct_bps", 0},
            {"tip_label", nullptr},
            {"created_at", format_timestamp(p.created_at)},
            {"updated_at", format_timestamp(p.updated_at)}};
}

// Whole days from a field given in seconds (Keysat's unit); our rows keep days.
std::optional<std::int64_t> seconds_to_days(Fields& f, const char* name, std::string& bad) {
    auto s = f.integer(name, 0, 100LL * 365 * 86400);
    if (s && *s % 86400 != 0)
        bad = fmt::format("bad request: '{}' must be a whole number of days (a multiple of 86400)",
                          name);
    return s ? std::optional<std::int64_t>(*s / 86400) : std::nullopt;
}

// Applies the policy fields present in `body` to `p`; an error message when one is bad.
std::string policy_fields(const json& body, store::PolicyRow& p, const store::ProductRow& product,
                          bool creating) {
    Fields f(body);
    std::string bad;
    auto slug = f.text("slug", creating, 64);
    auto name = f.text("name", creating, 200);
    auto duration = seconds_to_days(f, "duration_seconds", bad);
    auto grace = seconds_to_days(f, "grace_seconds", bad);
    auto max_machines = f.integer("max_machines", 0, 1000000);
    auto is_trial = f.boolean("is_trial");
    auto trial_days = f.integer("trial_days", 0, 3650);
    auto price = f.integer("price_sats_override", 0, 2100000000000000);
    auto entitlements = f.strings("entitlements");
    auto hidden = f.strings("hidden_entitlements");
    auto bullets = f.strings("marketing_bullets");
    auto tier_rank = f.integer("tier_rank", 0, 1000);
    auto is_recurring = f.boolean("is_recurring");
    auto period = f.text("recurring_period", false, 8);
    auto period_days = f.integer("renewal_period_days", 1, 1830);
    auto is_public = f.boolean("is_public");
    auto grace_period = f.integer("grace_period_days", 0, 90);
    // Keysat's admin tools put the buy page's words in `metadata`; ours may send them on top.
    const json* metadata = nullptr;
    if (auto it = body.find("metadata"); it != body.end() && !it->is_null()) {
        if (!it->is_object() || it->dump().size() > 16384)
            return "bad request: 'metadata' must be an object of at most 16 KiB";
        metadata = &*it;
    }
    static const json k_no_metadata = json::object();
    Fields meta(metadata ? *metadata : k_no_metadata); // both lvalues: Fields keeps a reference
    auto description = f.text("description", false, 2000);
    if (!description)
        description = meta.text("description", false, 2000);
    auto highlighted = f.boolean("highlighted");
    if (!highlighted)
        highlighted = meta.boolean("highlight");
    auto position = f.text("marketing_bullets_position", false, 8);
    if (!position)
        position = meta.text("marketing_bullets_position", false, 8);
    if (!bullets)
        bullets = meta.strings("marketing_bullets");
    if (!hidden)
        hidden = meta.strings("hidden_entitlements");
    if (!f.error().empty())
        return f.error();
    if (!meta.error().empty())
        return "bad request: in 'metadata': " + meta.error().substr(13);
    if (position && *position != "above" && *position != "below")
        return "bad request: 'marketing_bullets_position' must be above or below";
    if (!bad.empty())
        return bad;
    if (slug && !valid_slug(*slug))
        return "bad request: 'slug' may hold a-z, 0-9, - and _";
    // Closed entitlements: a product with a catalog accepts only the catalog's slugs.
    for (const auto* list : {&entitlements, &hidden})
        if (*list)
            if (auto e = service::entitlement_outside_catalog(product, **list))
                return "bad request: " + service::outside_catalog_message(*e, product);
    if (slug)
        p.slug = *slug;
    if (name)
        p.name = *name;
    if (duration)
        p.duration_days = *duration == 0 ? std::nullopt : duration;
    if (grace)
        p.grace_days = *grace;
    if (max_machines)
        p.max_machines = *max_machines;
    else if (creating)
        p.max_machines = 1; // Keysat's default: one seat
    if (is_trial)
        p.is_trial = *is_trial;
    if (trial_days)
        p.trial_days = *trial_days == 0 ? std::nullopt : trial_days;
    if (body.contains("price_sats_override"))
        p.price_override = price;
    if (entitlements)
        p.entitlements_json = json(*entitlements).dump();
    if (hidden)
        p.hidden_entitlements_json = json(*hidden).dump();
    if (bullets)
        p.marketing_bullets_json = json(*bullets).dump();
    if (tier_rank)
        p.tier_rank = *tier_rank;
    if (is_public)
        p.is_public = *is_public;
    if (grace_period)
        p.grace_period_days = *grace_period;
    if (description)
        p.description = *description;
    if (highlighted)
        p.highlighted = *highlighted;
    if (position)
        p.marketing_bullets_position = *position;
    if (metadata)
        p.metadata_json = metadata->dump();
    // The period is a number of days (Keysat's renewal_period_days, 1 to 1830); recurring_period
    // (month, year) is our shorthand for 30 and 365 and stays as the label of those lengths.
    if (period && *period != "month" && *period != "year")
        return "bad request: 'recurring_period' must be month or year";
    if (is_recurring && !*is_recurring) {
        p.renewal_period_days.reset();
    } else if (period_days) {
        p.renewal_period_days = *period_days;
    } else if (period) {
        p.renewal_period_days = *period == "year" ? 365 : 30;
    } else if (is_recurring && !p.renewal_period_days) {
        return "bad request: 'renewal_period_days' (1-1830) is required when 'is_recurring' is "
               "true";
    }
    p.recurring_period.reset();
    if (p.renewal_period_days && *p.renewal_period_days >= 28 && *p.renewal_period_days <= 31)
        p.recurring_period = "month";
    else if (p.renewal_period_days &&
             (*p.renewal_period_days == 365 || *p.renewal_period_days == 366))
        p.recurring_period = "year";
    if (p.renewal_period_days && p.trial_days && *p.trial_days > *p.renewal_period_days)
        return "bad request: 'trial_days' cannot exceed the renewal period";
    return "";
}

Outcome create_policy(Mutation& m) {
    auto product_slug = m.fields.text("product_slug", true, 64);
    if (auto bad = m.bad_fields())
        return *bad;
    store::CatalogStore catalog(m.db);
    http::Response error;
    auto product =
        found(catalog.find_product_by_slug(*product_slug), "product", *product_slug, error);
    if (!product)
        return error;
    store::PolicyRow p;
    if (auto bad = policy_fields(m.body, p, *product, true); !bad.empty())
        return error_response("bad_request", bad);
    auto taken = catalog.find_policy_by_slug(product->id, p.slug);
    if (taken && *taken)
        return error_response("conflict", fmt::format("conflict: product '{}' already has a "
                                                      "policy '{}'",
                                                      *product_slug, p.slug));
    p.id = crypto::uuid_v4().to_string();
    p.product_id = product->id;
    p.created_at = p.updated_at = m.now;
    if (!catalog.create_policy(p))
        return error_response("internal_error", "could not create the policy");
    return Mutated{
        policy_json(p), "policy.create", p.id, {{"product_id", p.product_id}, {"slug", p.slug}}};
}

// PATCH of a policy: `change` edits it knowing its product (an error message is a 400); a new
// slug must be free within the product.
template <typename F, typename Out = json (*)(const store::PolicyRow&)>
Outcome change_policy(Mutation& m, const std::string& action, F change, Out out = policy_json) {
    store::CatalogStore catalog(m.db);
    return change_row(
        m, "policy", action, [&](const std::string& i) { return catalog.find_policy(i); },
        [&](store::PolicyRow& p, json& details) -> Refusal {
            auto product = catalog.find_product(p.product_id);
            if (!product || !*product)
                return {"internal_error", "the policy's product cannot be read"};
            std::string slug = p.slug;
            if (auto bad = change(p, **product, details); !bad.empty())
                return {"bad_request", bad};
            auto taken = p.slug == slug ? Expected<std::optional<store::PolicyRow>>()
                                        : catalog.find_policy_by_slug(p.product_id, p.slug);
            if (taken && *taken)
                return {"conflict", "conflict: the product already has a policy '" + p.slug + "'"};
            return {};
        },
        [&](const store::PolicyRow& p) { return catalog.update_policy(p); }, out);
}

// DELETE of a product or policy: refused with 409 while anything refers to it. `del(id)` deletes
// and gives the row's slug (Expected<optional<string>>: nullopt when there is no such row).
template <typename Refs, typename Del>
Outcome delete_unreferenced(Mutation& m, const std::string& what, Refs refs, Del del) {
    const std::string& id = m.req.params[0];
    auto n = refs(id);
    if (!n)
        return error_response("internal_error", what);
    if (*n > 0)
        return error_response(
            "conflict",
            fmt::format("conflict: {} {} is referred to by {} row(s) (licenses, invoices, "
                        "policies, codes); deactivate or archive it instead",
                        what, id, *n));
    auto gone = del(id);
    if (!gone)
        return error_response("internal_error", what);
    if (!*gone)
        return error_response("not_found", fmt::format("not found: {} {}", what, id));
    // Keysat's answer: the slug deleted; nothing is ever deleted along with it here.
    return Mutated{{{"ok", true}, {"deleted", **gone}, {"force", false}}, what + ".delete", id};
}

} // namespace

void register_catalog_admin_routes(http::Server& s, const App& app) {
    s.route("GET", "/v1/admin/products",
            admin(app, "products:read", [](db::Database& db, const Actor&, const http::Request&) {
                auto list = store::CatalogStore(db).list_products(false);
                if (!list)
                    return error_response("internal_error", "products");
                json out = json::array();
                for (const auto& p : *list)
                    out.push_back(product_json(p));
                return json_response(200, {{"products", out}});
            }));
    s.route("POST", "/v1/admin/products",
            mutation(app, "products:write", Body::json, create_product));
    s.route("PATCH", fmt::format("/v1/admin/products/{}", k_id),
            mutation(app, "products:write", Body::json, [](Mutation& m) {
                return change_product(m, "product.update",
                                      [&](store::ProductRow& p, json& details) {
                                          details = {{"fields", field_names(m.body)}};
                                          return product_fields(m.body, p, false);
                                      });
            }));
    s.route("PATCH", fmt::format("/v1/admin/products/{}/active", k_id),
            mutation(app, "products:write", Body::json, [](Mutation& m) -> Outcome {
                auto active = flag_of(m, "active");
                if (!active)
                    return flag_error("active");
                return change_product(
                    m, "product.set_active",
                    [&](store::ProductRow& p, json& details) {
                        p.active = *active;
                        details = {{"active", *active}};
                        return std::string();
                    },
                    [](const store::ProductRow& p) { return flag_answer(product_json(p)); });
            }));
    s.route("DELETE", fmt::format("/v1/admin/products/{}", k_id),
            mutation(app, "products:write", Body::none, [](Mutation& m) {
                store::CatalogStore catalog(m.db);
                return delete_unreferenced(
                    m, "product",
                    [&](const std::string& id) { return catalog.product_references(id); },
                    [&](const std::string& id) -> Expected<std::optional<std::string>> {
                        KEYSAT_TRY_ASSIGN(p, catalog.find_product(id));
                        KEYSAT_TRY_ASSIGN(gone, catalog.delete_product(id));
                        return gone && p ? std::optional(p->slug) : std::nullopt;
                    });
            }));

    s.route("GET", "/v1/admin/policies",
            admin(app, "policies:read", [](db::Database& db, const Actor&, const http::Request& r) {
                auto slug = r.query_value("product_slug");
                if (!slug)
                    return error_response("bad_request", "bad request: 'product_slug' is required");
                store::CatalogStore catalog(db);
                http::Response error;
                auto product = found(catalog.find_product_by_slug(*slug), "product", *slug, error);
                if (!product)
                    return error;
                auto list = catalog.list_policies(product->id, false);
                if (!list)
                    return error_response("internal_error", "policies");
                bool inactive = r.query_value("include_inactive").value_or("") == "true";
                bool archived = r.query_value("include_archived").value_or("") == "true";
                json out = json::array();
                for (const auto& p : *list)
                    if ((p.active || inactive) && (!p.archived || archived))
                        out.push_back(policy_json(p));
                return json_response(200, {{"policies", out}});
            }));
    s.route("POST", "/v1/admin/policies",
            mutation(app, "policies:write", Body::json, create_policy));
    s.route("PATCH", fmt::format("/v1/admin/policies/{}", k_id),
            mutation(app, "policies:write", Body::json, [](Mutation& m) -> Outcome {
                if (m.body.contains("product_slug") || m.body.contains("product_id"))
                    return error_response("bad_request", "bad request: a policy cannot "
                                                         "move to another product");
                return change_policy(
                    m, "policy.update",
                    [&](store::PolicyRow& p, const store::ProductRow& product, json& details) {
                        details = {{"fields", field_names(m.body)}};
                        return policy_fields(m.body, p, product, false);
                    });
            }));
    // The three flags, each with its own route and audit action, as Keysat has them.
    struct Flag {
        const char* route;
        const char* field;
        bool store::PolicyRow::*member;
    };
    for (Flag flag : {Flag{"active", "active", &store::PolicyRow::active},
                      Flag{"public", "public", &store::PolicyRow::is_public},
                      Flag{"archived", "archived", &store::PolicyRow::archived}})
        s.route("PATCH", fmt::format("/v1/admin/policies/{}/{}", k_id, flag.route),
                mutation(app, "policies:write", Body::json, [flag](Mutation& m) -> Outcome {
                    auto on = flag_of(m, flag.field);
                    if (!on)
                        return flag_error(flag.field);
                    return change_policy(
                        m, fmt::format("policy.set_{}", flag.field),
                        [&](store::PolicyRow& p, const store::ProductRow&, json& details) {
                            if (flag.member == &store::PolicyRow::archived && p.archived != *on)
                                p.archived_at = *on ? std::optional(m.now) : std::nullopt;
                            p.*flag.member = *on;
                            details = {{flag.field, *on}};
                            return std::string();
                        },
                        [](const store::PolicyRow& p) { return flag_answer(policy_json(p)); });
                }));
    s.route("DELETE", fmt::format("/v1/admin/policies/{}", k_id),
            mutation(app, "policies:write", Body::none, [](Mutation& m) {
                store::CatalogStore catalog(m.db);
                return delete_unreferenced(
                    m, "policy",
                    [&](const std::string& id) { return catalog.policy_references(id); },
                    [&](const std::string& id) -> Expected<std::optional<std::string>> {
                        KEYSAT_TRY_ASSIGN(p, catalog.find_policy(id));
                        KEYSAT_TRY_ASSIGN(gone, catalog.delete_policy(id));
                        return gone && p ? std::optional(p->slug) : std::nullopt;
                    });
            }));
}

} // namespace keysat::api
