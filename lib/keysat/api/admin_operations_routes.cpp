// Admin routes for day-to-day operations: license listing and ledger import, machines, settings,
// webhook endpoint activation and deletion, and the download of a backup.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/api/fields.hpp"
#include "keysat/api/limits.hpp"
#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/secure.hpp"
#include "keysat/service/ledger.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/access_store.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/commerce_store.hpp"
#include "keysat/store/machine_store.hpp"
#include "keysat/store/stats_store.hpp"
#include "keysat/store/webhook_store.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"

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

// GET /v1/admin/dashboard?days=7|30|90 (default 30): the operator's figures over the last
// `days` UTC days, today included. Every figure reads an index or the validation rollup.
http::Response dashboard(const App& app, db::Database& db, const http::Request& r) {
    std::string days_text = r.query_value("days").value_or("30");
    if (days_text != "7" && days_text != "30" && days_text != "90")
        return error_response("bad_request", "bad request: 'days' must be 7, 30 or 90");
    std::int64_t days = std::stoll(days_text);
    std::int64_t today = app.clock->now() / 86400;
    std::int64_t from = today - days + 1;
    store::StatsStore stats(db);
    auto revenue = stats.revenue(from);
    auto issued = stats.licenses_issued(from);
    auto checks = stats.validations(from);
    auto machines = stats.active_machines();
    auto open = stats.open_invoices();
    auto failed = stats.failed_deliveries();
    auto products = store::CatalogStore(db).list_products(false);
    if (!revenue || !issued || !checks || !machines || !open || !failed || !products)
        return error_response("internal_error", "could not read the dashboard's figures");
    std::map<std::string, std::string> slugs;
    for (const auto& p : *products)
        slugs[p.id] = p.slug;
    auto date = [](std::int64_t day) { return format_date(day * 86400); };
    json rev = json::array(), lic = json::array(), val = json::array();
    for (const auto& d : *revenue)
        rev.push_back({{"date", date(d.day)},
                       {"product_id", d.product_id},
                       {"product_slug", slugs.count(d.product_id) ? slugs[d.product_id] : ""},
                       {"currency", d.currency},
                       {"amount", d.amount},
                       {"invoices", d.invoices}});
    for (const auto& d : *issued)
        lic.push_back({{"date", date(d.day)}, {"count", d.count}});
    for (const auto& d : *checks)
        val.push_back({{"date", date(d.day)}, {"result", d.key}, {"count", d.count}});
    return json_response(200, {{"days", days},
                               {"from", date(from)},
                               {"to", date(today)},
                               {"revenue", rev},
                               {"licenses_issued", lic},
                               {"validations", val},
                               {"active_machines", *machines},
                               {"open_invoices", *open},
                               {"failed_deliveries", *failed}});
}

