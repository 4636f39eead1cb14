// Merchant profiles, as Keysat routes them: who sells (name, legal name, support contacts, brand
// colour, where buyers go after paying), one default profile, the providers attached to each and
// which provider takes each rail. Products point at a profile; the buy pages show its name and
// colour. Reads need merchant_profiles:read, changes merchant_profiles:write; every change is
// audited.

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/api/html.hpp"
#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/service/providers.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/store/subscription_store.hpp"
#include "keysat/util/date.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

constexpr const char* k_id = "([0-9a-f-]{36})";

json opt(const std::optional<std::string>& v) {
    return v ? json(*v) : json(nullptr);
}

json profile_json(const store::MerchantProfileRow& m) {
    return {{"id", m.id},
            {"name", m.name},
            {"legal_name", opt(m.legal_name)},
            {"support_url", opt(m.support_url)},
            {"support_email", opt(m.support_email ? m.support_email : m.contact_email)},
            {"brand_color", opt(m.brand_color)},
            {"post_purchase_redirect_url", opt(m.post_purchase_redirect_url)},
            {"is_default", m.is_default},
            {"smtp_configured", false},
            {"smtp_host", nullptr},
            {"smtp_port", nullptr},
            {"smtp_username", nullptr},
            {"smtp_from_address", nullptr},
            {"smtp_from_name", nullptr},
            {"smtp_use_starttls", false},
            {"created_at", format_timestamp(m.created_at)},
            {"updated_at", format_timestamp(m.updated_at == 0 ? m.created_at : m.updated_at)}};
}

json providers_json(db::Database& db, const store::MerchantProfileRow& m) {
    json out = json::array();
    auto list = service::providers_of(db, m);
    if (list)
        for (const auto& p : *list)
            out.push_back({{"id", p.id},
                           {"kind", p.kind},
                           {"label", p.label},
                           {"base_url", p.base_url},
                           {"store_id", opt(p.store_id)},
                           {"webhook_id", opt(p.webhook_id)},
                           {"connected_at", format_timestamp(p.created_at)},
                           {"served_rails", service::rails_of(p.kind)}});
    return out;
}

// Reads the profile's editable fields from `body` into `m` (a JSON null clears a nullable one);
// a message for the first bad one.
std::string profile_fields(const json& body, store::MerchantProfileRow& m, bool creating) {
    Fields f(body);
    auto name = f.text("name", creating, 200);
    if (!f.error().empty())
        return f.error();
    if (name) {
        if (name->find_first_not_of(" \t") == std::string::npos)
            return "bad request: merchant profile name required";
        m.name = *name;
    }
    struct Nullable {
        const char* name;
        std::optional<std::string> store::MerchantProfileRow::*field;
        std::size_t max;
    };
    for (const auto& n : {Nullable{"legal_name", &store::MerchantProfileRow::legal_name, 200},
                          Nullable{"support_url", &store::MerchantProfileRow::support_url, 2000},
                          Nullable{"support_email", &store::MerchantProfileRow::support_email, 320},
                          Nullable{"brand_color", &store::MerchantProfileRow::brand_color, 7},
                          Nullable{"post_purchase_redirect_url",
                                   &store::MerchantProfileRow::post_purchase_redirect_url, 2000}}) {
        auto it = body.find(n.name);
        if (it == body.end())
            continue;
        if (it->is_null() || (it->is_string() && it->get<std::string>().empty())) {
            m.*n.field = std::nullopt;
            continue;
        }
        if (!it->is_string() || it->get<std::string>().size() > n.max)
            return fmt::format("bad request: '{}' must be a string of at most {} bytes", n.name,
                               n.max);
        std::string v = *it;
        std::string field = n.name;
        if (field == "brand_color" && !html::is_hex_colour(v))
            return "bad request: 'brand_color' must be a colour like #1d4ed8";
        if ((field == "support_url" || field == "post_purchase_redirect_url") &&
            !html::is_safe_link(v))
            return fmt::format("bad request: '{}' must be an absolute http(s) URL", field);
        if (field == "support_email" && (v.find('@') == std::string::npos ||
                                         v.find_first_of(" \t\r\n<>\"") != std::string::npos))
            return "bad request: 'support_email' is not an e-mail address";
        m.*n.field = v;
    }
    return "";
}

