#include "keysat/config/config.hpp"
#include "keysat/http/outbound.hpp"
#include "keysat/util/net.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <optional>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace keysat::config {

namespace {

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        auto comma = s.find(',', start);
        std::string item = s.substr(start, comma == std::string::npos ? comma : comma - start);
        auto b = item.find_first_not_of(" \t");
        auto e = item.find_last_not_of(" \t");
        if (b != std::string::npos)
            out.push_back(item.substr(b, e - b + 1));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return out;
}

Expected<std::int64_t> parse_int(const std::string& name, const std::string& v, std::int64_t lo,
                                 std::int64_t hi) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi)
        return usage_error(
            fmt::format("{}: '{}' is not a whole number from {} to {}", name, v, lo, hi));
    return n;
}

// One setter per key, shared by the file and the environment (which gives text).
struct Setter {
    std::string key;
    std::string env;
    std::string help;
    enum class Kind { text, integer, boolean, list } kind;
    std::int64_t lo = 0, hi = 0;
    std::function<Expected<void>(ServeConfig&, const std::string&, std::int64_t, bool,
                                 const std::vector<std::string>&)>
        set;
};

const std::vector<Setter>& setters() {
    using K = Setter::Kind;
    using L = std::vector<std::string>;
    static const std::vector<Setter> k_setters = {
        {"bind", "KEYSAT_BIND", "address to listen on, host:port (default 127.0.0.1:8080)", K::text,
         0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             KEYSAT_TRY_ASSIGN(hp, parse_bind(v));
             c.bind_host = hp.first;
             c.bind_port = hp.second;
             return {};
         }},
        {"metrics_bind", "KEYSAT_METRICS_BIND",
         "host:port of a second listener that serves only GET /metrics (Prometheus text); off "
         "when unset",
         K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             KEYSAT_TRY_ASSIGN(hp, parse_bind(v));
             c.metrics_host = hp.first;
             c.metrics_port = hp.second;
             return {};
         }},
        {"data_dir", "KEYSAT_DATA_DIR",
         "directory for the database and generated keys (default var)", K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.data_dir = v;
             return {};
         }},
        {"db_path", "KEYSAT_DB_PATH", "SQLite database file (default <data_dir>/keysat.db)",
         K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.db_path = v;
             return {};
         }},
        {"admin_api_key", "KEYSAT_ADMIN_API_KEY",
         "master admin key, at least 32 characters (default: generated once, printed)", K::text, 0,
         0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             if (v.size() < 32)
                 return usage_error("admin_api_key: must be at least 32 characters");
             c.admin_api_key = v;
             return {};
         }},
        {"public_url", "KEYSAT_PUBLIC_URL", "URL buyers and providers reach the server at", K::text,
         0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             if (!v.starts_with("http://") && !v.starts_with("https://"))
                 return usage_error(fmt::format("public_url: '{}' is not an http(s) URL", v));
             c.public_url = v;
             return {};
         }},
        {"operator_name", "KEYSAT_OPERATOR_NAME", "seller name shown to buyers", K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.operator_name = v;
             return {};
         }},
        {"signing_key_file", "KEYSAT_SIGNING_KEY_FILE",
         "minisign secret key file (default <data_dir>/signing.key, generated)", K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.signing_key_file = v;
             return {};
         }},
        {"passphrase_file", "KEYSAT_PASSPHRASE_FILE", "passphrase of the signing key", K::text, 0,
         0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.passphrase_file = v;
             return {};
         }},
        {"verify_keys", "KEYSAT_VERIFY_KEYS",
         "trusted public keys (files or inline); alone they make a verify-only server", K::list, 0,
         0,
         [](ServeConfig& c, const std::string&, std::int64_t, bool, const L& v) -> Expected<void> {
             c.verify_keys = v;
             return {};
         }},
        {"releases_dir", "KEYSAT_RELEASES_DIR", "directory of release builds for the release gate",
         K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.releases_dir = v;
             return {};
         }},
        {"git_redirect_url", "KEYSAT_GIT_REDIRECT_URL",
         "public repository that /git/* redirects to (release gate)", K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             if (!v.starts_with("http://") && !v.starts_with("https://"))
                 return usage_error(fmt::format("git_redirect_url: '{}' is not an http(s) URL", v));
             if (v.find_first_of(" \t\r\n\"<>") != std::string::npos)
                 return usage_error("git_redirect_url: spaces, quotes and angle brackets are not "
                                    "allowed");
             c.git_redirect_url = v;
             return {};
         }},
        {"revocation_list", "KEYSAT_REVOCATION_LIST",
         "release gate revocation list: SHA-256 hex of revoked tokens and keys, one a line; "
         "reloaded on SIGHUP",
         K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.revocation_list = v;
             return {};
         }},
        {"trusted_proxies", "KEYSAT_TRUSTED_PROXIES",
         "proxy addresses or CIDR ranges (10.0.0.0/8, fd00::/8) whose X-Forwarded-For is "
         "believed",
         K::list, 0, 0,
         [](ServeConfig& c, const std::string&, std::int64_t, bool, const L& v) -> Expected<void> {
             for (const auto& entry : v)
                 if (auto range = net::parse_cidr(entry); !range)
                     return usage_error("trusted_proxies: " + range.error().message);
             c.trusted_proxies = v;
             return {};
         }},
        {"threads", "KEYSAT_THREADS",
         "worker threads: requests handled at once (idle connections hold none); 0 is twice "
         "the cores, at least 4",
         K::integer, 0, 4096,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.threads = static_cast<int>(n);
             return {};
         }},
        {"keep_alive_max", "KEYSAT_KEEP_ALIVE_MAX", "requests per keep-alive connection",
         K::integer, 1, 1000000,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.keep_alive_max = static_cast<int>(n);
             return {};
         }},
        {"keep_alive_timeout", "KEYSAT_KEEP_ALIVE_TIMEOUT", "seconds an idle connection is kept",
         K::integer, 1, 3600,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.keep_alive_timeout_s = static_cast<int>(n);
             return {};
         }},
        {"read_timeout", "KEYSAT_READ_TIMEOUT",
         "seconds a request's head may take from its first byte, and the longest wait for more "
         "of its body",
         K::integer, 1, 3600,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.read_timeout_s = static_cast<int>(n);
             return {};
         }},
        {"write_timeout", "KEYSAT_WRITE_TIMEOUT",
         "seconds a client may read nothing of its answer before it is dropped", K::integer, 1,
         3600,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.write_timeout_s = static_cast<int>(n);
             return {};
         }},
        {"max_connections", "KEYSAT_MAX_CONNECTIONS",
         "open client connections at most; more are closed when accepted", K::integer, 1, 1000000,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.max_connections = static_cast<int>(n);
             return {};
         }},
        {"max_body_bytes", "KEYSAT_MAX_BODY_BYTES", "largest request body; larger gets 413",
         K::integer, 1024, 1 << 30,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.max_body_bytes = n;
             return {};
         }},
        {"log_format", "KEYSAT_LOG_FORMAT", "text or json", K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             if (v != "text" && v != "json")
                 return usage_error(fmt::format("log_format: '{}' is not text or json", v));
             c.log_format = v;
             return {};
         }},
        {"validate_rate", "KEYSAT_VALIDATE_RATE",
         "validate and machine requests per second per client after the burst (0: no limit)",
         K::integer, 0, 1000000,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.validate_rate = static_cast<double>(n);
             return {};
         }},
        {"cache_ttl_ms", "KEYSAT_CACHE_TTL_MS",
         "how long validate may answer from license and machine rows read earlier; the "
         "server's own writes clear the cache at once, this bounds how late a change made by "
         "another process is seen (0: no cache)",
         K::integer, 0, 3600000,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.cache_ttl_ms = n;
             return {};
         }},
        {"cache_entries", "KEYSAT_CACHE_ENTRIES",
         "entries in each of validate's caches (verified keys, license rows, machines); when one "
         "is full the least recently used go, so memory stays bounded however many licenses there "
         "are",
         K::integer, 100, 10000000,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.cache_entries = n;
             return {};
         }},
        {"validate_burst", "KEYSAT_VALIDATE_BURST", "requests a client may send at once",
         K::integer, 1, 1000000,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.validate_burst = static_cast<double>(n);
             return {};
         }},
        {"webhook_senders", "KEYSAT_WEBHOOK_SENDERS", "webhook deliveries sent at once", K::integer,
         1, 64,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.webhook_senders = static_cast<int>(n);
             return {};
         }},
        {"webhook_timeout", "KEYSAT_WEBHOOK_TIMEOUT", "seconds to wait for a webhook receiver",
         K::integer, 1, 300,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.webhook_timeout_s = static_cast<int>(n);
             return {};
         }},
        {"webhook_retry_unit_ms", "KEYSAT_WEBHOOK_RETRY_UNIT_MS",
         "length of one second of the retry schedule 5s..2h (tests shorten it)", K::integer, 1,
         1000,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.webhook_retry_unit_ms = static_cast<int>(n);
             return {};
         }},
        {"webhook_deny_private", "KEYSAT_WEBHOOK_DENY_PRIVATE",
         "refuse outbound requests (webhooks, payment providers) to private ranges as well "
         "(10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7); loopback, link-local, multicast "
         "and this server's own address are always refused",
         K::boolean, 0, 0,
         [](ServeConfig& c, const std::string&, std::int64_t, bool b, const L&) -> Expected<void> {
             c.webhook_deny_private = b;
             return {};
         }},
        {"webhook_allow", "KEYSAT_WEBHOOK_ALLOW",
         "CIDR ranges outbound requests may reach even when refused otherwise (127.0.0.1/32 "
         "for a receiver on this machine)",
         K::list, 0, 0,
         [](ServeConfig& c, const std::string&, std::int64_t, bool, const L& v) -> Expected<void> {
             for (const auto& entry : v)
                 if (auto range = net::parse_cidr(entry); !range)
                     return usage_error("webhook_allow: " + range.error().message);
             c.webhook_allow = v;
             return {};
         }},
        {"btcpay_url", "BTCPAY_URL",
         "BTCPay Server's URL as keysat-serve reaches it (connect, or a store configured by hand)",
         K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             if (auto u = http::parse_url(v); !u)
                 return usage_error(fmt::format("btcpay_url: '{}': {}", v, u.error().message));
             c.btcpay_url = v;
             return {};
         }},
        {"btcpay_public_url", "BTCPAY_PUBLIC_URL",
         "BTCPay's URL as buyers' browsers reach it, when it differs from btcpay_url", K::text, 0,
         0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             if (auto u = http::parse_url(v); !u)
                 return usage_error(
                     fmt::format("btcpay_public_url: '{}': {}", v, u.error().message));
             c.btcpay_public_url = v;
             return {};
         }},
        {"btcpay_browser_url", "BTCPAY_BROWSER_URL",
         "BTCPay's URL as the operator's browser reaches it for connect, when it differs from "
         "btcpay_url",
         K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             if (auto u = http::parse_url(v); !u)
                 return usage_error(
                     fmt::format("btcpay_browser_url: '{}': {}", v, u.error().message));
             c.btcpay_browser_url = v;
             return {};
         }},
        {"btcpay_api_key", "BTCPAY_API_KEY", "API key of the store configured by hand", K::text, 0,
         0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.btcpay_api_key = v;
             return {};
         }},
        {"btcpay_store_id", "BTCPAY_STORE_ID", "id of the store configured by hand", K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             // It goes into the API's paths: BTCPay's ids are letters and digits.
             if (v.empty() || v.size() > 64 ||
                 v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789") != std::string::npos)
                 return usage_error(fmt::format("btcpay_store_id: '{}' is not a BTCPay store id "
                                                "(letters and digits)",
                                                v.substr(0, 80)));
             c.btcpay_store_id = v;
             return {};
         }},
        {"btcpay_webhook_secret", "BTCPAY_WEBHOOK_SECRET",
         "secret of the store's webhook to <public_url>/v1/btcpay/webhook", K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.btcpay_webhook_secret = v;
             return {};
         }},
        {"renewal_interval", "KEYSAT_RENEWAL_INTERVAL",
         "seconds between passes of the renewal worker (renewal invoices, past-due and lapsed "
         "subscriptions)",
         K::integer, 1, 3600,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.renewal_interval_s = static_cast<int>(n);
             return {};
         }},
        {"renewal_lead_days", "KEYSAT_RENEWAL_LEAD_DAYS",
         "days before a subscription period's end that its renewal invoice opens and the buyer is "
         "told (subscription.renewal_pending)",
         K::integer, 0, 60,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.renewal_lead_days = static_cast<int>(n);
             return {};
         }},
        {"reconcile_interval", "KEYSAT_RECONCILE_INTERVAL",
         "seconds between checks of pending invoices with their provider (a lost webhook still "
         "settles)",
         K::integer, 1, 3600,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.reconcile_interval_s = static_cast<int>(n);
             return {};
         }},
        {"validation_log_days", "KEYSAT_VALIDATION_LOG_DAYS",
         "days validation-log rows are kept, rolled up per day, product, license and result "
         "before they go (0: kept for good)",
         K::integer, 0, 36500,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.validation_log_days = static_cast<int>(n);
             return {};
         }},
        {"webhook_log_days", "KEYSAT_WEBHOOK_LOG_DAYS",
         "days delivered webhook deliveries are kept (0: for good; pending and dead ones stay)",
         K::integer, 0, 36500,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.webhook_log_days = static_cast<int>(n);
             return {};
         }},
        {"maintenance_interval", "KEYSAT_MAINTENANCE_INTERVAL",
         "seconds between housekeeping passes: retention, WAL checkpoint, scheduled backup (the "
         "first one interval after start)",
         K::integer, 1, 86400,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.maintenance_interval_s = static_cast<int>(n);
             return {};
         }},
        {"backup_dir", "KEYSAT_BACKUP_DIR",
         "directory for scheduled backups of the database, each checked before older ones "
         "rotate out (unset: none)",
         K::text, 0, 0,
         [](ServeConfig& c, const std::string& v, std::int64_t, bool, const L&) -> Expected<void> {
             c.backup_dir = v;
             return {};
         }},
        {"backup_interval", "KEYSAT_BACKUP_INTERVAL", "seconds between scheduled backups",
         K::integer, 60, 31536000,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.backup_interval_s = n;
             return {};
         }},
        {"backup_keep", "KEYSAT_BACKUP_KEEP", "scheduled backups kept (the newest)", K::integer, 1,
         10000,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.backup_keep = static_cast<int>(n);
             return {};
         }},
        {"db_cache_mib", "KEYSAT_DB_CACHE_MIB",
         "MiB of SQLite page cache per database connection (one per request worker, plus the "
         "background threads')",
         K::integer, 1, 1024,
         [](ServeConfig& c, const std::string&, std::int64_t n, bool, const L&) -> Expected<void> {
             c.db_cache_mib = static_cast<int>(n);
             return {};
         }},
        {"migrate", "KEYSAT_MIGRATE", "apply pending database migrations at start", K::boolean, 0,
         0,
         [](ServeConfig& c, const std::string&, std::int64_t, bool b, const L&) -> Expected<void> {
             c.migrate = b;
             return {};
         }},
    };
    return k_setters;
}

