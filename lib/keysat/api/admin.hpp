#pragma once
// What the admin route files share: authentication and authorization of a request, the audit
// row every mutation writes in its transaction, and the wrapper that puts them in front of a
// handler.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keysat/api/app.hpp"
#include "keysat/store/license_store.hpp"

namespace keysat::api {

struct Actor {
    std::string kind; // master, api_key
    std::string id;   // the API key's id, or "master"
    std::string hmac; // hex HMAC-SHA256 of the credential under the server secret
    std::vector<std::string> scopes;
    std::string ip;

    // Whether this actor holds `scope` (the master key holds every one).
    bool may(const std::string& scope) const {
        return kind == "master" || std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
    }
};

// Authenticates and authorizes; nullopt with `denied` set when refused (401 for a missing or
// non-Bearer header, 403 for an unknown, revoked or under-scoped key). `scope` empty: master only.
std::optional<Actor> authorize(const App& app, db::Database& db, const http::Request& req,
                               const std::string& scope, http::Response& denied);

// Appends the audit row of a mutation; call it inside the mutation's transaction.
Expected<void> audit(db::Database& db, const App& app, const Actor& actor,
                     const std::string& action, const std::string& target,
                     const nlohmann::json& details);

// Wraps an admin handler: database, auth, then the handler with the actor.
template <typename F> http::Handler admin(const App& app, std::string scope, F handler) {
    return [&app, scope = std::move(scope), handler](const http::Request& req) -> http::Response {
        auto db = app.database();
        if (!db)
            return error_response("internal_error", "database unavailable");
        http::Response denied;
        auto actor = authorize(app, **db, req, scope, denied);
        if (!actor)
            return denied;
        return handler(**db, *actor, req);
    };
}

// Why an edit is refused: an error code of error_response and its message; empty message: go on.
struct Refusal {
    std::string code;
    std::string message;
};

// The row a lookup found (`lookup` is Expected<optional<Row>>), or nullopt with `error` set: 500
// when the lookup failed, 404 "not found: <what> <key>" when there is no such row.
template <typename Row>
std::optional<Row> found(Expected<std::optional<Row>> lookup, const std::string& what,
                         const std::string& key, http::Response& error) {
    if (!lookup) {
        error = error_response("internal_error", "could not read the " + what);
        return std::nullopt;
    }
    if (!*lookup)
        error = error_response("not_found", "not found: " + what + " " + key);
    return std::move(*lookup);
}

// One edit of one row, as the PATCH routes make it: in one transaction, `find(id)` loads the row
// (Expected<optional<Row>>), `change(row, details)` edits a copy and fills the audit details (a
// Refusal with a message stops), then the row gets its updated_at, `save(row)` stores it, the
// audit row `action` is written, and the answer is `out(row)`. `what` names the row in errors.
template <typename Find, typename Change, typename Save, typename Out>
http::Response change_row(const App& app, db::Database& db, const Actor& actor,
                          const std::string& id, const std::string& what, const std::string& action,
                          Find find, Change change, Save save, Out out) {
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return error_response("internal_error", "database busy");
    http::Response error;
    auto current = found(find(id), what, id, error);
    if (!current)
        return error;
    auto row = *current;
    nlohmann::json details = nlohmann::json::object();
    if (Refusal refused = change(row, details); !refused.message.empty())
        return error_response(refused.code, refused.message);
    row.updated_at = app.clock->now();
    if (!save(row) || !audit(db, app, actor, action, id, details) || !tx->commit())
        return error_response("internal_error", "could not change the " + what);
    return json_response(200, out(row));
}

// The `limit` query parameter: `fallback` when absent, clamped to 1..1000; nullopt with `error`
// set when it is not a number.
std::optional<std::int64_t> limit_param(const http::Request& req, std::int64_t fallback,
                                        http::Response& error);

// A license as the admin routes show it.
nlohmann::json license_out(const store::LicenseRow& l);

// Slugs hold a-z, 0-9, - and _, 1 to 64 characters.
bool valid_slug(const std::string& s);

// Reads {"<field>": true|false} from the body (PATCH .../active and friends); nullopt with
// `error` set when the body is not such an object.
std::optional<bool> flag_body(const http::Request& req, const char* field, http::Response& error);

// Registration of the route groups (admin_routes.cpp calls them).
void register_catalog_admin_routes(http::Server& s, const App& app);
void register_operations_admin_routes(http::Server& s, const App& app);
void register_discount_admin_routes(http::Server& s, const App& app);

} // namespace keysat::api
