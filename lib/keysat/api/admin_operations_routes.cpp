// Admin routes for day-to-day operations: license listing and ledger import, machines, settings,
// and webhook endpoint activation and deletion.

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/api/fields.hpp"
#include "keysat/service/ledger.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/access_store.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/machine_store.hpp"
#include "keysat/store/webhook_store.hpp"
#include "keysat/util/date.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

constexpr const char* k_id = "([0-9a-f-]{36})";

json machine_out(const store::MachineRow& m) {
    auto when = [](const std::optional<std::int64_t>& t) {
        return t ? json(format_timestamp(*t)) : json(nullptr);
    };
    auto text = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
    return {{"id", m.id},
            {"license_id", m.license_id},
            {"fingerprint", m.fingerprint},
            {"fingerprint_hash", m.fingerprint_sha256},
            {"ip_last_seen", nullptr}, // Keysat's; client addresses are not kept per machine
            {"hostname", text(m.hostname)},
            {"platform", text(m.platform)},
            {"active", !m.deactivated_at.has_value()},
            {"activated_at", format_timestamp(m.activated_at)},
            {"last_heartbeat_at", when(m.last_heartbeat_at)},
            {"deactivated_at", when(m.deactivated_at)},
            {"deactivation_reason", text(m.deactivation_reason)}};
}

// GET /v1/admin/machines: Keysat's filters (license_id, product_id or product_slug,
// include_inactive, limit up to 5000), most recently seen first, each with its license's product,
// buyer and status.
http::Response list_machines(db::Database& db, const http::Request& r) {
    store::MachineFilter filter;
    filter.license_id = r.query_value("license_id");
    filter.product_id = r.query_value("product_id");
    filter.include_inactive = r.query_value("include_inactive").value_or("") == "true";
    http::Response error;
    if (auto slug = r.query_value("product_slug")) {
        auto product =
            found(store::CatalogStore(db).find_product_by_slug(*slug), "product", *slug, error);
        if (!product)
            return error;
        filter.product_id = product->id;
    }
    if (auto text = r.query_value("limit")) {
        std::int64_t n = 0;
        auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
        if (ec != std::errc() || p != text->data() + text->size())
            return error_response("bad_request", "bad request: 'limit' is not a number");
        filter.limit = std::clamp<std::int64_t>(n, 1, 5000);
    }
    auto rows = store::MachineStore(db).list(filter);
    if (!rows)
        return error_response("internal_error", "machines");
    json out = json::array();
    for (const auto& row : *rows) {
        json m = machine_out(row.machine);
        m["product_id"] = row.product_id;
        m["product_slug"] = row.product_slug;
        m["product_name"] = row.product_name;
        m["buyer_email"] = row.buyer_email ? json(*row.buyer_email) : json(nullptr);
        m["license_status"] = row.license_status;
        out.push_back(std::move(m));
    }
    return json_response(200, {{"machines", out}});
}

http::Response list_licenses(db::Database& db, const http::Request& r) {
    std::optional<std::string> product_id;
    if (auto slug = r.query_value("product_slug")) {
        http::Response error;
        auto product =
            found(store::CatalogStore(db).find_product_by_slug(*slug), "product", *slug, error);
        if (!product)
            return error;
        product_id = product->id;
    }
    if (auto id = r.query_value("product_id")) { // Keysat's filter
        if (product_id && *product_id != *id)
            return json_response(200, {{"licenses", json::array()}});
        product_id = *id;
    }
    auto status = r.query_value("status");
    if (status && *status != "active" && *status != "suspended" && *status != "revoked")
        return error_response("bad_request",
                              "bad request: 'status' must be active, suspended or revoked");
    http::Response error;
    auto limit = limit_param(r, 200, error);
    if (!limit)
        return error;
    auto licenses = store::LicenseStore::open(db);
    if (!licenses)
        return error_response("internal_error", "licenses");
    auto rows = licenses->list(product_id, status, *limit);
    if (!rows)
        return error_response("internal_error", "licenses");
    json out = json::array();
    for (const auto& l : *rows)
        out.push_back(license_out(l));
    return json_response(200, {{"licenses", out}});
}

