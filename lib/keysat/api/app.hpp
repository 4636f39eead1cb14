#pragma once
// The state keysat-serve's routes share, and the functions that register them.

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "keysat/api/limits.hpp"
#include "keysat/api/metrics.hpp"
#include "keysat/api/validation_log.hpp"
#include "keysat/crypto/signing.hpp"
#include "keysat/db/database.hpp"
#include "keysat/http/outbound.hpp"
#include "keysat/http/server.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/service/subscriptions.hpp"
#include "keysat/service/validation.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/commerce_store.hpp"
#include "keysat/util/clock.hpp"

namespace keysat::api {

// Single-use backup download links (POST /v1/admin/backup/link): the SHA-256 of each link's
// token, when it stops working, and who made it (the download's audit row names them). In
// memory: a restart ends every link.
struct BackupLinks {
    struct Link {
        std::int64_t expires_at = 0;
        std::string actor_kind, actor_id, actor_hmac;
    };
    std::mutex mutex;
    std::map<std::string, Link> by_hash;
};

struct App {
    std::filesystem::path db_path;
    license::Keyring keyring;                // every trusted verification key
    std::optional<crypto::SecretKey> signer; // nullopt: verify-only
    std::string master_key_sha256;           // hex SHA-256 of the master admin key
    std::string audit_secret; // key of the credential HMACs in audit rows (server.secret)
    std::string operator_name = "Keysat";
    std::string public_url = "http://127.0.0.1:8080"; // where buyers reach the server
    std::string btcpay_public_url;  // where buyers' browsers reach BTCPay, when it differs
    std::string btcpay_url;         // where keysat-serve reaches BTCPay to connect a store
    std::string btcpay_browser_url; // where the operator's browser does, when it differs
    std::string version = "0.1.0";
    const Clock* clock = nullptr;
    std::vector<std::string> trusted_proxies;
    RateLimiter* limiter = nullptr; // owned by the program
    service::VerifiedKeyCache* key_cache = nullptr;
    service::ValidationCache* row_cache = nullptr; // cleared after every commit of database()
    // Counts the commits through database()'s connections: what a cache of rendered pages keys on.
    std::shared_ptr<std::atomic<std::uint64_t>> commits =
        std::make_shared<std::atomic<std::uint64_t>>(0);
    std::shared_ptr<BackupLinks> backup_links = std::make_shared<BackupLinks>();
    double validate_rate = 1.0; // per client per second; 0: no limit
    double validate_burst = 60.0;
    ValidationLog* validation_log = nullptr;
    service::SeatBatcher* seats = nullptr; // validate's first activations, written in groups
    Metrics* metrics = nullptr;            // set when metrics_bind is
    // Where outbound requests may go; filled with the listening addresses before requests come.
    const http::OutboundPolicy* outbound = nullptr;
    // The file names of a product's newest release (the thank-you page's download links), when
    // the release gate serves a releases directory; unset otherwise.
    std::function<std::vector<std::string>(const std::string& product_slug)> release_files;

