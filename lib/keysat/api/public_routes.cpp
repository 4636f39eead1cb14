// Public licensing routes: service info, public keys, products, validate, machines.

#include <fmt/format.h>

#include "keysat/api/app.hpp"
#include "keysat/api/fields.hpp"
#include "keysat/api/metrics.hpp"
#include "keysat/crypto/hash.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/service/validation.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/net.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

std::string pem_of(const App& app) {
    if (app.keyring.keys.empty())
        return "";
    return license::format_public_key(app.keyring.keys.front(), license::PubkeyForm::pem);
}

// Runs a handler that needs the database; database failures become 500 with a generic message.
template <typename F> http::Response with_db(const App& app, F&& body) {
    auto db = app.database();
    if (!db)
        return error_response("internal_error", "database unavailable");
    return body(**db);
}

// Takes a token from the client's bucket; true when it had none. By default 60 requests of
// burst, then one a second, per client address (Keysat's numbers); validate_rate 0 turns it off.
bool over_limit(const App& app, const std::string& bucket) {
    return app.limiter && app.validate_rate > 0 &&
           !app.limiter->take(bucket, app.validate_rate, app.validate_burst);
}

http::Response validate_route(const App& app, const http::Request& req) {
    std::string ip = client_address(req, app.trusted_proxies);
    if (over_limit(app, "validate:" + net::rate_limit_key(ip)))
        return json_response(200, {{"ok", false}, {"reason", "rate_limited"}});
    http::Response error;
    auto body = parse_body(req, error);
    if (!body)
        return error;
    Fields f(*body);
    service::ValidateRequest v;
    // An empty key is a key that does not parse (200, bad_format), as Keysat answers it; only a
    // missing one is a malformed request.
    auto key = f.text("key", false, 4096);
    if (!key && f.error().empty())
        return error_response("bad_request", "bad request: 'key' is required");
    v.key = key.value_or("");
    v.product_slug = f.text("product_slug");
    v.fingerprint = f.text("fingerprint", false, 1024);
    v.hostname = f.text("hostname", false, 255);
    v.platform = f.text("platform", false, 255);
    if (!f.error().empty())
        return error_response("bad_request", f.error());
    return with_db(app, [&](db::Database& db) {
        auto r = service::validate(db, app.keyring, v, app.clock->now(), app.key_cache,
                                   app.row_cache, app.seats);
        if (!r)
            return error_response("internal_error", "validation failed");
        if (app.validation_log && r->heartbeat_due && r->machine_id)
            app.validation_log->push_heartbeat(*r->machine_id, app.clock->now());
        if (app.validation_log) {
            std::optional<std::string> fp_hash;
            if (v.fingerprint)
                fp_hash = hex_encode(crypto::sha256(as_bytes(*v.fingerprint)));
            app.validation_log->push(
                {app.clock->now(),
                 r->license_id.empty() ? std::nullopt : std::optional<std::string>(r->license_id),
                 r->ok ? "ok" : r->reason, fp_hash, ip});
        }
        if (app.metrics)
            app.metrics->validation(r->ok ? "ok" : r->reason);
        if (!r->ok) {
            json out{{"ok", false}, {"reason", r->reason}};
            if (r->reason == "expired" || r->reason == "too_many_machines") {
                out["license_id"] = r->license_id;
                out["product_id"] = r->product_id;
                if (r->reason == "expired" && r->expires_at)
                    out["expires_at"] = format_timestamp(*r->expires_at);
                if (r->reason == "too_many_machines")
                    out["max_machines"] = r->max_machines;
            }
            return json_response(200, out);
        }
        json out{{"ok", true},
                 {"license_id", r->license_id},
                 {"product_id", r->product_id},
                 {"issued_at", format_timestamp(r->issued_at)},
                 {"status", "active"},
                 {"max_machines", r->max_machines}};
        if (r->product_slug)
            out["product_slug"] = *r->product_slug;
        if (r->expires_at)
            out["expires_at"] = format_timestamp(*r->expires_at);
        if (r->grace_until) {
            out["grace_until"] = format_timestamp(*r->grace_until);
            out["in_grace_period"] = true;
        }
        if (r->is_trial)
            out["is_trial"] = true;
        if (!r->entitlements.empty())
            out["entitlements"] = r->entitlements;
        if (r->machine_id)
            out["machine_id"] = *r->machine_id;
        return json_response(200, out);
    });
}

using MachineOp = Expected<service::MachineResult> (*)(db::Database&, const license::Keyring&,
                                                       const service::MachineRequest&,
                                                       std::int64_t);

http::Response machine_route(const App& app, const http::Request& req, MachineOp op,
                             const char* kind) {
    std::string ip = client_address(req, app.trusted_proxies);
    if (over_limit(app, "machines:" + net::rate_limit_key(ip)))
        return json_response(200, {{"ok", false}, {"reason", "rate_limited"}});
    http::Response error;
    auto body = parse_body(req, error);
    if (!body)
        return error;
    Fields f(*body);
    service::MachineRequest m;
    m.key = f.text("key", true).value_or("");
    m.fingerprint = f.text("fingerprint", true, 1024).value_or("");
    m.hostname = f.text("hostname", false, 255);
    m.platform = f.text("platform", false, 255);
    m.reason = f.text("reason", false, 255);
    if (!f.error().empty())
        return error_response("bad_request", f.error());
    return with_db(app, [&](db::Database& db) {
        auto r = op(db, app.keyring, m, app.clock->now());
        if (!r)
            return r.error().code == Errc::usage
                       ? error_response("bad_request", "bad request: " + r.error().message)
                       : error_response("internal_error", "machine operation failed");
        std::string k = kind;
        if (k == "activate") {
            if (!r->license_found)
                return error_response("not_found", "not found: license");
            return json_response(
                200, {{"ok", r->ok},
                      {"machine_id", r->machine_id ? json(*r->machine_id) : json(nullptr)},
                      {"active_count", r->active_count},
                      {"max_machines", r->max_machines},
                      {"reason", r->reason ? json(*r->reason) : json(nullptr)}});
        }
        json out{{"ok", r->ok}};
        if (r->ok && r->machine_id)
            out["machine_id"] = *r->machine_id;
        if (!r->ok && r->reason)
            out["reason"] = *r->reason;
        return json_response(200, out);
    });
}

} // namespace