// GET /v1/admin/licenses/:id: the license as listed, with its newest validations (?limit=,
// default 50).
http::Response license_detail(db::Database& db, const http::Request& r) {
    http::Response error;
    auto licenses = store::LicenseStore::open(db);
    if (!licenses)
        return error_response("internal_error", "licenses");
    auto row = found(licenses->find(r.params[0]), "license", r.params[0], error);
    if (!row)
        return error;
    auto limit = limit_param(r, 50, error);
    if (!limit)
        return error;
    auto checks = store::AccessStore(db).validations_of(row->id, *limit);
    if (!checks)
        return error_response("internal_error", "validations");
    json validations = json::array();
    for (const auto& v : *checks)
        validations.push_back({{"at", format_timestamp(v.at)},
                               {"result", v.result},
                               {"fingerprint_sha256",
                                v.fingerprint_sha256 ? json(*v.fingerprint_sha256) : json(nullptr)},
                               {"request_ip", v.request_ip ? json(*v.request_ip) : json(nullptr)}});
    json out = license_out(*row);
    out["validations"] = validations;
    return json_response(200, out);
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

// GET /v1/admin/invoices?status=&limit=: the newest invoices, newest first, with their
// product's slug (what the console's invoices page lists).
http::Response list_invoices(db::Database& db, const http::Request& r) {
    auto status = r.query_value("status");
    if (status && *status != "new" && *status != "processing" && *status != "settled" &&
        *status != "expired" && *status != "invalid")
        return error_response("bad_request", "bad request: 'status' must be new, processing, "
                                             "settled, expired or invalid");
    http::Response error;
    auto limit = limit_param(r, 100, error);
    if (!limit)
        return error;
    auto rows = store::CommerceStore(db).newest_invoices(status, static_cast<int>(*limit));
    auto products = store::CatalogStore(db).list_products(false);
    if (!rows || !products)
        return error_response("internal_error", "invoices");
    std::map<std::string, std::string> slugs;
    for (const auto& p : *products)
        slugs[p.id] = p.slug;
    auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
    json out = json::array();
    for (const auto& i : *rows)
        out.push_back(
            {{"id", i.id},
             {"status", i.status},
             {"purpose", i.purpose},
             {"product_id", i.product_id},
             {"product_slug",
              slugs.count(i.product_id) ? json(slugs[i.product_id]) : json(nullptr)},
             {"policy_id", opt(i.policy_id)},
             {"base_amount", i.base_amount},
             {"discount_amount", i.discount_amount},
             {"amount", i.amount},
             {"currency", i.currency},
             {"buyer_email", opt(i.buyer_email)},
             {"license_id", opt(i.license_id)},
             {"provider_id", opt(i.provider_id)},
             {"provider_invoice_id", opt(i.provider_invoice_id)},
             {"created_at", format_timestamp(i.created_at)},
             {"settled_at", i.settled_at ? json(format_timestamp(*i.settled_at)) : json(nullptr)}});
    return json_response(200, {{"invoices", out}});
}

// POST /v1/admin/licenses/import: the body is a keysat-issue ledger (JSON lines). Every key must
// verify with a trusted key; with problems nothing is imported unless ?keep_going=true.
Outcome import_ledger(Mutation& m) {
    bool keep_going = m.req.query_value("keep_going").value_or("") == "true";
    auto report = service::import_ledger(
        m.db, m.req.body, m.app.keyring,
        keep_going ? service::KeepGoing::yes : service::KeepGoing::no, m.now);
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
    out["ok"] = true;
    return Mutated{
        out, "license.import", "", {{"records", report->records}, {"inserted", report->inserted}}};
}

Outcome deactivate_machine(Mutation& m) {
    auto given = m.fields.text("reason", false, 500);
    if (auto bad = m.bad_fields())
        return *bad;
    std::string reason = given.value_or("admin");
    store::MachineStore machines(m.db);
    auto row = machines.find(m.req.params[0]);
    if (!row)
        return error_response("internal_error", "machines");
    if (!*row || (*row)->deactivated_at)
        return error_response("not_found", "not found: active machine " + m.req.params[0]);
    const auto& machine = **row;
    if (!machines.deactivate(machine.id, m.now, reason))
        return error_response("internal_error", "could not deactivate the machine");
    return Mutated{{{"ok", true}},
                   "machine.deactivate",
                   machine.id,
                   {{"license_id", machine.license_id}, {"reason", reason}},
                   {{"machine.deactivated",
                     {{"license_id", machine.license_id}, {"machine_id", machine.id}}}}};
}

// GET /v1/admin/backup: a consistent copy of the whole database, taken with SQLite's online
// backup from a connection of its own (other requests go on meanwhile) into a file beside the
// database (mode 0600), which is unlinked once open: the copy lives only while it is sent. One
// at a time, so that copies cannot fill the disk the database lives on; a HEAD makes none.
http::Response download_backup(const App& app, db::Database& db, const Actor& actor,
                               const http::Request& req) {
    static std::atomic<bool> busy{false};
    if (req.method == "HEAD")
        return error_response("method_not_allowed", "a backup is made only for a GET");
    if (busy.exchange(true))
        return error_response("service_unavailable", "another backup is being made; try again");
    // Until the copy is sent (its body is released), or until a refusal below.
    struct Release {
        bool handed_over = false;
        ~Release() {
            if (!handed_over)
                busy = false;
        }
    } release;
    auto dir = app.db_path.parent_path();
    if (dir.empty())
        dir = ".";
    // Copies a crash left behind are stale now that none is being made.
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.path().filename().string().starts_with(".keysat-backup-"))
            std::filesystem::remove(entry.path(), ec);
    auto source = db::Database::open(app.db_path, db::OpenMode::read_write);
    if (!source)
        return error_response("service_unavailable", "the database cannot be opened for a copy");
    auto now = app.clock->now();
    std::string stamp = format_timestamp(now);
    std::erase(stamp, '-');
    std::erase(stamp, ':');
    auto copy = dir / fmt::format(".keysat-backup-{}-{}.db", stamp, ::getpid());
    if (!source->backup_to(copy))
        return error_response("internal_error", "the copy could not be written (disk full?)");
    int fd = ::open(copy.c_str(), O_RDONLY | O_CLOEXEC);
    std::filesystem::remove(copy, ec);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0)
            ::close(fd);
        return error_response("internal_error", "could not read the backup copy");
    }
    std::shared_ptr<http::FileBody> file(
        new http::FileBody(fd, static_cast<std::uint64_t>(st.st_size), 0), [](http::FileBody* f) {
            delete f;
            busy = false;
        });
    release.handed_over = true;
    file->whole_only = true;
    if (!audit(db, app, actor, "backup.download", "", {{"bytes", st.st_size}}))
        return error_response("internal_error", "could not write the audit row");
    http::Response r;
    r.content_type = "application/vnd.sqlite3";
    r.file = std::move(file);
    r.headers = {
        {"Content-Disposition", fmt::format("attachment; filename=\"keysat-{}.db\"", stamp)},
        {"Cache-Control", "no-store"}};
    return r;
}

} // namespace

