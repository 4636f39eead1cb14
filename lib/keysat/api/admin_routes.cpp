// Admin routes /v1/admin/*: bearer auth with the master key or scoped ks_ keys, and one audit row
// per mutation in the same transaction as the change.

#include <algorithm>

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/api/fields.hpp"
#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/secure.hpp"
#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/issuing/issue.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/service/catalog.hpp"
#include "keysat/service/issuance.hpp"
#include "keysat/service/roles.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/access_store.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/license_store.hpp"
#include "keysat/store/webhook_store.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/net.hpp"

namespace keysat::api {

using nlohmann::json;

std::optional<Actor> authorize(const App& app, db::Database& db, const http::Request& req,
                               const std::string& scope, http::Response& denied) {
    // Failed attempts are limited per client address: 10, then one every 5 seconds. The
    // credential is checked first, so that nobody can lock the operator out by failing on
    // purpose from a shared address; once over the limit a failure answers 429.
    // A request the console dispatched carries the operator it signed in (and checked at this
    // request): authorized here by the same scopes as a key's request.
    if (const auto* signed_in = std::any_cast<Actor>(&req.on_behalf_of)) {
        if (scope.empty() ? signed_in->kind == "master" : signed_in->may(scope))
            return *signed_in;
        denied = error_response("forbidden", scope.empty()
                                                 ? "forbidden: this needs the master key"
                                                 : "forbidden: this key lacks the scope " + scope);
        return std::nullopt;
    }
    std::string ip = client_address(req, app.trusted_proxies);
    auto refuse = [&](const char* code) {
        bool within =
            !app.limiter ||
            app.limiter->take("admin-auth-failures:" + net::rate_limit_key(ip), 0.2, 10.0);
        denied = within ? error_response(code, code)
                        : error_response("rate_limited", "too many failed attempts; slow down");
    };
    std::string auth = req.header("authorization");
    if (!auth.starts_with("Bearer ") || auth.size() <= 7) {
        refuse("unauthorized");
        return std::nullopt;
    }
    std::string token = auth.substr(7);
    std::string hash = hex_encode(crypto::sha256(as_bytes(token)));
    // What the audit shows of the credential: an HMAC under the server's secret, which no one
    // without the data directory can compare with a guess (a plain hash could be).
    Actor actor{"",
                "",
                hex_encode(crypto::hmac_sha256(as_bytes(app.audit_secret), as_bytes(token))),
                {},
                ip};
    if (!app.master_key_sha256.empty() &&
        crypto::equal_ct(as_bytes(hash), as_bytes(app.master_key_sha256))) {
        actor.kind = "master";
        actor.id = "master";
        return actor;
    }
    if (token.starts_with("ks_")) {
        store::AccessStore access(db);
        auto key = access.find_active_api_key(hash);
        // A valid key on a master-only route guessed no secret either: a 403 that does not count
        // against the failed-attempt limit.
        if (key && *key && scope.empty()) {
            denied = error_response("forbidden", "forbidden: this route needs the master key");
            return std::nullopt;
        }
        if (key && *key) {
            json scopes = json::parse((*key)->scopes_json, nullptr, false);
            if (scopes.is_array())
                for (const auto& s : scopes)
                    if (s.is_string())
                        actor.scopes.push_back(s.get<std::string>());
            if (std::find(actor.scopes.begin(), actor.scopes.end(), scope) != actor.scopes.end()) {
                actor.kind = "api_key";
                actor.id = (*key)->id;
                // Last use to the minute: a write per request would also clear validate's
                // row cache on every call of a polling script (found in review).
                std::int64_t now = app.clock->now();
                if (!(*key)->last_used_at || now - *(*key)->last_used_at >= 60)
                    (void)access.touch_api_key((*key)->id, now);
                return actor;
            }
            // A valid key without the scope: no secret was guessed, so it does not count
            // against the failed-attempt limit.
            denied = error_response("forbidden", "forbidden: this key lacks the scope " + scope);
            return std::nullopt;
        }
    }
    refuse("forbidden");
    return std::nullopt;
}

Expected<void> audit(db::Database& db, const App& app, const Actor& actor,
                     const std::string& action, const std::string& target, const json& details) {
    store::AccessStore access(db);
    return access.append_audit({0, app.clock->now(), actor.kind, actor.id, actor.hmac, action,
                                target, actor.ip, details.dump()});
}

std::optional<http::Response> Mutation::bad_fields() const {
    if (fields.error().empty())
        return std::nullopt;
    return error_response("bad_request", fields.error());
}

http::Response finish_mutation(Mutation& m, db::Transaction& tx, Outcome outcome) {
    if (auto* refused = std::get_if<http::Response>(&outcome))
        return std::move(*refused); // tx rolls back
    auto& done = std::get<Mutated>(outcome);
    if (!audit(m.db, m.app, m.actor, done.action, done.target, done.details))
        return error_response("internal_error", "could not write the audit row");
    for (const auto& [type, data] : done.events)
        if (!service::emit_event(m.db, type, data, m.now))
            return error_response("internal_error", "could not queue the " + type + " event");
    if (!tx.commit())
        return error_response("internal_error", "could not commit the change");
    return json_response(done.status, done.answer);
}

json license_out(const store::LicenseRow& l) {
    json ents = json::parse(l.entitlements_json, nullptr, false);
    return {
        {"id", l.id},
        {"product_id", l.product_id},
        {"invoice_id", l.invoice_id ? json(*l.invoice_id) : json(nullptr)},
        {"status", l.status},
        {"issued_at", format_timestamp(l.issued_at)},
        {"expires_at", l.expires_at ? json(format_timestamp(*l.expires_at)) : json(nullptr)},
        {"grace_seconds", l.grace_days * 86400},
        {"max_machines", l.max_machines},
        {"entitlements", ents.is_array() ? ents : json::array()},
        {"is_trial", l.is_trial},
        {"buyer_email", l.buyer_email ? json(*l.buyer_email) : json(nullptr)},
        {"policy_id", l.policy_id ? json(*l.policy_id) : json(nullptr)},
        {"suspension_reason", l.suspension_reason ? json(*l.suspension_reason) : json(nullptr)},
        {"revocation_reason", l.revocation_reason ? json(*l.revocation_reason) : json(nullptr)},
        {"fingerprint_sha256", l.fingerprint_sha256 ? json(*l.fingerprint_sha256) : json(nullptr)},
        // Keysat's fields that nothing here records: the raw fingerprint (only its hash is
        // kept), a bound identity, Nostr keys, the times of status changes, metadata.
        {"fingerprint", nullptr},
        {"bound_identity", nullptr},
        {"nostr_npub", nullptr},
        {"revoked_at", nullptr},
        {"suspended_at", nullptr},
        {"metadata", json::object()},
        {"source", l.source}};
}

bool valid_slug(const std::string& s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

std::optional<std::int64_t> limit_param(const http::Request& req, std::int64_t fallback,
                                        http::Response& error) {
    auto text = req.query_value("limit");
    if (!text)
        return fallback;
    try {
        return std::clamp<std::int64_t>(std::stoll(*text), 1, 1000);
    } catch (const std::exception&) {
        error = error_response("bad_request", "bad request: 'limit' is not a number");
        return std::nullopt;
    }
}

std::optional<bool> flag_of(const Mutation& m, const char* field) {
    auto it = m.body.find(field);
    if (it == m.body.end() || !it->is_boolean())
        return std::nullopt;
    return it->get<bool>();
}

http::Response flag_error(const char* field) {
    return error_response("bad_request",
                          fmt::format("bad request: '{}' must be true or false", field));
}

json field_names(const json& body) {
    json names = json::array();
    for (const auto& [k, v] : body.items())
        names.push_back(k);
    return names;
}

namespace {

using service::role_of;
using service::role_scopes;

Outcome issue_license(Mutation& m) {
    if (!m.app.signer)
        return error_response(
            "service_unavailable",
            "this server is verify-only: it holds no signing key, so it cannot "
            "issue licenses (issue them with keysat-issue and import the ledger)");
    auto& f = m.fields;
    auto product_slug = f.text("product_slug", true, 64);
    auto policy_slug = f.text("policy_slug", false, 64);
    auto expires_at = f.text("expires_at", false, 64);
    auto entitlements = f.strings("entitlements");
    auto max_machines = f.integer("max_machines", 0, 1000000);
    auto grace_seconds = f.integer("grace_seconds", 0, 365LL * 86400 * 10);
    auto is_trial = f.boolean("is_trial");
    auto email = f.text("buyer_email", false, 320);
    if (auto bad = m.bad_fields())
        return *bad;
    store::CatalogStore catalog(m.db);
    auto product = catalog.find_product_by_slug(*product_slug);
    if (!product || !*product)
        return error_response("not_found", "not found: product " + *product_slug);
    service::IssueRequest ir;
    ir.product = **product;
    if (policy_slug) {
        auto pol = catalog.find_policy_by_slug((*product)->id, *policy_slug);
        if (!pol || !*pol)
            return error_response("not_found", "not found: policy " + *policy_slug);
        ir.policy = **pol;
    }
    if (expires_at) {
        auto t = parse_date_unix(expires_at->substr(0, 10));
        if (!t)
            return error_response("bad_request", "bad request: 'expires_at' must be a future date");
        ir.expires_at = *t;
    }
    ir.entitlements = entitlements;
    ir.max_machines = max_machines;
    if (grace_seconds)
        ir.grace_days = *grace_seconds / 86400;
    ir.trial = is_trial;
    ir.buyer_email = email;
    auto row = service::issue_and_record(m.db, *m.app.signer, ir, m.now);
    if (!row)
        return row.error().code == Errc::invalid
                   ? error_response("bad_request", "bad request: " + row.error().message)
                   : error_response("internal_error", "could not record the license");
    return Mutated{
        {{"license_id", row->id},
         {"product_id", row->product_id},
         {"license_key", row->license_key},
         {"issued_at", format_timestamp(m.now)},
         {"expires_at", row->expires_at ? json(format_timestamp(*row->expires_at)) : json(nullptr)},
         {"entitlements", service::entitlements_of(*row)},
         {"is_trial", row->is_trial},
         {"max_machines", row->max_machines}},
        "license.issue",
        row->id,
        {{"product_id", row->product_id}}};
}

// revoke, suspend, unsuspend
Outcome license_status(Mutation& m, const std::string& op) {
    std::string reason = "admin " + op; // the audit row's and the event's default reason
    auto given = m.fields.text("reason", false, 500);
    if (auto bad = m.bad_fields())
        return *bad;
    if (given && !given->empty()) // Keysat: an empty reason means the default one
        reason = *given;
    const std::string& id = m.req.params[0];
    auto licenses = store::LicenseStore::open(m.db);
    if (!licenses)
        return error_response("internal_error", "database busy");
    auto changed = op == "revoke"    ? licenses->revoke(id, reason, m.now)
                   : op == "suspend" ? licenses->suspend(id, reason, m.now)
                                     : licenses->unsuspend(id, m.now);
    if (!changed)
        return error_response("internal_error", "could not change the license");
    if (!*changed)
        return error_response("not_found", fmt::format("not found: license {} in a state that "
                                                       "allows {}",
                                                       id, op));
    std::string event = op == "revoke"    ? "license.revoked"
                        : op == "suspend" ? "license.suspended"
                                          : "license.unsuspended";
    return Mutated{{{"ok", true}},
                   "license." + op,
                   id,
                   {{"reason", reason}},
                   {{event, {{"license_id", id}, {"reason", reason}}}}};
}

Outcome create_api_key(Mutation& m) {
    auto label = m.fields.text("label", true, 80);
    auto role = m.fields.text("role", true, 40);
    if (auto bad = m.bad_fields())
        return *bad;
    auto scopes = role_scopes(*role);
    if (!scopes)
        return error_response("bad_request", "bad request: 'role' must be read-only, "
                                             "license-issuer, support, merchant-onboard or "
                                             "full-admin");
    std::array<std::uint8_t, 32> secret;
    crypto::random_bytes(secret);
    std::string token = "ks_" + base64url_encode(secret);
    store::ApiKeyRow row{crypto::uuid_v4().to_string(),
                         *label,
                         hex_encode(crypto::sha256(as_bytes(token))),
                         json(*scopes).dump(),
                         m.now,
                         std::nullopt,
                         std::nullopt};
    if (!store::AccessStore(m.db).create_api_key(row))
        return error_response("internal_error", "could not create the key");
    return Mutated{{{"id", row.id},
                    {"label", row.name},
                    {"role", *role},
                    {"created_at", format_timestamp(row.created_at)},
                    {"token", token}},
                   "api_key.create",
                   row.id,
                   {{"role", *role}}};
}

} // namespace

// What a role that cannot change webhooks sees of an endpoint's URL: its scheme and host (and
// port), never the rest: receivers put capability tokens in the user information, the query,
// and often the path (Slack, Discord, Zapier). A host that is not a plain name or address is
// hidden too, so no odd spelling can smuggle a secret through.
std::string redacted_url(const std::string& url) {
    auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos)
        return "(hidden)";
    std::size_t host_start = scheme_end + 3;
    std::size_t rest = url.find_first_of("/?#", host_start);
    std::string authority = url.substr(host_start, rest - host_start);
    if (auto at = authority.rfind('@'); at != std::string::npos)
        authority.erase(0, at + 1); // user information
    // host[:port]: a name or IPv4 address, or an IPv6 literal in brackets; a port of digits.
    bool literal = authority.starts_with('[');
    std::size_t port = literal ? authority.find("]:") : authority.rfind(':');
    if (literal && port != std::string::npos)
        ++port; // at the colon after the bracket
    std::string host = authority.substr(0, port);
    std::string digits = port == std::string::npos ? "" : authority.substr(port + 1);
    auto is = [](const std::string& text, std::string_view extra) {
        return std::all_of(text.begin(), text.end(), [&](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) ||
                   extra.find(c) != std::string_view::npos;
        });
    };
    bool ok =
        !host.empty() &&
        (host.starts_with('[') ? host.ends_with(']') && is(host, "[]:.") : is(host, ".-")) &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        (port == std::string::npos || !digits.empty());
    if (!ok)
        return "(hidden)";
    return url.substr(0, host_start) + authority + (rest == std::string::npos ? "" : "/…");
}