// POST /v1/admin/licenses/import: the body is a keysat-issue ledger (JSON lines). Every key must
// verify with a trusted key; with problems nothing is imported unless ?keep_going=true.
http::Response import_ledger(const App& app, db::Database& db, const Actor& actor,
                             const http::Request& r) {
    bool keep_going = r.query_value("keep_going").value_or("") == "true";
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return error_response("internal_error", "database busy");
    auto report = service::import_ledger(
        db, r.body, app.keyring, keep_going ? service::KeepGoing::yes : service::KeepGoing::no,
        app.clock->now());
    if (!report)
        return error_response("bad_request", "bad request: " + report.error().message);
    json problems = json::array();
    for (const auto& p : report->problems)
        problems.push_back({{"line", p.line}, {"message", p.message}});
    json out = {{"records", report->records},
                {"inserted", report->inserted},
                {"unchanged", report->unchanged},
                {"problems", problems}, // the first 100
                {"problem_count", report->problem_count}};
    if (report->problem_count > 0 && !keep_going) {
        out["ok"] = false;
        out["error"] = "bad_request";
        out["message"] = fmt::format("{} bad record(s); nothing was imported (add "
                                     "?keep_going=true to import the good ones)",
                                     report->problem_count);
        return json_response(400, out);
    }
    if (!audit(db, app, actor, "license.import", "",
               {{"records", report->records}, {"inserted", report->inserted}}) ||
        !tx->commit())
        return error_response("internal_error", "could not record the import");
    out["ok"] = true;
    return json_response(200, out);
}

http::Response deactivate_machine(const App& app, db::Database& db, const Actor& actor,
                                  const http::Request& r) {
    std::string reason = "admin";
    if (!r.body.empty()) {
        http::Response error;
        auto body = parse_body(r, error);
        if (!body)
            return error;
        Fields f(*body);
        auto given = f.text("reason", false, 500);
        if (!f.error().empty())
            return error_response("bad_request", f.error());
        reason = given.value_or(reason);
    }
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return error_response("internal_error", "database busy");
    store::MachineStore machines(db);
    auto m = machines.find(r.params[0]);
    if (!m)
        return error_response("internal_error", "machines");
    if (!*m || (*m)->deactivated_at)
        return error_response("not_found", "not found: active machine " + r.params[0]);
    std::int64_t now = app.clock->now();
    if (!machines.deactivate((*m)->id, now, reason) ||
        !audit(db, app, actor, "machine.deactivate", (*m)->id,
               {{"license_id", (*m)->license_id}, {"reason", reason}}) ||
        !service::emit_event(db, "machine.deactivated",
                             {{"license_id", (*m)->license_id}, {"machine_id", (*m)->id}}, now) ||
        !tx->commit())
        return error_response("internal_error", "could not deactivate the machine");
    return json_response(200, {{"ok", true}});
}

} // namespace

// The operator name buyers see: the settings row when an operator set one, else configuration.
std::string operator_name(const App& app, db::Database& db) {
    auto stored = store::AccessStore(db).setting("operator_name");
    return stored && *stored ? **stored : app.operator_name;
}

