#include "keysat/cli/serve_cli.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <pthread.h>
#include <thread>

#include <fmt/format.h>

#include "keysat/api/app.hpp"
#include "keysat/api/maintenance.hpp"
#include "keysat/api/reconciler.hpp"
#include "keysat/api/renewal_worker.hpp"
#include "keysat/api/webhook_worker.hpp"
#include "keysat/cli/common.hpp"
#include "keysat/config/config.hpp"
#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/password.hpp"
#include "keysat/crypto/secure.hpp"
#include "keysat/db/migrations.hpp"
#include "keysat/gate/routes.hpp"
#include "keysat/http/outbound.hpp"
#include "keysat/issuing/keyfile.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/service/ledger.hpp"
#include "keysat/store/access_store.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/store/license_store.hpp"
#include "keysat/store/session_store.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/file.hpp"
#include "keysat/util/terminal.hpp"

namespace keysat::cli {

namespace {

namespace fs = std::filesystem;

Expected<config::ServeConfig> load_config(const ServeOptions& o) {
    config::ServeConfig c;
    if (!o.config_file.empty()) {
        KEYSAT_TRY_ASSIGN(text, read_small_file(o.config_file));
        KEYSAT_TRY(config::apply_toml(c, text, o.config_file));
    }
    KEYSAT_TRY(config::apply_env(c, config::process_env()));
    std::map<std::string, std::string> flags;
    if (!o.bind.empty())
        flags["KEYSAT_BIND"] = o.bind;
    if (!o.data_dir.empty())
        flags["KEYSAT_DATA_DIR"] = o.data_dir;
    if (!o.db.empty())
        flags["KEYSAT_DB_PATH"] = o.db;
    if (!o.log_format.empty())
        flags["KEYSAT_LOG_FORMAT"] = o.log_format;
    if (o.migrate)
        flags["KEYSAT_MIGRATE"] = "true";
    KEYSAT_TRY(config::apply_env(c, flags));
    config::apply_seed_env(c, config::seed_env());
    KEYSAT_TRY(config::finish(c));
    return c;
}

// Creates the database on first start; migrates with --migrate; otherwise requires it current.
// True when the database runs in WAL mode.
// The addresses this server listens on, which outbound requests never reach: every interface
// address for a wildcard bind.
std::vector<std::pair<net::Address, int>> own_addresses(const std::string& host, int port) {
    std::vector<net::Address> addresses;
    if (auto a = net::parse_address(host)) {
        bool wildcard =
            std::all_of(a->bytes.begin(), a->bytes.end(), [](auto b) { return b == 0; });
        if (wildcard)
            addresses = http::interface_addresses();
        else
            addresses.push_back(*a);
    } else if (auto found = http::resolve(host, std::chrono::seconds(3))) {
        addresses = *found;
    }
    std::vector<std::pair<net::Address, int>> out;
    for (const auto& a : addresses)
        out.emplace_back(a, port);
    return out;
}

Expected<bool> prepare_database(const config::ServeConfig& c, std::int64_t now) {
    std::error_code ec;
    bool fresh = !fs::exists(c.db_path, ec);
    KEYSAT_TRY_ASSIGN(db, db::Database::open(c.db_path, db::OpenMode::read_write_create));
    if (fresh || c.migrate) {
        KEYSAT_TRY_ASSIGN(r, db::migrate_up(db, {0, false, true, now}));
        if (!r.applied.empty())
            std::cerr << fmt::format(
                "keysat-serve: database {} at version {}{}\n", c.db_path.string(), r.to,
                r.backup_path.empty() ? "" : " (backup: " + r.backup_path + ")");
        return db.wal();
    }
    KEYSAT_TRY(db::require_current(db));
    return db.wal();
}

// The signing key: the configured file, or <data_dir>/signing.key (generated on first start),
// unless only verification keys are configured (verify-only).
Expected<std::optional<crypto::SecretKey>> load_signer(const config::ServeConfig& c) {
    if (c.signing_key_file.empty() && !c.verify_keys.empty())
        return std::optional<crypto::SecretKey>();
    fs::path path = c.signing_key_file.empty() ? c.data_dir / "signing.key" : c.signing_key_file;
    std::error_code ec;
    if (c.signing_key_file.empty() && !fs::exists(path, ec)) {
        auto key = crypto::SecretKey::generate();
        KEYSAT_TRY_ASSIGN(text, issuing::format_secret_key_file(key, issuing::Encrypt::no, "", {},
                                                                "keysat-serve signing key"));
        KEYSAT_TRY(write_file_atomic(path, text, 0600, Overwrite::no));
        KEYSAT_TRY(write_file_atomic(
            c.data_dir / "signing.pub",
            license::format_public_key(key.public_key(), license::PubkeyForm::minisign), 0644));
        std::cerr << fmt::format("keysat-serve: generated signing key {} in {}\n",
                                 crypto::key_id_text(key.key_id()), path.string());
        return std::optional<crypto::SecretKey>(std::move(key));
    }
    KEYSAT_TRY_ASSIGN(text, read_small_file(path, 64 * 1024));
    auto key = issuing::parse_secret_key_file(
        text, [&] { return read_passphrase(c.passphrase_file.string(), ""); });
    if (!key)
        return usage_error(path.string() + ": " + key.error().message);
    return std::optional<crypto::SecretKey>(std::move(*key));
}

// The server secret (<data_dir>/server.secret, 64 hex digits, made at first start, mode 0600):
// the key of the credential HMACs in audit rows.
Expected<std::string> load_server_secret(const config::ServeConfig& c) {
    fs::path path = c.data_dir / "server.secret";
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        std::array<std::uint8_t, 32> secret;
        crypto::random_bytes(secret);
        KEYSAT_TRY(write_file_atomic(path, hex_encode(secret) + "\n", 0600, Overwrite::no));
    }
    KEYSAT_TRY_ASSIGN(text, read_small_file(path, 1024));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
    auto bytes = text.size() == 64 ? hex_decode(text) : std::nullopt;
    if (!bytes)
        return usage_error(fmt::format("{}: not 64 hex digits (delete it to make a new one; audit "
                                       "rows written since then will not match older ones)",
                                       path.string()));
    return std::string(bytes->begin(), bytes->end());
}

// The BTCPay store configured by hand (btcpay_url, btcpay_api_key, btcpay_store_id and
// btcpay_webhook_secret), kept as the payment provider "btcpay" so that purchases, webhooks and
// the reconciler treat it as a connected one. Half a configuration is an error naming what is
// missing.
Expected<void> save_static_btcpay(const config::ServeConfig& c, std::int64_t now) {
    // btcpay_url alone is where connect reaches BTCPay: no store by hand.
    bool any =
        !c.btcpay_api_key.empty() || !c.btcpay_store_id.empty() || !c.btcpay_webhook_secret.empty();
    if (!any)
        return {};
    for (const auto& [name, value] :
         {std::pair{"btcpay_url", &c.btcpay_url}, std::pair{"btcpay_api_key", &c.btcpay_api_key},
          std::pair{"btcpay_store_id", &c.btcpay_store_id},
          std::pair{"btcpay_webhook_secret", &c.btcpay_webhook_secret}})
        if (value->empty())
            return usage_error(fmt::format("{} is not set: a BTCPay store configured by hand needs "
                                           "btcpay_url, btcpay_api_key, btcpay_store_id and "
                                           "btcpay_webhook_secret",
                                           name));
    KEYSAT_TRY_ASSIGN(db, db::Database::open(c.db_path, db::OpenMode::read_write));
    store::PaymentProviderRow p;
    p.id = api::k_static_btcpay_provider;
    p.kind = "btcpay";
    p.base_url = c.btcpay_url;
    p.store_id = c.btcpay_store_id;
    p.api_key = c.btcpay_api_key;
    p.webhook_secret = c.btcpay_webhook_secret;
    p.created_at = p.updated_at = now;
    return store::AccountStore(db).save_provider(p);
}

// The master admin key's hash: from the configuration, or generated once and printed.
Expected<std::string> master_key_hash(const config::ServeConfig& c, std::int64_t now) {
    if (!c.admin_api_key.empty())
        return hex_encode(crypto::sha256(as_bytes(c.admin_api_key)));
    KEYSAT_TRY_ASSIGN(db, db::Database::open(c.db_path, db::OpenMode::read_write));
    store::AccessStore access(db);
    KEYSAT_TRY_ASSIGN(stored, access.setting("admin_key_sha256"));
    if (stored)
        return *stored;
    std::array<std::uint8_t, 32> secret;
    crypto::random_bytes(secret);
    std::string key = "ksm_" + base64url_encode(secret);
    std::string hash = hex_encode(crypto::sha256(as_bytes(key)));
    KEYSAT_TRY(access.set_setting("admin_key_sha256", hash, now));
    // Shown this once only; the database keeps its hash.
    std::cerr << "keysat-serve: generated the admin API key (shown once, store it now):\n  " << key
              << "\n";
    return hash;
}

Expected<license::Keyring> build_keyring(const config::ServeConfig& c,
                                         const std::optional<crypto::SecretKey>& signer,
                                         std::int64_t now) {
    license::Keyring ring;
    KEYSAT_TRY_ASSIGN(db, db::Database::open(c.db_path, db::OpenMode::read_write));
    store::SigningKeyStore keys(db);
    if (signer) {
        ring.keys.push_back(signer->public_key());
        KEYSAT_TRY(
            keys.ensure(crypto::key_id_text(signer->key_id()), signer->public_key().bytes, now));
    }
    for (const auto& k : c.verify_keys) {
        KEYSAT_TRY_ASSIGN(key, license::load_public_key(k));
        ring.keys.push_back(key);
    }
    KEYSAT_TRY_ASSIGN(recorded, service::recorded_keys(db));
    for (const auto& k : recorded.keys) {
        bool known = false;
        for (const auto& r : ring.keys)
            known = known || r.bytes == k.bytes;
        if (!known)
            ring.keys.push_back(k);
    }
    if (ring.keys.empty())
        return usage_error("no verification key: configure signing_key_file or verify_keys");
    return ring;
}

// The release gate, when a releases directory or a repository URL is configured; its
// revocation list must load (a configured list that cannot be read would let revoked tokens in).
Expected<std::unique_ptr<gate::Gate>> make_gate(const config::ServeConfig& c) {
    if (c.releases_dir.empty() && c.git_redirect_url.empty())
        return std::unique_ptr<gate::Gate>();
    auto g = std::make_unique<gate::Gate>(
        gate::GateConfig{c.releases_dir, c.git_redirect_url, c.revocation_list});
    if (auto n = g->revocations.reload(); !n)
        return usage_error(fmt::format("{}: {}", c.revocation_list.string(), n.error().message));
    std::error_code ec;
    if (!c.releases_dir.empty() && !fs::is_directory(c.releases_dir, ec))
        std::cerr << fmt::format(
            "keysat-serve: warning: releases directory {} does not exist yet\n",
            c.releases_dir.string());
    // Hash every build now, in the background, so that manifests are ready when asked for.
    if (!c.releases_dir.empty())
        g->tree.hash_all_in_background();
    return g;
}

// Re-reads the gate's revocation list (SIGHUP); a failure keeps the list in use.
void reload_revocations(gate::Gate* g) {
    if (!g)
        return;
    auto n = g->revocations.reload();
    if (n)
        std::cerr << fmt::format("keysat-serve: revocation list reloaded ({} entries)\n", *n);
    else
        std::cerr << fmt::format("keysat-serve: {}; the previous list stays in use\n",
                                 n.error().message);
}

// The console password: from the first line of --password-file (- for standard input), else
// typed twice without echo.
Expected<std::string> console_password(const ServeOptions& o) {
    if (!o.password_file.empty()) {
        KEYSAT_TRY_ASSIGN(text, o.password_file == "-" ? read_stdin(4096)
                                                       : read_small_file(o.password_file, 4096));
        std::string password = text.substr(0, text.find_first_of("\r\n"));
        crypto::wipe(text.data(), text.size());
        return password;
    }
    auto first = prompt_passphrase("Console password: ");
    if (!first)
        return usage_error("no password: use --password-file FILE, or run on a terminal");
    auto again = prompt_passphrase("Console password again: ");
    if (!again || *again != *first)
        return usage_error("the passwords do not match; nothing was changed");
    crypto::wipe(again->data(), again->size());
    return std::move(*first);
}

// keysat-serve --set-admin-password: stores the Argon2id hash of the operator's console password
// in the database (migrated or created first, as a start would), audited, and exits.
Expected<int> run_set_admin_password(const ServeOptions& o) {
    KEYSAT_TRY_ASSIGN(c, load_config(o));
    c.migrate = true; // a password can be set before the first start after an upgrade
    KEYSAT_TRY_ASSIGN(password, console_password(o));
    if (password.size() < crypto::k_password_min || password.size() > crypto::k_password_max) {
        crypto::wipe(password.data(), password.size());
        return usage_error(fmt::format("the console password must be {} to {} characters long; "
                                       "nothing was changed",
                                       crypto::k_password_min, crypto::k_password_max));
    }
    auto hash = crypto::hash_password(password);
    crypto::wipe(password.data(), password.size());
    if (!hash)
        return usage_error("could not hash the password (not enough memory for Argon2id)");
    auto now = SystemClock().now();
    KEYSAT_TRY(prepare_database(c, now));
    KEYSAT_TRY_ASSIGN(db, db::Database::open(c.db_path, db::OpenMode::read_write));
    KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(db));
    store::AccessStore access(db);
    KEYSAT_TRY(access.set_setting("admin_password_hash", *hash, now));
    // A new password ends every console session signed in with the old one.
    KEYSAT_TRY(store::SessionStore(db).remove_for("master", "master"));
    KEYSAT_TRY(access.append_audit({0, now, "system", std::string("keysat-serve"), std::nullopt,
                                    "console_password.set", std::nullopt, std::nullopt, "{}"}));
    KEYSAT_TRY(tx.commit());
    std::cerr << fmt::format("keysat-serve: console password set in {}\n", c.db_path.string());
    return k_exit_ok;
}