// Where buyers go after paying, with their invoice id (which shows their key): the master key's
// decision alone, not a scoped key's.
std::optional<http::Response> redirect_needs_master(const Mutation& m) {
    if (m.body.contains("post_purchase_redirect_url") &&
        !m.body["post_purchase_redirect_url"].is_null() && m.actor.kind != "master")
        return error_response("forbidden", "forbidden: only the master key sets "
                                           "post_purchase_redirect_url");
    return std::nullopt;
}

Outcome create_profile(Mutation& m) {
    if (auto refused = redirect_needs_master(m))
        return *refused;
    store::MerchantProfileRow p;
    if (auto bad = profile_fields(m.body, p, true); !bad.empty())
        return error_response("bad_request", bad);
    p.id = crypto::uuid_v4().to_string();
    p.created_at = p.updated_at = m.now;
    if (!store::AccountStore(m.db).create_merchant(p))
        return error_response("internal_error", "could not create the merchant profile");
    return Mutated{profile_json(p), "merchant_profile.create", p.id, {{"name", p.name}}};
}

http::Response show_profile(db::Database& db, const std::string& id) {
    store::AccountStore accounts(db);
    auto found = accounts.find_merchant(id);
    if (!found)
        return error_response("internal_error", "could not read merchant profiles");
    if (!*found)
        return error_response("not_found", "not found: merchant profile " + id);
    const auto& m = **found;
    json out = profile_json(m);
    out["providers"] = providers_json(db, m);
    json rails = json::array();
    if (auto prefs = accounts.rail_preferences(m.id))
        for (const auto& [rail, provider] : *prefs)
            rails.push_back({{"rail", rail}, {"payment_provider_id", provider}});
    out["rail_preferences"] = rails;
    out["product_count"] = accounts.merchant_product_count(m.id).value_or(0);
    out["active_subscription_count"] =
        store::SubscriptionStore(db).running_for_profile(m.id, m.is_default).value_or(0);
    return json_response(200, out);
}

Outcome delete_profile(Mutation& m) {
    const std::string& id = m.req.params[0];
    store::AccountStore accounts(m.db);
    http::Response error;
    auto p = found(accounts.find_merchant(id), "merchant profile", id, error);
    if (!p)
        return error;
    if (p->is_default)
        return error_response("bad_request", "bad request: cannot delete the default merchant "
                                             "profile — set another profile as default first");
    auto products = accounts.merchant_product_count(id);
    if (!products)
        return error_response("internal_error", "could not count the profile's products");
    if (*products > 0)
        return error_response("bad_request",
                              fmt::format("bad request: merchant profile '{}' still sells {} "
                                          "product(s); move them to another profile first",
                                          p->name, *products));
    auto providers = service::providers_of(m.db, *p);
    if (providers && !providers->empty())
        return error_response("bad_request",
                              fmt::format("bad request: merchant profile '{}' has payment "
                                          "providers connected; disconnect them first",
                                          p->name));
    if (!accounts.delete_merchant(id))
        return error_response("internal_error", "could not delete the merchant profile");
    return Mutated{{{"ok", true}, {"id", id}}, "merchant_profile.delete", id, {{"name", p->name}}};
}