// toml++ 3.3.0 (Debian 12's) reaches __builtin_unreachable, undefined behaviour, when it asks
// whether some non-ASCII code points (U+00A1..U+0499, U+2CAE..U+30A7) are whitespace: wherever
// it skips whitespace between tokens, and after a line-ending backslash in a multi-line basic
// string (marzer/tomlplusplus#190 and #295; found by tests/fuzz, target config). TOML allows
// non-ASCII text only inside strings and comments, so text elsewhere, and right after such a
// backslash, is refused before toml++ sees it. A quote starts a string only where a key or a
// value starts (toml++ reads `0"é` as one bare value). Returns the line of the first such byte.
std::optional<std::size_t> misplaced_non_ascii(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) // a UTF-8 byte order mark, which toml++ skips
        text.remove_prefix(3);
    enum class State { normal, comment, basic, literal, ml_basic, ml_literal };
    auto ascii = [](char c) { return static_cast<unsigned char>(c) < 0x80; };
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    auto line_of = [&](std::size_t pos) {
        return static_cast<std::size_t>(std::count(text.begin(), text.begin() + pos, '\n')) + 1;
    };
    // The length of the run of `q` at `pos`: a multi-line string's delimiter may be followed by
    // up to two more quotes that belong to its content.
    auto run = [&](std::size_t pos, char q) {
        std::size_t n = 0;
        while (pos + n < text.size() && text[pos + n] == q)
            ++n;
        return n;
    };
    State state = State::normal;
    // Outside strings and comments: whether a bare token (a bare key or value) is being read,
    // in which toml++ reads quotes and '=' as part of the token (`1179"\ut="""é` is one bare
    // value, found by tests/fuzz); and whether a key may come (a line's start, after '{' or ','),
    // where '=' and '.' end a bare key.
    bool bare = false, key_context = true;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        switch (state) {
        case State::normal:
            if (!ascii(c))
                return line_of(i);
            if (c == '#') {
                state = State::comment;
                bare = false;
            } else if ((c == '"' || c == '\'') && !bare) {
                bool multi = run(i, c) >= 3;
                state = c == '"' ? (multi ? State::ml_basic : State::basic)
                                 : (multi ? State::ml_literal : State::literal);
                i += multi ? 2 : 0;
            } else if ((c == '{' || c == '[') && bare) {
                // Not a value terminator for toml++: the bare token goes on (found by fuzzing).
            } else if (c == '\n' || c == '{' || c == ',') {
                bare = false;
                key_context = true;
            } else if (c == ' ' || c == '\t' || c == '\r' || c == '[' || c == ']' || c == '}') {
                bare = false;
            } else if ((c == '=' || c == '.') && key_context) {
                bare = false;
                key_context = c == '.';
            } else {
                bare = true;
            }
            break;
        case State::comment:
            if (c == '\n')
                state = State::normal, bare = false, key_context = true;
            break;
        case State::basic:
            if (c == '\\')
                ++i; // the escaped character (toml++ refuses a bad one without asking)
            else if (c == '"' || c == '\n')
                state = State::normal;
            break;
        case State::literal:
            if (c == '\'' || c == '\n')
                state = State::normal;
            break;
        case State::ml_basic:
        case State::ml_literal: {
            char q = state == State::ml_basic ? '"' : '\'';
            if (state == State::ml_basic && c == '\\') {
                // A line-ending backslash: toml++ asks about each character after it up to the
                // first that is not whitespace.
                std::size_t j = i + 1;
                while (j < text.size() && space(text[j]))
                    ++j;
                if (j < text.size() && !ascii(text[j]))
                    return line_of(j);
                i = j == i + 1 ? j : j - 1; // past the escaped character or the whitespace
            } else if (std::size_t n = run(i, q); n >= 3) {
                state = State::normal;
                i += std::min<std::size_t>(n, 5) - 1;
            }
            break;
        }
        }
    }
    return std::nullopt;
}