Expected<int> run_serve(const ServeOptions& o) {
    if (o.set_admin_password)
        return run_set_admin_password(o);
    if (!o.password_file.empty())
        return usage_error("--password-file goes with --set-admin-password");
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    SystemClock clock;
    KEYSAT_TRY_ASSIGN(serving, Serving::open(o, clock));
    Serving& s = *serving;

    // SIGTERM and SIGINT go to one thread that stops the server; requests in flight finish.
    // SIGHUP reloads the release gate's revocation list. (Blocked at the start of run_serve,
    // before any thread exists, so every thread inherits the mask.)
    std::atomic<bool> finished = false;
    std::jthread waiter([&s, &finished, signals] {
        int sig = 0;
        while (sigwait(&signals, &sig) == 0 && sig == SIGHUP && !finished)
            s.reload_revocations();
        std::cerr << "keysat-serve: stopping\n";
        // A signal that arrived during start-up is taken here before the server runs, and
        // stop() does nothing until it does: keep asking until run() has returned.
        while (!finished) {
            s.stop();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    std::cerr << fmt::format("keysat-serve: {} listening on {} ({})\n",
                             s.app().signer ? "signing" : "verify-only", s.address(),
                             s.app().db_path.string());
    s.run();
    finished = true;
    // run() also returns if the listener fails; wake the waiter so the program can exit.
    pthread_kill(waiter.native_handle(), SIGTERM);
    return k_exit_ok;
}

} // namespace

// Everything a running keysat-serve holds, in the order it is built (and torn down in
// reverse): the workers stop before the server and the state they share.
struct Serving::Parts {
    config::ServeConfig c;
    api::RateLimiter limiter;
    std::optional<service::VerifiedKeyCache> key_cache;
    std::optional<service::ValidationCache> row_cache;
    std::unique_ptr<api::ValidationLog> validation_log;
    std::unique_ptr<service::SeatBatcher> seats;
    http::OutboundPolicy outbound;
    api::App app;
    std::unique_ptr<http::Server> server;
    std::unique_ptr<gate::Gate> gate;
    int port = 0;
    std::unique_ptr<api::WebhookWorker> webhooks;
    std::unique_ptr<api::Reconciler> reconciler;
    std::unique_ptr<api::RenewalWorker> renewals;
    std::unique_ptr<api::Maintenance> maintenance;
    api::Metrics metrics;
    std::unique_ptr<http::Server> metrics_server; // on metrics_bind, when set
    int metrics_port = 0;
    std::jthread metrics_thread;
    std::atomic<bool> metrics_done = false;
    std::atomic<bool> finished = false;
};

Serving::Serving(std::unique_ptr<Parts> parts) : m_parts(std::move(parts)) {}
Serving::~Serving() = default;

Expected<std::unique_ptr<Serving>> Serving::open(const ServeOptions& o, const Clock& clock) {
    KEYSAT_TRY_ASSIGN(config, load_config(o));
    auto parts = std::make_unique<Serving::Parts>();
    parts->c = std::move(config);
    const config::ServeConfig& c = parts->c;
    db::set_cache_mib(c.db_cache_mib);
    api::App& app = parts->app;
    std::error_code ec;
    fs::create_directories(c.data_dir, ec);
    fs::permissions(c.data_dir, fs::perms::owner_all, ec);
    KEYSAT_TRY_ASSIGN(wal, prepare_database(c, clock.now()));
    KEYSAT_TRY_ASSIGN(signer, load_signer(c));
    app.db_path = c.db_path;
    app.operator_name = c.operator_name;
    app.public_url = c.public_url;
    app.btcpay_public_url = c.btcpay_public_url;
    app.btcpay_url = c.btcpay_url;
    app.btcpay_browser_url = c.btcpay_browser_url;
    KEYSAT_TRY(save_static_btcpay(c, clock.now()));
    app.clock = &clock;
    app.trusted_proxies = c.trusted_proxies;
    app.validate_rate = c.validate_rate;
    app.validate_burst = c.validate_burst;
    app.limiter = &parts->limiter;
    parts->key_cache.emplace(static_cast<std::size_t>(c.cache_entries));
    app.key_cache = &*parts->key_cache;
    auto& row_cache = parts->row_cache;
    // The cache is cleared by SQLite's WAL hook, which only fires in WAL mode (some network
    // file systems refuse it): without WAL, no cache rather than one cleared only by its TTL.
    if (!wal && c.cache_ttl_ms > 0)
        std::cerr << "keysat-serve: the database is not in WAL mode; validate runs uncached\n";
    if (c.cache_ttl_ms > 0 && wal) {
        row_cache.emplace(std::chrono::milliseconds(c.cache_ttl_ms),
                          static_cast<std::size_t>(c.cache_entries));
        app.row_cache = &*row_cache;
    }
    parts->validation_log = std::make_unique<api::ValidationLog>(c.db_path);
    app.validation_log = parts->validation_log.get();
    parts->seats = std::make_unique<service::SeatBatcher>(
        c.db_path, [commits = app.commits] { commits->fetch_add(1, std::memory_order_acq_rel); });
    app.seats = parts->seats.get();
    KEYSAT_TRY_ASSIGN(ring, build_keyring(c, signer, clock.now()));
    app.keyring = std::move(ring);
    app.signer = std::move(signer);
    KEYSAT_TRY_ASSIGN(master, master_key_hash(c, clock.now()));
    app.master_key_sha256 = master;
    KEYSAT_TRY_ASSIGN(audit_secret, load_server_secret(c));
    app.audit_secret = std::move(audit_secret);
    http::OutboundPolicy& outbound = parts->outbound;
    outbound.deny_private = c.webhook_deny_private;
    for (const auto& range : c.webhook_allow)
        outbound.allow.push_back(*net::parse_cidr(range)); // checked with the configuration
    app.outbound = &outbound;

    http::ServerOptions options;
    options.threads = c.threads > 0
                          ? c.threads
                          : std::max(4, 2 * static_cast<int>(std::thread::hardware_concurrency()));
    options.keep_alive_max = c.keep_alive_max;
    options.keep_alive_timeout_s = c.keep_alive_timeout_s;
    options.read_timeout_s = c.read_timeout_s;
    options.write_timeout_s = c.write_timeout_s;
    options.max_connections = c.max_connections;
    options.max_body_bytes = static_cast<std::size_t>(c.max_body_bytes);
    options.log_json = c.log_format == "json";
    options.error_body = api::error_for_status;
    options.around = api::refuse_when_disk_full;
    if (!c.metrics_host.empty()) {
        app.metrics = &parts->metrics;
        options.observe = [m = &parts->metrics](const std::string& method, const std::string& route,
                                                int status, double seconds) {
            m->request(method, route, status, seconds);
        };
    }
    parts->server = std::make_unique<http::Server>(options);
    http::Server& server = *parts->server;
    api::register_public_routes(server, app);
    api::register_admin_routes(server, app);
    api::register_purchase_routes(server, app);
    api::register_provider_routes(server, app);
    api::register_provider_admin_routes(server, app);
    api::register_merchant_routes(server, app);
    api::register_page_routes(server, app);
    api::register_subscription_routes(server, app);
    KEYSAT_TRY_ASSIGN(made_gate, make_gate(c));
    parts->gate = std::move(made_gate);
    auto& release_gate = parts->gate;
    if (release_gate) {
        gate::register_gate_routes(server, app, *release_gate);
        gate::register_gate_admin_routes(server, app, *release_gate);
        if (!release_gate->tree.root().empty())
            app.release_files = [g = release_gate.get()](const std::string& product) {
                return g->tree.newest_builds(product);
            };
    }
    api::register_console_routes(server, app);
    api::register_openapi_route(server, app);
    KEYSAT_TRY_ASSIGN(port, server.bind(c.bind_host, c.bind_port));
    outbound.own = own_addresses(c.bind_host, port);
    // The default public URL names the port the kernel chose for --bind HOST:0.
    if (c.bind_port == 0 && app.public_url == fmt::format("http://{}:0", c.bind_host))
        app.public_url = fmt::format("http://{}:{}", c.bind_host, port);
    parts->port = port;
    if (!c.metrics_host.empty()) {
        // Its own listener with one worker and no other route: a scrape never waits behind
        // traffic, and the API's port never shows the figures.
        http::ServerOptions metrics_options;
        metrics_options.threads = 1;
        metrics_options.error_body = api::error_for_status;
        parts->metrics_server = std::make_unique<http::Server>(metrics_options);
        parts->metrics_server->route("GET", "/metrics", [p = parts.get()](const http::Request&) {
            http::Response r;
            auto db = p->app.database();
            if (!db) {
                r.status = 503;
                r.content_type = "text/plain; charset=utf-8";
                r.body = "database unavailable\n";
                return r;
            }
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
            r.body = p->metrics.render(**db, p->c.db_path, p->c.backup_dir, p->app.clock->now(),
                                       p->validation_log ? p->validation_log->dropped() : 0);
            return r;
        });
        KEYSAT_TRY_ASSIGN(mport, parts->metrics_server->bind(c.metrics_host, c.metrics_port));
        parts->metrics_port = mport;
        std::cerr << fmt::format("keysat-serve: metrics on http://{}:{}/metrics\n", c.metrics_host,
                                 mport);
    }
    parts->webhooks = std::make_unique<api::WebhookWorker>(
        api::WebhookWorkerOptions{.db_path = c.db_path,
                                  .senders = c.webhook_senders,
                                  .timeout_s = c.webhook_timeout_s,
                                  .unit_ms = c.webhook_retry_unit_ms,
                                  .policy = &outbound});
    parts->reconciler = std::make_unique<api::Reconciler>(app, c.reconcile_interval_s);
    parts->maintenance = std::make_unique<api::Maintenance>(
        app, service::RetentionPolicy{c.validation_log_days, c.webhook_log_days},
        api::Maintenance::Backups{c.backup_dir, c.backup_interval_s, c.backup_keep},
        c.maintenance_interval_s);
    parts->renewals =
        std::make_unique<api::RenewalWorker>(app, c.renewal_interval_s, c.renewal_lead_days);
    return std::unique_ptr<Serving>(new Serving(std::move(parts)));
}

int Serving::port() const {
    return m_parts->port;
}

std::string Serving::address() const {
    return fmt::format("http://{}:{}", m_parts->c.bind_host, m_parts->port);
}

const api::App& Serving::app() const {
    return m_parts->app;
}

void Serving::run() {
    if (m_parts->metrics_server)
        m_parts->metrics_thread = std::jthread([p = m_parts.get()] {
            p->metrics_server->run();
            p->metrics_done = true;
        });
    m_parts->server->run();
    if (m_parts->metrics_server) {
        // As for the main server: stop() does nothing until run() has started.
        while (!m_parts->metrics_done) {
            m_parts->metrics_server->stop();
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        m_parts->metrics_thread = {};
    }
    m_parts->finished = true;
}

int Serving::metrics_port() const {
    return m_parts->metrics_port;
}

bool Serving::finished() const {
    return m_parts->finished;
}

void Serving::stop() {
    m_parts->server->stop();
}

void Serving::reload_revocations() {
    cli::reload_revocations(m_parts->gate.get());
}

std::unique_ptr<CLI::App> make_serve_app(ServeOptions& o) {
    auto app = std::make_unique<CLI::App>(
        "Serve the Keysat licensing API and admin API from one SQLite file. Exit status: 0 "
        "stopped by SIGTERM, 2 configuration or environment error, 3 the database needs "
        "keysat-migrate up.",
        "keysat-serve");
    add_version_flag(*app);
    app->add_option("-c,--config", o.config_file, "TOML configuration file (see keysat.toml(5))")
        ->type_name("FILE");
    app->add_option("--bind", o.bind, "Address to listen on, host:port (default 127.0.0.1:8080)")
        ->type_name("HOST:PORT");
    app->add_option("--data-dir", o.data_dir, "Data directory (default var)")->type_name("DIR");
    app->add_option("--db", o.db, "Database file (default DATA_DIR/keysat.db)")->type_name("FILE");
    app->add_option("--log-format", o.log_format, "Request log format")
        ->check(CLI::IsMember({"text", "json"}))
        ->type_name("FORMAT");
    app->add_flag("--migrate", o.migrate, "Apply pending database migrations at start");
    app->add_flag("--set-admin-password", o.set_admin_password,
                  "Set the operator's console password (typed twice, or --password-file), "
                  "store its Argon2id hash in the database, and exit");
    app->add_option("--password-file", o.password_file,
                    "With --set-admin-password: read the password from the first line of FILE "
                    "(- for standard input)")
        ->type_name("FILE");
    return app;
}

int serve_main(int argc, char** argv) {
    ServeOptions o;
    auto app = make_serve_app(o);
    return run_program(*app, argc, argv, [&] { return run_serve(o); });
}

} // namespace keysat::cli