// The operator name buyers see: the settings row when an operator set one, else configuration.
std::string operator_name(const App& app, db::Database& db) {
    auto stored = store::AccessStore(db).setting("operator_name");
    return stored && *stored ? **stored : app.operator_name;
}

constexpr std::int64_t k_backup_link_seconds = 600;
constexpr std::size_t k_backup_links_max = 100;

// POST /v1/admin/backup/link: a link that downloads one backup, once, within 10 minutes, without
// the admin key (what the StartOS action hands out: nothing secret lasts in a shell's history).
http::Response make_backup_link(const App& app, db::Database& db, const Actor& actor) {
    std::array<std::uint8_t, 32> secret;
    crypto::random_bytes(secret);
    std::string token = base64url_encode(secret);
    auto now = app.clock->now();
    {
        std::lock_guard lock(app.backup_links->mutex);
        auto& links = app.backup_links->by_hash;
        std::erase_if(links, [now](const auto& l) { return l.second.expires_at <= now; });
        if (links.size() >= k_backup_links_max)
            return error_response("rate_limited", "too many unused backup links; wait for them "
                                                  "to expire (10 minutes)");
        links[hex_encode(crypto::sha256(as_bytes(token)))] = {now + k_backup_link_seconds,
                                                              actor.kind, actor.id, actor.hmac};
    }
    if (!audit(db, app, actor, "backup.link", "", json::object()))
        return error_response("internal_error", "could not write the audit row");
    std::string path = "/v1/backup/" + token;
    return json_response(200, {{"path", path},
                               {"url", app.public_url + path},
                               {"expires_at", format_timestamp(now + k_backup_link_seconds)}});
}

// GET /v1/backup/:token: the backup a link was made for, once.
http::Response follow_backup_link(const App& app, const http::Request& req) {
    std::optional<BackupLinks::Link> link;
    {
        std::lock_guard lock(app.backup_links->mutex);
        auto& links = app.backup_links->by_hash;
        auto it = links.find(hex_encode(crypto::sha256(as_bytes(req.params[0]))));
        if (it != links.end() && req.method == "GET") { // a HEAD is refused below, link kept
            if (it->second.expires_at > app.clock->now())
                link = it->second;
            links.erase(it);
        }
    }
    http::Response r =
        link ? error_response("internal_error", "database unavailable")
             : error_response("not_found", "no such backup link (a link works once, within 10 "
                                           "minutes of being made)");
    if (link) {
        Actor actor{link->actor_kind,
                    link->actor_id,
                    link->actor_hmac,
                    {},
                    client_address(req, app.trusted_proxies)};
        if (auto db = app.database())
            r = download_backup(app, **db, actor, req);
    }
    r.log_path = "/v1/backup/<token>";
    return r;
}