Expected<bool> parse_bool(const std::string& name, const std::string& v) {
    if (v == "1" || v == "true" || v == "yes")
        return true;
    if (v == "0" || v == "false" || v == "no")
        return false;
    return usage_error(fmt::format("{}: '{}' is not true or false", name, v));
}

} // namespace

const std::vector<std::pair<std::string, std::string>>& config_keys() {
    static const auto k_keys = [] {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& s : setters())
            out.emplace_back(s.key, s.help + " (" + s.env + ")");
        return out;
    }();
    return k_keys;
}

Expected<void> apply_toml(ServeConfig& c, std::string_view text, const std::string& source) {
    if (auto line = misplaced_non_ascii(text))
        return usage_error(
            fmt::format("{}:{}: non-ASCII text outside a string or comment, or first after a "
                        "line-ending backslash",
                        source, *line));
    toml::table table;
    try {
        table = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        return usage_error(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                       e.source().begin.column, e.description()));
    }
    for (auto&& [key, node] : table) {
        std::string name(key.str());
        const Setter* setter = nullptr;
        for (const auto& s : setters())
            if (s.key == name)
                setter = &s;
        if (setter == nullptr)
            return usage_error(fmt::format("{}: unknown key '{}'", source, name));
        auto wrong = [&](const char* what) {
            return usage_error(fmt::format("{}: {}: expected {}", source, name, what));
        };
        switch (setter->kind) {
        case Setter::Kind::text:
            if (!node.is_string())
                return wrong("a string");
            KEYSAT_TRY(setter->set(c, *node.value<std::string>(), 0, false, {}));
            break;
        case Setter::Kind::integer: {
            // Only an integer node is read as one: toml++ would convert a float such as 3.3e42
            // to an integer, undefined behaviour out of range (found by tests/fuzz).
            auto v = node.is_integer() ? node.value<std::int64_t>() : std::nullopt;
            if (!v || *v < setter->lo || *v > setter->hi)
                return wrong(
                    fmt::format("a whole number from {} to {}", setter->lo, setter->hi).c_str());
            KEYSAT_TRY(setter->set(c, "", *v, false, {}));
            break;
        }
        case Setter::Kind::boolean:
            if (!node.is_boolean())
                return wrong("true or false");
            KEYSAT_TRY(setter->set(c, "", 0, *node.value<bool>(), {}));
            break;
        case Setter::Kind::list: {
            std::vector<std::string> items;
            if (!node.is_array())
                return wrong("an array of strings");
            for (auto&& item : *node.as_array()) {
                if (!item.is_string())
                    return wrong("an array of strings");
                items.push_back(*item.value<std::string>());
            }
            KEYSAT_TRY(setter->set(c, "", 0, false, items));
            break;
        }
        }
    }
    return {};
}