    // This thread's connection (SQLite connections are not shared between threads).
    Expected<db::Database*> database() const;
};

void register_public_routes(http::Server& server, const App& app);
void register_admin_routes(http::Server& server, const App& app);
// POST /v1/purchase, GET /v1/purchase/:id, POST /v1/redeem, GET /v1/discount-codes/preview.
void register_purchase_routes(http::Server& server, const App& app);
// The answers of POST /v1/purchase and POST /v1/recover, which the buy and recover pages' forms
// ask for too (as JSON requests built from the form).
http::Response purchase_answer(const App& app, db::Database& db, const http::Request& req);
http::Response recover_answer(const App& app, db::Database& db, const http::Request& req);
// The answer to a refused purchase, renewal or tier change: the refusal's code and message, but
// what a provider or the database said stays in the log (it names internal hosts).
http::Response refused(const service::Refused& r);
// The provider checkout of a paid invoice (purchase, renewal, tier change) at the provider the
// service picked; the buyer comes back to the invoice's redirect, the profile's, or the thank-you
// page. Empty when outbound requests are not set up.
service::CreateCheckout checkout_with(const App& app, db::Database& db);
// The automatic charge of a renewal with the buyer's saved Zaprite payment profile (the renewal
// worker's). Empty when outbound requests are not set up.
service::AutoCharge auto_charge_with(const App& app);
// POST /v1/subscriptions/cancel and /renew, POST /v1/upgrade-quote and /v1/upgrade (the key as
// proof); the admin's subscriptions and change-tier routes.
void register_subscription_routes(http::Server& server, const App& app);
// The answer of POST /v1/upgrade, which the /upgrade page's form asks for too.
http::Response upgrade_answer(const App& app, db::Database& db, const http::Request& req);
// GET /buy/:slug, POST /buy/:slug, GET /thank-you, GET and POST /recover, and their assets.
void register_page_routes(http::Server& server, const App& app);
// The operator's console under /admin/ (console.hpp): register it after every admin route, the
// release gate's included, since its pages and forms call them.
void register_console_routes(http::Server& server, const App& app);
// /v1/admin/merchant-profiles...: profiles, the default one, rail preferences.
void register_merchant_routes(http::Server& server, const App& app);
// BTCPay's connect round trip, status and disconnect; the payment providers' status.
void register_provider_admin_routes(http::Server& server, const App& app);
// POST /v1/btcpay/webhook/:provider_id and POST /v1/btcpay/webhook.
void register_provider_routes(http::Server& server, const App& app);
// The id of the payment provider made from the btcpay_* settings (a store configured by hand).
inline constexpr const char* k_static_btcpay_provider = "btcpay";
// The Zaprite account of a Keysat database from before its merchant profiles, once imported
// (Zaprite posts to /v1/zaprite/webhook).
inline constexpr const char* k_keysat_zaprite_provider = "zaprite";
// GET /v1/openapi.json: an OpenAPI 3.1 document generated from the routes registered on
// `server` before this call, so it cannot miss one. Register it last.
void register_openapi_route(http::Server& server, const App& app);
// The document itself.
nlohmann::json openapi_document(const http::Server& server, const App& app);

// Responses in the spec's shapes.
http::Response json_response(int status, const nlohmann::json& body);
// {"ok":false,"error":code,"message":message}; the status follows the code.
http::Response error_response(const std::string& code, const std::string& message);
// The error answer for a status the HTTP server produces itself (400, 404, 405, 413, 414, 416,
// 417, 431, 500, 501, 505): the spec's shape with a word for each.
http::Response error_for_status(int status);
// Runs a route's handler; when it failed (4xx or 5xx) because a write was refused for want of disk
// space, answers 503 service_unavailable saying so, with Retry-After, instead
// (ServerOptions::around). Reads never need space, so validate and the gate go on answering from
// what they can read.
http::Response refuse_when_disk_full(const http::Request& req, const http::Handler& handler);
// A product as the public and admin routes show it (Keysat's field names).
nlohmann::json product_json(const store::ProductRow& p);
// A recurring policy's period in days as Keysat counts it (month 30, year 365); 0 otherwise.
std::int64_t renewal_period_days(const store::PolicyRow& p);
// A policy's metadata object as Keysat's tools read it: what was sent, with the buy page's
// fields (description, highlight, bullets and their position, hidden entitlements) as stored.
nlohmann::json policy_metadata(const store::PolicyRow& p);
// A tier on the storefront (GET /v1/products/:slug/policies), with its featured code if any:
// every field of Keysat's, with Keysat's JSON types (integers never null).
nlohmann::json storefront_policy_json(const store::ProductRow& product,
                                      const store::PolicyRow& policy,
                                      const std::vector<store::DiscountCodeRow>& codes,
                                      std::int64_t now);

// A JSON array stored as text, or [] when the text is not one.
nlohmann::json json_array_or_empty(const std::string& text);

// This server's public URL without a trailing slash, for the links it hands out.
std::string public_base(const App& app);

// The operator name buyers see: the settings row when an operator set one, else configuration.
std::string operator_name(const App& app, db::Database& db);

// A handler that needs this thread's database connection: handler(db, request); 500 when the
// connection cannot be had.
template <typename F> http::Handler with_database(const App& app, F handler) {
    return [&app, handler](const http::Request& req) {
        auto db = app.database();
        if (!db)
            return error_response("internal_error", "database unavailable");
        return handler(**db, req);
    };
}

// Parses a JSON object body; nullopt (and `error` set) when malformed.
std::optional<nlohmann::json> parse_body(const http::Request& req, http::Response& error);

} // namespace keysat::api