// An endpoint as listed (never its secret): our `events` ([] for every event) and Keysat's
// `event_types` (["*"] for every event). `full_url` only for roles that may change webhooks.
json endpoint_json(const store::WebhookEndpointRow& e, bool full_url = true) {
    json events = json_array_or_empty(e.events_json);
    return {{"id", e.id},
            {"url", full_url ? e.url : redacted_url(e.url)},
            {"events", events},
            {"event_types", events.empty() ? json::array({"*"}) : events},
            {"description", e.description},
            {"active", e.active},
            {"created_at", format_timestamp(e.created_at)},
            {"updated_at", format_timestamp(e.updated_at)}};
}

// The endpoint URL against the outbound policy, before the transaction (a lookup may take
// seconds), and again at each delivery (the name may resolve elsewhere later). A name that does
// not resolve yet is accepted: its deliveries fail until it does.
std::optional<http::Response> check_endpoint_url(const App& app, const json& body) {
    auto url = body.find("url");
    if (url == body.end() || !url->is_string())
        return std::nullopt; // the fields' own error, in the transaction
    if (auto parsed = http::parse_url(url->get<std::string>()); !parsed)
        return error_response("bad_request", "bad request: 'url': " + parsed.error().message);
    if (app.outbound != nullptr) {
        auto vetted = http::vet(*app.outbound, url->get<std::string>(), std::chrono::seconds(3));
        if (!vetted && http::is_refusal(vetted.error()))
            return error_response("bad_request", "bad request: 'url' " + vetted.error().message);
    }
    return std::nullopt;
}

