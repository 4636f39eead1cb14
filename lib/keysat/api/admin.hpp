#pragma once
// What the admin route files share: authentication and authorization of a request, the audit
// row every mutation writes in its transaction, and the wrapper that puts them in front of a
// handler.

#include <algorithm>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "keysat/api/app.hpp"
#include "keysat/api/fields.hpp"
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

// What a change did: the answer, its audit row and the outbound events it raises, all written
// in the route's transaction.
struct Mutated {
    nlohmann::json answer;
    std::string action; // audit action, e.g. product.create
    std::string target; // audit target id ("" for none)
    nlohmann::json details = nlohmann::json::object();
    std::vector<std::pair<std::string, nlohmann::json>> events = {}; // type, data
    int status = 200;
};
// A change's result: done, or an answer that refuses it (its transaction is rolled back).
using Outcome = std::variant<Mutated, http::Response>;

// Whether a change route reads a JSON object body: always, only when one is sent, or never.
enum class Body { json, optional_json, none };

// What a change sees: inside its open transaction, with the parsed body and its fields.
class Mutation {
  public:
    Mutation(const App& app, db::Database& db, const Actor& actor, const http::Request& req,
             nlohmann::json body)
        : app(app), db(db), actor(actor), req(req), body(std::move(body)), fields(this->body),
          now(app.clock->now()) {}
    Mutation(const Mutation&) = delete;
    Mutation& operator=(const Mutation&) = delete;

    const App& app;
    db::Database& db;
    const Actor& actor;
    const http::Request& req;
    const nlohmann::json body; // {} when the route reads none, or none was sent
    Fields fields;             // reads of `body`
    const std::int64_t now;

    // The 400 naming the first bad field read so far, if any.
    std::optional<http::Response> bad_fields() const;
};

// Writes a done change's audit row and events and commits, or returns the refusal.
http::Response finish_mutation(Mutation& m, db::Transaction& tx, Outcome outcome);

// No check before the transaction.
struct NoPrecheck {
    std::optional<http::Response> operator()(const nlohmann::json&) const { return std::nullopt; }
};

// An admin route that changes something, as one declaration: the scope it needs, the body it
// reads, and `apply(Mutation&) -> Outcome`. Authorizes, parses the body (a bad one is a 400),
// runs `precheck(body)` (slow checks such as DNS lookups, before the write lock is taken; an
// answer refuses), opens the transaction, applies, writes the audit row and the events,
// commits, answers.
template <typename F, typename P = NoPrecheck>
http::Handler mutation(const App& app, std::string scope, Body body, F apply, P precheck = {}) {
    return admin(app, std::move(scope),
                 [&app, body, apply, precheck](db::Database& db, const Actor& actor,
                                               const http::Request& req) -> http::Response {
                     nlohmann::json parsed = nlohmann::json::object();
                     if (body == Body::json || (body == Body::optional_json && !req.body.empty())) {
                         http::Response error;
                         auto p = parse_body(req, error);
                         if (!p)
                             return error;
                         parsed = std::move(*p);
                     }
                     if (auto refused = precheck(parsed))
                         return std::move(*refused);
                     auto tx = db::Transaction::begin(db);
                     if (!tx)
                         return error_response("internal_error", "database busy");
                     Mutation m(app, db, actor, req, std::move(parsed));
                     return finish_mutation(m, *tx, apply(m));
                 });
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

// One edit of one row, as the PATCH routes make it, inside a mutation: `find(id)` loads the row
// named by the route's first parameter (Expected<optional<Row>>), `change(row, details)` edits a
// copy and fills the audit details (a Refusal with a message stops), then the row gets its
// updated_at, `save(row)` stores it, and the answer is `out(row)` with audit row `action`.
// `what` names the row in errors.
template <typename Find, typename Change, typename Save, typename Out>
Outcome change_row(Mutation& m, const std::string& what, const std::string& action, Find find,
                   Change change, Save save, Out out) {
    const std::string& id = m.req.params[0];
    http::Response error;
    auto current = found(find(id), what, id, error);
    if (!current)
        return error;
    auto row = *current;
    nlohmann::json details = nlohmann::json::object();
    if (Refusal refused = change(row, details); !refused.message.empty())
        return error_response(refused.code, refused.message);
    row.updated_at = m.now;
    if (!save(row))
        return error_response("internal_error", "could not change the " + what);
    return Mutated{out(row), action, id, details};
}

// {"<field>": true|false}, the body of PATCH .../active and friends; nullopt when the body
// holds no such flag (answer flag_error(field) then).
std::optional<bool> flag_of(const Mutation& m, const char* field);
http::Response flag_error(const char* field);

// The names of a body's fields, for an update's audit details.
nlohmann::json field_names(const nlohmann::json& body);

// The `limit` query parameter: `fallback` when absent, clamped to 1..1000; nullopt with `error`
// set when it is not a number.
std::optional<std::int64_t> limit_param(const http::Request& req, std::int64_t fallback,
                                        http::Response& error);

// A license as the admin routes show it.
nlohmann::json license_out(const store::LicenseRow& l);

// Slugs hold a-z, 0-9, - and _, 1 to 64 characters.
bool valid_slug(const std::string& s);

// Registration of the route groups (admin_routes.cpp calls them).
void register_catalog_admin_routes(http::Server& s, const App& app);
void register_operations_admin_routes(http::Server& s, const App& app);
void register_discount_admin_routes(http::Server& s, const App& app);

} // namespace keysat::api