Expected<void> apply_env(ServeConfig& c, const std::map<std::string, std::string>& env) {
    for (const auto& s : setters()) {
        auto it = env.find(s.env);
        if (it == env.end())
            continue;
        const std::string& v = it->second;
        switch (s.kind) {
        case Setter::Kind::text:
            KEYSAT_TRY(s.set(c, v, 0, false, {}));
            break;
        case Setter::Kind::integer: {
            KEYSAT_TRY_ASSIGN(n, parse_int(s.env, v, s.lo, s.hi));
            KEYSAT_TRY(s.set(c, "", n, false, {}));
            break;
        }
        case Setter::Kind::boolean: {
            KEYSAT_TRY_ASSIGN(b, parse_bool(s.env, v));
            KEYSAT_TRY(s.set(c, "", 0, b, {}));
            break;
        }
        case Setter::Kind::list:
            KEYSAT_TRY(s.set(c, "", 0, false, split_list(v)));
            break;
        }
    }
    return {};
}

std::map<std::string, std::string> process_env() {
    std::map<std::string, std::string> env;
    for (const auto& s : setters())
        if (const char* v = std::getenv(s.env.c_str()))
            env[s.env] = v;
    return env;
}

void apply_seed_env(ServeConfig& c, const std::map<std::string, std::string>& env) {
    auto value = [&](const char* name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end() || it->second.empty())
            return std::nullopt;
        return it->second;
    };
    if (auto v = value("RELEASES_DIR"); v && c.releases_dir.empty())
        c.releases_dir = *v;
    if (auto v = value("VERIFY_KEY_PUB"); v && c.verify_keys.empty())
        c.verify_keys = {*v};
    if (auto v = value("REVOCATION_LIST_PATH"); v && c.revocation_list.empty())
        c.revocation_list = *v;
}

std::map<std::string, std::string> seed_env() {
    std::map<std::string, std::string> env;
    for (const char* name : {"RELEASES_DIR", "VERIFY_KEY_PUB", "REVOCATION_LIST_PATH"})
        if (const char* v = std::getenv(name))
            env[name] = v;
    return env;
}

Expected<void> finish(ServeConfig& c) {
    if (c.db_path.empty())
        c.db_path = c.data_dir / "keysat.db";
    if (c.public_url.empty())
        c.public_url = fmt::format("http://{}:{}", c.bind_host, c.bind_port);
    return {};
}

Expected<std::pair<std::string, int>> parse_bind(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return usage_error(fmt::format("bind: '{}' is not host:port", text));
    std::string host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    KEYSAT_TRY_ASSIGN(port, parse_int("bind", text.substr(colon + 1), 0, 65535));
    return std::pair{host, static_cast<int>(port)};
}

} // namespace keysat::config