Outcome create_webhook_endpoint(Mutation& m) {
    auto& f = m.fields;
    auto url = f.text("url", true, 2000);
    auto events = f.strings("events");
    if (!events) // Keysat's name; ["*"] means every event, as our empty list does
        events = f.strings("event_types");
    auto description = f.text("description", false, 500);
    if (auto bad = m.bad_fields())
        return *bad;
    if (events && std::find(events->begin(), events->end(), "*") != events->end())
        events->clear();
    std::array<std::uint8_t, 32> secret;
    crypto::random_bytes(secret);
    store::WebhookEndpointRow e{crypto::uuid_v4().to_string(),
                                *url,
                                hex_encode(secret),
                                json(events.value_or(std::vector<std::string>{})).dump(),
                                true,
                                m.now,
                                m.now,
                                description.value_or("")};
    if (!store::WebhookStore(m.db).create_endpoint(e))
        return error_response("internal_error", "could not create the endpoint");
    // The secret is shown once, here; listings never show it.
    json out = endpoint_json(e);
    out["secret"] = e.secret;
    return Mutated{out, "webhook_endpoint.create", e.id, {{"url", redacted_url(e.url)}}};
}

// How a delivery went, in one word: delivered, pending (not tried yet), refused (the receiver
// answered with an error status, or the outbound policy refused its address), timed out, or
// failed (no answer: connection errors).
std::string delivery_outcome(const store::DeliveryRow& d) {
    if (d.delivered_at)
        return "delivered";
    if (d.attempts == 0)
        return "pending";
    if (d.last_status)
        return "refused";
    if (d.last_error && d.last_error->starts_with("refused")) // by the outbound policy
        return "refused";
    if (d.last_error) {
        std::string e = *d.last_error; // "timed out: ...", or older rows' "Read timeout"
        std::transform(e.begin(), e.end(), e.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (e.find("timeout") != std::string::npos || e.find("timed out") != std::string::npos)
            return "timed out";
    }
    return "failed";
}

// A delivery as listed; the connection error text only for roles that may change webhooks (it
// tells open ports from closed ones), the others see the outcome word.
json delivery_out(const store::DeliveryRow& d, bool error_text) {
    auto time = [](const std::optional<std::int64_t>& t) {
        return t ? json(format_timestamp(*t)) : json(nullptr);
    };
    return {
        {"id", d.id},
        {"endpoint_id", d.endpoint_id},
        {"event_type", d.event_type},
        {"payload_json", d.body},
        {"attempts", d.attempts},
        {"attempt_count", d.attempts},
        {"next_attempt_at", d.delivered_at || d.dead ? json(nullptr) : time(d.next_attempt_at)},
        {"last_status", d.last_status ? json(*d.last_status) : json(nullptr)},
        {"last_status_code", d.last_status ? json(*d.last_status) : json(nullptr)},
        {"last_error", d.last_error && error_text ? json(*d.last_error) : json(nullptr)},
        {"outcome", delivery_outcome(d)},
        {"delivered_at", d.delivered_at ? json(format_timestamp(*d.delivered_at)) : json(nullptr)},
        {"dead", d.dead},
        {"created_at", format_timestamp(d.created_at)}};
}

void register_webhook_routes(http::Server& s, const App& app) {
    s.route("POST", "/v1/admin/webhook-endpoints",
            mutation(app, "webhooks:write", Body::json, create_webhook_endpoint,
                     [&app](const json& body) { return check_endpoint_url(app, body); }));
    s.route("GET", "/v1/admin/webhook-endpoints",
            admin(app, "webhooks:read", [](db::Database& db, const Actor& a, const http::Request&) {
                auto list = store::WebhookStore(db).list_endpoints(false);
                if (!list)
                    return error_response("internal_error", "webhooks");
                json out = json::array();
                for (const auto& e : *list)
                    out.push_back(endpoint_json(e, a.may("webhooks:write")));
                return json_response(200, {{"endpoints", out}});
            }));
    s.route(
        "GET", "/v1/admin/webhook-deliveries",
        admin(app, "webhooks:read", [](db::Database& db, const Actor& a, const http::Request& r) {
            http::Response error;
            auto limit = limit_param(r, 100, error);
            if (!limit)
                return error;
            auto list = store::WebhookStore(db).list_deliveries(
                r.query_value("status").value_or("all"), std::min<std::int64_t>(*limit, 500),
                r.query_value("endpoint_id").value_or(""));
            if (!list)
                return error_response("bad_request", "bad request: " + list.error().message);
            json out = json::array();
            for (const auto& d : *list)
                out.push_back(delivery_out(d, a.may("webhooks:write")));
            return json_response(200, {{"deliveries", out}});
        }));
    s.route("POST", "/v1/admin/webhook-deliveries/([0-9a-f-]{36})/retry",
            mutation(app, "webhooks:write", Body::none, [](Mutation& m) -> Outcome {
                const auto& id = m.req.params[0];
                auto done = store::WebhookStore(m.db).retry(id, m.now);
                if (!done)
                    return error_response("internal_error", "webhooks");
                if (!*done)
                    return error_response("not_found", "not found: undelivered delivery " + id);
                return Mutated{{{"ok", true}}, "webhook_delivery.retry", id};
            }));
}

void register_admin_routes(http::Server& s, const App& app) {
    register_webhook_routes(s, app);
    register_catalog_admin_routes(s, app);
    register_operations_admin_routes(s, app);
    register_discount_admin_routes(s, app);
    s.route("POST", "/v1/admin/licenses",
            mutation(app, "licenses:write", Body::json, issue_license));
    s.route("GET", "/v1/admin/licenses/search",
            admin(app, "licenses:read", [](db::Database& db, const Actor&, const http::Request& r) {
                json out = json::array();
                // Keysat's filters are ANDed; no license here has a Nostr key.
                if (r.query_value("nostr_npub"))
                    return json_response(200, {{"licenses", out}});
                auto licenses = store::LicenseStore::open(db);
                if (!licenses)
                    return error_response("internal_error", "licenses");
                auto found = licenses->search(r.query_value("buyer_email"),
                                              r.query_value("invoice_id"), 100);
                if (!found)
                    return error_response("internal_error", "licenses");
                // Ours: ?key=LIC1-... finds the license the key names, when the key is the one
                // stored (the key itself is not trusted: it only names an id).
                if (auto key = r.query_value("key")) {
                    found->clear();
                    auto decoded =
                        license::decode_license_key(trim(*key), license::Strictness::lenient);
                    if (decoded)
                        if (auto l = licenses->find(decoded->payload.license_id.to_string());
                            l && *l && (*l)->license_key == trim(*key))
                            found->push_back(**l);
                }
                store::CatalogStore catalog(db);
                for (const auto& l : *found) {
                    json row = license_out(l);
                    // Keysat adds the names of the product and tier when they resolve.
                    if (auto p = catalog.find_product(l.product_id); p && *p)
                        row["product_slug"] = (*p)->slug;
                    if (l.policy_id)
                        if (auto pol = catalog.find_policy(*l.policy_id); pol && *pol) {
                            row["policy_slug"] = (*pol)->slug;
                            row["policy_name"] = (*pol)->name;
                        }
                    out.push_back(std::move(row));
                }
                return json_response(200, {{"licenses", out}});
            }));
    for (std::string op : {"revoke", "suspend", "unsuspend"})
        s.route("POST", "/v1/admin/licenses/([0-9a-f-]{36})/" + op,
                mutation(app, "licenses:write", Body::optional_json,
                         [op](Mutation& m) { return license_status(m, op); }));
    s.route("POST", "/v1/admin/api-keys", mutation(app, "", Body::json, create_api_key));
    s.route("GET", "/v1/admin/api-keys",
            admin(app, "", [](db::Database& db, const Actor&, const http::Request&) {
                auto keys = store::AccessStore(db).list_api_keys();
                if (!keys)
                    return error_response("internal_error", "api keys");
                json out = json::array();
                for (const auto& k : *keys)
                    out.push_back(
                        {{"id", k.id},
                         {"label", k.name},
                         {"role", role_of(k.scopes_json)},
                         {"scopes", json::parse(k.scopes_json, nullptr, false)},
                         {"created_at", format_timestamp(k.created_at)},
                         {"last_used_at",
                          k.last_used_at ? json(format_timestamp(*k.last_used_at)) : json(nullptr)},
                         {"revoked_at",
                          k.revoked_at ? json(format_timestamp(*k.revoked_at)) : json(nullptr)}});
                return json_response(200, {{"api_keys", out}});
            }));
    s.route("DELETE", "/v1/admin/api-keys/([0-9a-f-]{36})",
            mutation(app, "", Body::none, [](Mutation& m) -> Outcome {
                auto revoked = store::AccessStore(m.db).revoke_api_key(m.req.params[0], m.now);
                if (!revoked)
                    return error_response("internal_error", "api keys");
                if (!*revoked)
                    return error_response("not_found", "not found: api key " + m.req.params[0]);
                return Mutated{{{"ok", true}}, "api_key.revoke", m.req.params[0]};
            }));
    s.route(
        "GET", "/v1/admin/audit",
        admin(app, "audit:read", [](db::Database& db, const Actor& actor, const http::Request& r) {
            store::AuditFilter filter;
            filter.action = r.query_value("action");
            filter.actor_hmac = r.query_value("actor_hash");
            filter.actor_id = r.query_value("actor_id");
            filter.target = r.query_value("target_id");
            for (auto [name, slot] :
                 {std::pair{"since", &filter.since}, std::pair{"until", &filter.until}})
                if (auto t = r.query_value(name)) {
                    *slot = parse_timestamp(*t);
                    if (!*slot)
                        return error_response("bad_request",
                                              fmt::format("bad request: '{}' must be an RFC "
                                                          "3339 time",
                                                          name));
                }
            http::Response error;
            auto limit = limit_param(r, 200, error);
            if (!limit)
                return error;
            filter.limit = *limit;
            auto rows = store::AccessStore(db).list_audit(filter);
            if (!rows)
                return error_response("internal_error", "audit");
            json out = json::array();
            bool full_urls = actor.may("webhooks:write");
            for (const auto& a : *rows) {
                json details = json::parse(a.details_json, nullptr, false);
                // Rows written before URLs were redacted in the audit keep them whole.
                if (!full_urls && details.is_object() && details.contains("url") &&
                    details["url"].is_string())
                    details["url"] = redacted_url(details["url"]);
                out.push_back(
                    {{"id", a.id},
                     {"actor_kind", a.actor_kind},
                     // Keysat's field, holding the HMAC (null on rows from before version 5).
                     {"actor_hash", a.actor_hmac ? json(*a.actor_hmac) : json(nullptr)},
                     {"actor_id", a.actor_id ? json(*a.actor_id) : json(nullptr)},
                     {"action", a.action},
                     // Keysat's target kind: what the action names ("license.revoke").
                     {"target_kind",
                      a.target ? json(a.action.substr(0, a.action.find('.'))) : json(nullptr)},
                     {"target_id", a.target ? json(*a.target) : json(nullptr)},
                     {"user_agent", nullptr}, // not recorded
                     {"request_ip", a.request_ip ? json(*a.request_ip) : json(nullptr)},
                     {"details", details},
                     {"occurred_at", format_timestamp(a.at)}});
            }
            return json_response(200, {{"entries", out}});
        }));
}

} // namespace keysat::api