void register_operations_admin_routes(http::Server& s, const App& app) {
    s.route("POST", "/v1/admin/backup/link",
            admin(app, "", [&app](db::Database& db, const Actor& actor, const http::Request&) {
                return make_backup_link(app, db, actor);
            }));
    s.route("GET", "/v1/backup/([A-Za-z0-9_-]{43})",
            [&app](const http::Request& r) { return follow_backup_link(app, r); });
    s.route("GET", "/v1/admin/backup",
            admin(app, "", [&app](db::Database& db, const Actor& actor, const http::Request& r) {
                return download_backup(app, db, actor, r);
            }));
    s.route("GET", "/v1/admin/licenses",
            admin(app, "licenses:read", [](db::Database& db, const Actor&, const http::Request& r) {
                return list_licenses(db, r);
            }));
    // One license with its newest validations (what the console's license page shows).
    s.route("GET", fmt::format("/v1/admin/licenses/{}", k_id),
            admin(app, "licenses:read", [](db::Database& db, const Actor&, const http::Request& r) {
                return license_detail(db, r);
            }));
    s.route(
        "GET", "/v1/admin/dashboard",
        admin(app, "licenses:read", [&app](db::Database& db, const Actor&, const http::Request& r) {
            return dashboard(app, db, r);
        }));
    // The body is JSON lines, read by the import itself.
    s.route("POST", "/v1/admin/licenses/import",
            mutation(app, "licenses:write", Body::none, import_ledger));
    s.route("GET", "/v1/admin/invoices",
            admin(app, "licenses:read", [](db::Database& db, const Actor&, const http::Request& r) {
                return list_invoices(db, r);
            }));
    s.route("GET", "/v1/admin/machines",
            admin(app, "machines:read", [](db::Database& db, const Actor&, const http::Request& r) {
                return list_machines(db, r);
            }));
    s.route("POST", fmt::format("/v1/admin/machines/{}/deactivate", k_id),
            mutation(app, "machines:write", Body::optional_json, deactivate_machine));
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
    s.route("POST", "/v1/admin/settings/operator-name",
            mutation(app, "settings:write", Body::json, [](Mutation& m) -> Outcome {
                // Ours is operator_name; Keysat's scripts send name.
                auto name =
                    m.fields.text(m.body.contains("name") ? "name" : "operator_name", true, 200);
                if (auto bad = m.bad_fields())
                    return *bad;
                if (!store::AccessStore(m.db).set_setting("operator_name", *name, m.now))
                    return error_response("internal_error", "could not store the setting");
                return Mutated{{{"ok", true}, {"operator_name", *name}},
                               "settings.operator_name",
                               "",
                               {{"operator_name", *name}}};
            }));
    s.route("PATCH", fmt::format("/v1/admin/webhook-endpoints/{}/active", k_id),
            mutation(app, "webhooks:write", Body::json, [](Mutation& m) -> Outcome {
                auto active = flag_of(m, "active");
                if (!active)
                    return flag_error("active");
                store::WebhookStore hooks(m.db);
                return change_row(
                    m, "webhook endpoint", "webhook_endpoint.set_active",
                    [&](const std::string& id) { return hooks.find_endpoint(id); },
                    [&](store::WebhookEndpointRow& e, json& details) {
                        e.active = *active;
                        details = {{"active", *active}};
                        return Refusal{};
                    },
                    [&](const store::WebhookEndpointRow& e) { return hooks.update_endpoint(e); },
                    [&](const store::WebhookEndpointRow&) {
                        return json{{"ok", true}, {"active", *active}};
                    });
            }));
    s.route("DELETE", fmt::format("/v1/admin/webhook-endpoints/{}", k_id),
            mutation(app, "webhooks:write", Body::none, [](Mutation& m) -> Outcome {
                const auto& id = m.req.params[0];
                // An endpoint with delivery history is deactivated, not deleted.
                auto gone = store::WebhookStore(m.db).delete_endpoint(id);
                if (!gone)
                    return error_response("internal_error", "webhooks");
                if (!*gone)
                    return error_response("not_found", "not found: webhook endpoint " + id);
                return Mutated{{{"ok", true}}, "webhook_endpoint.delete", id};
            }));
}

} // namespace keysat::api
