#pragma once
// keysat-serve's configuration: a TOML file, overridden by environment variables (Keysat's
// names and ours), overridden by command-line flags. The only place that includes toml++.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keysat/util/error.hpp"

namespace keysat::config {

struct ServeConfig {
    std::string bind_host = "127.0.0.1";
    int bind_port = 8080;
    std::filesystem::path data_dir = "var";
    std::filesystem::path db_path; // default: <data_dir>/keysat.db
    std::string admin_api_key;     // empty: generated at first start, printed once
    std::string public_url;        // default: http://<bind>
    std::string operator_name = "Keysat";
    std::filesystem::path signing_key_file; // empty: <data_dir>/signing.key, generated
    std::filesystem::path passphrase_file;
    std::vector<std::string> verify_keys;  // verify-only mode when set without a signing key
    std::filesystem::path releases_dir;    // empty: no release gate
    std::string git_redirect_url;          // empty: no /git/* redirect
    std::filesystem::path revocation_list; // release gate revocation list file
    std::vector<std::string> trusted_proxies;
    int threads = 0; // 0: twice the cores, at least 4
    int keep_alive_max = 1000;
    int keep_alive_timeout_s = 5;
    int read_timeout_s = 10;
    int write_timeout_s = 10;
    int max_connections = 10000;
    std::int64_t max_body_bytes = 1 << 20;
    std::int64_t cache_ttl_ms = 10000;
    std::int64_t cache_entries = 20000; // per cache of validate's (keys, licenses, machines)
    std::string log_format = "text";    // text, json
    bool migrate = false;               // run pending migrations at start
    double validate_rate = 1.0;         // validate and machine requests per second per client
    double validate_burst = 60.0;       // 0 rate: no limit
    int webhook_senders = 4;
    int webhook_timeout_s = 10;
    int webhook_retry_unit_ms = 1000;       // one "second" of the retry schedule
    bool webhook_deny_private = false;      // refuse private ranges for outbound requests too
    std::vector<std::string> webhook_allow; // CIDR ranges outbound requests may reach regardless
    // A BTCPay store configured by hand (Keysat's older static settings), instead of connect.
    std::string btcpay_url;         // where keysat-serve reaches BTCPay
    std::string btcpay_public_url;  // where buyers' browsers do, when it differs
    std::string btcpay_browser_url; // where the operator's browser does (connect), when it differs
    std::string btcpay_api_key;
    std::string btcpay_store_id;
    std::string btcpay_webhook_secret;
    int reconcile_interval_s = 60;    // how often pending invoices are checked with the provider
    int validation_log_days = 30;     // retention of validation-log rows (0: for good)
    int webhook_log_days = 30;        // retention of delivered webhook deliveries (0: for good)
    int maintenance_interval_s = 60;  // between housekeeping passes (retention, checkpoint, backup)
    int db_cache_mib = 8;             // SQLite page cache per connection
    std::filesystem::path backup_dir; // scheduled backups; empty: none
    std::int64_t backup_interval_s = 86400;
    int backup_keep = 7;
    std::string metrics_host; // empty: no metrics listener
    int metrics_port = 0;
    int renewal_interval_s = 60; // how often the renewal worker looks for due subscriptions
    int renewal_lead_days = 7;   // how long before a period's end its renewal invoice opens
};

// Every key the file accepts, with one line of help (for keysat.toml(5) and error messages).
const std::vector<std::pair<std::string, std::string>>& config_keys();

// Applies a TOML document. Unknown keys and values of the wrong type or range are errors that
// name the key.
Expected<void> apply_toml(ServeConfig& c, std::string_view toml_text, const std::string& source);
// Applies KEYSAT_* variables from `env` (name -> value).
Expected<void> apply_env(ServeConfig& c, const std::map<std::string, std::string>& env);
// Reads the process environment into a map of the variables apply_env knows.
std::map<std::string, std::string> process_env();
// The seed release server's variables, read when ours leave the setting empty: RELEASES_DIR
// (releases_dir), VERIFY_KEY_PUB (verify_keys: 64 hex characters or a file holding them) and
// REVOCATION_LIST_PATH (revocation_list). Apply after the file, the environment and the flags.
void apply_seed_env(ServeConfig& c, const std::map<std::string, std::string>& env);
// Reads the seed's variables from the process environment.
std::map<std::string, std::string> seed_env();
// Fills defaults that depend on other settings and checks the whole.
Expected<void> finish(ServeConfig& c);

// Parses "host:port" (IPv4 or [IPv6]).
Expected<std::pair<std::string, int>> parse_bind(const std::string& text);

} // namespace keysat::config