void register_operations_admin_routes(http::Server& s, const App& app) {
    s.route("GET", "/v1/admin/licenses",
            admin(app, "licenses:read", [](db::Database& db, const Actor&, const http::Request& r) {
                return list_licenses(db, r);
            }));
    s.route("POST", "/v1/admin/licenses/import",
            admin(app, "licenses:write",
                  [&app](db::Database& db, const Actor& a, const http::Request& r) {
                      return import_ledger(app, db, a, r);
                  }));
    s.route("GET", "/v1/admin/machines",
            admin(app, "machines:read", [](db::Database& db, const Actor&, const http::Request& r) {
                return list_machines(db, r);
            }));
    s.route("POST", fmt::format("/v1/admin/machines/{}/deactivate", k_id),
            admin(app, "machines:write",
                  [&app](db::Database& db, const Actor& a, const http::Request& r) {
                      return deactivate_machine(app, db, a, r);
                  }));
    s.route(
        "GET", "/v1/admin/settings/operator-name",
        admin(app, "settings:read", [&app](db::Database& db, const Actor&, const http::Request&) {
            auto stored = store::AccessStore(db).setting("operator_name");
            if (!stored)
                return error_response("internal_error", "settings");
            auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
            std::string effective = *stored ? **stored : app.operator_name;
            return json_response(200, {{"operator_name", effective},
                                       {"stored", *stored ? json(**stored) : json(nullptr)},
                                       {"effective", opt(effective)},
                                       {"fallback_env", opt(app.operator_name)}});
        }));
    s.route(
        "POST", "/v1/admin/settings/operator-name",
        admin(
            app, "settings:write",
            [&app](db::Database& db, const Actor& a, const http::Request& r) {
                http::Response error;
                auto body = parse_body(r, error);
                if (!body)
                    return error;
                Fields f(*body);
                // Ours is operator_name; Keysat's scripts send name.
                auto name = f.text(body->contains("name") ? "name" : "operator_name", true, 200);
                if (!f.error().empty())
                    return error_response("bad_request", f.error());
                auto tx = db::Transaction::begin(db);
                if (!tx ||
                    !store::AccessStore(db).set_setting("operator_name", *name, app.clock->now()) ||
                    !audit(db, app, a, "settings.operator_name", "", {{"operator_name", *name}}) ||
                    !tx->commit())
                    return error_response("internal_error", "could not store the setting");
                return json_response(200, {{"ok", true}, {"operator_name", *name}});
            }));
    s.route("PATCH", fmt::format("/v1/admin/webhook-endpoints/{}/active", k_id),
            admin(app, "webhooks:write",
                  [&app](db::Database& db, const Actor& a, const http::Request& r) {
                      http::Response error;
                      auto active = flag_body(r, "active", error);
                      if (!active)
                          return error;
                      auto tx = db::Transaction::begin(db);
                      store::WebhookStore hooks(db);
                      auto e = hooks.find_endpoint(r.params[0]);
                      if (!tx || !e)
                          return error_response("internal_error", "webhooks");
                      if (!*e)
                          return error_response("not_found",
                                                "not found: webhook endpoint " + r.params[0]);
                      auto row = **e;
                      row.active = *active;
                      row.updated_at = app.clock->now();
                      if (!hooks.update_endpoint(row) ||
                          !audit(db, app, a, "webhook_endpoint.set_active", row.id,
                                 {{"active", *active}}) ||
                          !tx->commit())
                          return error_response("internal_error", "webhooks");
                      return json_response(200, {{"ok", true}, {"active", *active}});
                  }));
    s.route(
        "DELETE", fmt::format("/v1/admin/webhook-endpoints/{}", k_id),
        admin(app, "webhooks:write",
              [&app](db::Database& db, const Actor& a, const http::Request& r) {
                  auto tx = db::Transaction::begin(db);
                  if (!tx)
                      return error_response("internal_error", "webhooks");
                  // An endpoint with delivery history is deactivated, not deleted.
                  auto gone = store::WebhookStore(db).delete_endpoint(r.params[0]);
                  if (!gone)
                      return error_response("internal_error", "webhooks");
                  if (!*gone)
                      return error_response("not_found",
                                            "not found: webhook endpoint " + r.params[0]);
                  if (!audit(db, app, a, "webhook_endpoint.delete", r.params[0], json::object()) ||
                      !tx->commit())
                      return error_response("internal_error", "webhooks");
                  return json_response(200, {{"ok", true}});
              }));
}

} // namespace keysat::api