void register_public_routes(http::Server& s, const App& app) {
    s.route("GET", "/", [&app](const http::Request&) {
        auto db = app.database();
        return json_response(200, {{"service", "keysat"},
                                   {"version", app.version},
                                   {"operator", db ? operator_name(app, **db) : app.operator_name},
                                   {"public_key_pem", pem_of(app)},
                                   {"key_algorithm", "ed25519"},
                                   {"key_format_version", 2}});
    });
    s.route("GET", "/healthz", [&app](const http::Request&) {
        return with_db(app, [&app](db::Database& db) {
            if (!db.query_int("SELECT 1"))
                return error_response("service_unavailable", "database");
            // Still 200 when degraded: validate and the gate go on answering. A supervisor
            // reads "status" and "degraded" to act (free disk, look at webhooks).
            auto health = check_health(db, app.db_path);
            json out{{"ok", true}, {"status", health.degraded() ? "degraded" : "ok"}};
            if (health.degraded())
                out["degraded"] = health.reasons();
            if (health.disk_free_bytes >= 0)
                out["disk_free_bytes"] = health.disk_free_bytes;
            return json_response(200, out);
        });
    });
    auto pubkey = [&app](bool issuer) {
        return [&app, issuer](const http::Request&) {
            json out{{"public_key_pem", pem_of(app)}};
            out[issuer ? "key_algorithm" : "algorithm"] = "ed25519";
            if (issuer)
                out["key_format_version"] = 2;
            if (!app.keyring.keys.empty() && app.keyring.keys.front().key_id) {
                out["minisign"] = license::format_public_key(app.keyring.keys.front(),
                                                             license::PubkeyForm::minisign);
                out["key_id"] = crypto::key_id_text(*app.keyring.keys.front().key_id);
            }
            return json_response(200, out);
        };
    };
    s.route("GET", "/v1/pubkey", pubkey(false));
    s.route("GET", "/v1/issuer/public-key", pubkey(true));
    s.route("GET", "/v1/products", [&app](const http::Request&) {
        return with_db(app, [](db::Database& db) {
            auto list = store::CatalogStore(db).list_products(true);
            if (!list)
                return error_response("internal_error", "products");
            json products = json::array();
            for (const auto& p : *list)
                products.push_back(product_json(p));
            return json_response(200, {{"products", products}});
        });
    });
    s.route("GET", R"(/v1/products/([a-z0-9][a-z0-9_-]{0,63}))", [&app](const http::Request& req) {
        return with_db(app, [&](db::Database& db) {
            auto p = store::CatalogStore(db).find_product_by_slug(req.params[0]);
            if (!p)
                return error_response("internal_error", "products");
            if (!*p)
                return error_response("not_found", "not found: product " + req.params[0]);
            return json_response(200, product_json(**p));
        });
    });
    s.route("GET", R"(/v1/products/([a-z0-9][a-z0-9_-]{0,63})/policies)",
            [&app](const http::Request& req) {
                return with_db(app, [&](db::Database& db) {
                    store::CatalogStore catalog(db);
                    auto p = catalog.find_product_by_slug(req.params[0]);
                    if (!p)
                        return error_response("internal_error", "products");
                    if (!*p || !(*p)->active)
                        return error_response("not_found", "not found: product " + req.params[0]);
                    auto policies = catalog.list_policies((*p)->id, true);
                    auto codes = store::CommerceStore(db).list_codes();
                    if (!policies || !codes)
                        return error_response("internal_error", "policies");
                    json list = json::array();
                    for (const auto& pol : *policies)
                        list.push_back(storefront_policy_json(**p, pol, *codes, app.clock->now()));
                    return json_response(
                        200,
                        {{"product",
                          {{"slug", (*p)->slug},
                           {"name", (*p)->name},
                           {"description", (*p)->description},
                           {"base_price_sats", (*p)->price_amount},
                           {"entitlements_catalog", json_array_or_empty((*p)->entitlements_json)}}},
                         {"policies", list}});
                });
            });
    s.route("POST", "/v1/validate",
            [&app](const http::Request& req) { return validate_route(app, req); });
    s.route("POST", "/v1/machines/activate", [&app](const http::Request& req) {
        return machine_route(app, req, service::activate_machine, "activate");
    });
    s.route("POST", "/v1/machines/heartbeat", [&app](const http::Request& req) {
        return machine_route(app, req, service::heartbeat_machine, "heartbeat");
    });
    s.route("POST", "/v1/machines/deactivate", [&app](const http::Request& req) {
        return machine_route(app, req, service::deactivate_machine, "deactivate");
    });
}

} // namespace keysat::api