Outcome set_rail(Mutation& m, bool clear) {
    const std::string& id = m.req.params[0];
    const std::string& rail = m.req.params[1];
    store::AccountStore accounts(m.db);
    if (std::find(service::k_rails.begin(), service::k_rails.end(), rail) == service::k_rails.end())
        return error_response("bad_request",
                              fmt::format("bad request: unknown rail '{}'; accepted: lightning, "
                                          "onchain, card",
                                          rail));
    http::Response error;
    auto p = found(accounts.find_merchant(id), "merchant profile", id, error);
    if (!p)
        return error;
    if (clear) {
        if (!accounts.clear_rail_preference(id, rail))
            return error_response("internal_error", "could not clear the rail preference");
        return Mutated{{{"ok", true}, {"merchant_profile_id", id}, {"rail", rail}},
                       "merchant_profile.rail_clear",
                       id,
                       {{"rail", rail}}};
    }
    auto provider_id = m.fields.text("payment_provider_id", true, 64);
    if (auto bad = m.bad_fields())
        return *bad;
    auto provider = accounts.find_provider(*provider_id);
    if (!provider)
        return error_response("internal_error", "could not read payment providers");
    if (!*provider)
        return error_response(
            "bad_request", fmt::format("bad request: payment provider {} not found", *provider_id));
    auto attached = service::providers_of(m.db, *p);
    bool mine = attached && std::any_of(attached->begin(), attached->end(),
                                        [&](const auto& a) { return a.id == *provider_id; });
    if (!mine)
        return error_response("bad_request",
                              fmt::format("bad request: payment provider {} is not attached to "
                                          "merchant profile {}",
                                          *provider_id, id));
    auto rails = service::rails_of((*provider)->kind);
    if (std::find(rails.begin(), rails.end(), rail) == rails.end())
        return error_response("bad_request",
                              fmt::format("bad request: payment provider {} (kind={}) does not "
                                          "serve the '{}' rail",
                                          *provider_id, (*provider)->kind, rail));
    if (!accounts.set_rail_preference(id, rail, *provider_id))
        return error_response("internal_error", "could not save the rail preference");
    return Mutated{{{"ok", true},
                    {"merchant_profile_id", id},
                    {"rail", rail},
                    {"payment_provider_id", *provider_id}},
                   "merchant_profile.rail_set",
                   id,
                   {{"rail", rail}, {"payment_provider_id", *provider_id}}};
}

} // namespace

void register_merchant_routes(http::Server& s, const App& app) {
    const std::string one = fmt::format("/v1/admin/merchant-profiles/{}", k_id);
    s.route("GET", "/v1/admin/merchant-profiles",
            admin(app, "merchant_profiles:read",
                  [](db::Database& db, const Actor&, const http::Request&) {
                      auto list = store::AccountStore(db).list_merchants();
                      if (!list)
                          return error_response("internal_error", "could not read profiles");
                      json out = json::array();
                      for (const auto& m : *list) {
                          json p = profile_json(m);
                          p["providers"] = providers_json(db, m);
                          out.push_back(p);
                      }
                      return json_response(200, {{"profiles", out}});
                  }));
    s.route("POST", "/v1/admin/merchant-profiles",
            mutation(app, "merchant_profiles:write", Body::json, create_profile));
    s.route("GET", one,
            admin(app, "merchant_profiles:read",
                  [](db::Database& db, const Actor&, const http::Request& r) {
                      return show_profile(db, r.params[0]);
                  }));
    s.route("PATCH", one,
            mutation(app, "merchant_profiles:write", Body::json, [](Mutation& m) -> Outcome {
                store::AccountStore accounts(m.db);
                const std::string& id = m.req.params[0];
                auto found = accounts.find_merchant(id);
                if (!found)
                    return error_response("internal_error", "could not read profiles");
                if (!*found) // Keysat answers 400 here
                    return error_response("bad_request",
                                          "bad request: merchant profile " + id + " not found");
                if (auto refused = redirect_needs_master(m))
                    return *refused;
                auto p = **found;
                if (auto bad = profile_fields(m.body, p, false); !bad.empty())
                    return error_response("bad_request", bad);
                p.updated_at = m.now;
                if (!accounts.update_merchant(p))
                    return error_response("internal_error", "could not change the profile");
                return Mutated{profile_json(p), "merchant_profile.update", id, m.body};
            }));
    s.route("DELETE", one, mutation(app, "merchant_profiles:write", Body::none, delete_profile));
    s.route("POST", one + "/set-default",
            mutation(app, "merchant_profiles:write", Body::none, [](Mutation& m) -> Outcome {
                const std::string& id = m.req.params[0];
                auto done = store::AccountStore(m.db).set_default_merchant(id);
                if (!done)
                    return error_response("internal_error", "could not set the default");
                if (!*done)
                    return error_response("not_found", "not found: merchant profile " + id);
                return Mutated{{{"ok", true}, {"id", id}}, "merchant_profile.set_default", id};
            }));
    s.route("PUT", one + "/rail-preferences/([a-z0-9_-]{1,20})",
            mutation(app, "merchant_profiles:write", Body::json,
                     [](Mutation& m) { return set_rail(m, false); }));
    s.route("DELETE", one + "/rail-preferences/([a-z0-9_-]{1,20})",
            mutation(app, "merchant_profiles:write", Body::none,
                     [](Mutation& m) { return set_rail(m, true); }));
}

} // namespace keysat::api
