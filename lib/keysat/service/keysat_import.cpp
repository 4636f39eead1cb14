#include "keysat/service/keysat_import.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "keysat/issuing/issue.hpp"
#include "keysat/issuing/keyfile.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/service/roles.hpp"
#include "keysat/store/license_store.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/json_depth.hpp"

namespace keysat::service {

using nlohmann::json;

namespace {

// Keysat's timestamps are RFC 3339 text (rows its migration 20 made use SQLite's
// "YYYY-MM-DD HH:MM:SS"); SQLite's unixepoch() reads both, and NULL means it could not.
std::string ts(const std::string& column) {
    return "unixepoch(" + column + ")";
}

// A WHERE condition true when a NOT NULL timestamp column does not read as a date.
std::string bad_ts(const std::string& column) {
    return ts(column) + " IS NULL";
}
std::string bad_opt_ts(const std::string& column) {
    return "(" + column + " IS NOT NULL AND " + ts(column) + " IS NULL)";
}

const char* k_currencies = "('SAT', 'USD', 'EUR')";

// Keysat's tables in the order their rows are copied, with the column that names a row.
struct SourceTable {
    const char* name;
    const char* id;
};
const std::array<SourceTable, 18> k_source_tables = {{
    {"merchant_profiles", "id"},
    {"payment_providers", "id"},
    {"merchant_profile_rail_preferences", "merchant_profile_id || '/' || rail"},
    {"products", "id"},
    {"policies", "id"},
    {"discount_codes", "id"},
    {"invoices", "id"},
    {"licenses", "id"},
    {"machines", "id"},
    {"discount_redemptions", "id"},
    {"subscriptions", "id"},
    {"subscription_invoices", "id"},
    {"tier_changes", "id"},
    {"webhook_endpoints", "id"},
    {"webhook_deliveries", "id"},
    {"scoped_api_keys", "id"},
    {"audit_log", "id"},
    {"settings", "key"},
}};

// The SQL naming a row of Keysat's `table` in problems and left-out lists.
std::string id_of(std::string_view table) {
    for (const auto& t : k_source_tables)
        if (table == t.name)
            return t.id;
    return "id";
}

// Which row of a child table depends on which row of another (Keysat's foreign keys that carry
// over): a row left out leaves out the rows that point at it.
struct Edge {
    const char* child;
    const char* column;
    const char* parent;
};
const std::array<Edge, 27> k_edges = {{
    {"payment_providers", "merchant_profile_id", "merchant_profiles"},
    {"merchant_profile_rail_preferences", "merchant_profile_id", "merchant_profiles"},
    {"merchant_profile_rail_preferences", "payment_provider_id", "payment_providers"},
    {"products", "merchant_profile_id", "merchant_profiles"},
    {"policies", "product_id", "products"},
    {"discount_codes", "applies_to_product_id", "products"},
    {"discount_codes", "applies_to_policy_id", "policies"},
    {"invoices", "product_id", "products"},
    {"invoices", "policy_id", "policies"},
    {"invoices", "payment_provider_id", "payment_providers"},
    {"licenses", "product_id", "products"},
    {"licenses", "policy_id", "policies"},
    {"licenses", "invoice_id", "invoices"},
    {"machines", "license_id", "licenses"},
    {"discount_redemptions", "code_id", "discount_codes"},
    {"discount_redemptions", "invoice_id", "invoices"},
    {"subscriptions", "license_id", "licenses"},
    {"subscriptions", "policy_id", "policies"},
    {"subscriptions", "merchant_profile_id", "merchant_profiles"},
    {"subscriptions", "payment_provider_id", "payment_providers"},
    {"subscription_invoices", "subscription_id", "subscriptions"},
    {"subscription_invoices", "invoice_id", "invoices"},
    {"tier_changes", "license_id", "licenses"},
    {"tier_changes", "from_policy_id", "policies"},
    {"tier_changes", "to_policy_id", "policies"},
    {"tier_changes", "invoice_id", "invoices"},
    {"webhook_deliveries", "endpoint_id", "webhook_endpoints"},
}};

// Our tables the import fills, for the "is the target empty" test and the report.
const std::array<const char*, 19> k_target_tables = {
    "signing_keys", "merchant_profiles", "payment_providers",    "merchant_rail_preferences",
    "products",     "policies",          "discount_codes",       "invoices",
    "licenses",     "machines",          "discount_redemptions", "subscriptions",
    "tier_changes", "webhook_endpoints", "webhook_deliveries",   "api_keys",
    "audit_log",    "settings",          "validation_log"};

constexpr const char* k_marker = "keysat_import";

class Importer {
  public:
    Importer(db::Database& db, const KeysatSource& source, const crypto::SecretKey& key,
             OnBadRow on_bad, std::int64_t now, const ImportProgress& progress)
        : m_db(db), m_source(source), m_key(key), m_on_bad(on_bad), m_now(now),
          m_progress(progress) {}

    Expected<KeysatImportReport> run(ImportMode mode,
                                     const std::function<Expected<void>()>& before_commit);

  private:
    Expected<bool> has_table(const std::string& table);
    Expected<bool> has_column(const std::string& table, const std::string& column);
    // `column` of Keysat's `table` as SQL (prefixed with `alias.`), or `fallback` when this
    // version does not have it.
    Expected<std::string> col(const std::string& table, const std::string& alias,
                              const std::string& column, const std::string& fallback);
    // The provider of a row of `table`: its payment_provider_id, or before Keysat's merchant
    // profiles the one Keysat was using (an id we chose: 'btcpay' or 'zaprite').
    Expected<std::string> provider_of(const std::string& table);
    Expected<std::int64_t> count(const std::string& sql);
    Expected<json> source_counts();

    // Records the rows of `table` for which `where` holds (alias s) as problems.
    Expected<void> check(const std::string& table, const std::string& where,
                         const std::string& reason_sql);
    Expected<void> check_rows();
    Expected<void> cascade();
    // " AND s.<id> NOT IN (left-out rows of table)".
    std::string kept(const std::string& table, const std::string& id = "s.id") const;
    Expected<void> problem(const std::string& table, const std::string& id,
                           const std::string& reason);

    Expected<void> copy_accounts();
    Expected<void> copy_catalog();
    Expected<void> copy_invoices();
    Expected<void> copy_licenses();
    Expected<void> copy_dependents();
    Expected<void> copy_access();
    Expected<void> link_invoices();
    Expected<void> count_rows(KeysatImportReport& report);
    Expected<void> note_not_carried(KeysatImportReport& report);

    db::Database& m_db;
    const KeysatSource& m_source;
    const crypto::SecretKey& m_key;
    OnBadRow m_on_bad;
    std::int64_t m_now;
    const ImportProgress& m_progress;
    std::map<std::string, bool> m_tables;
    std::map<std::string, bool> m_columns;
    std::optional<std::string> m_legacy_provider; // before Keysat's migration 20
};

Expected<bool> Importer::has_table(const std::string& table) {
    if (auto it = m_tables.find(table); it != m_tables.end())
        return it->second;
    KEYSAT_TRY_ASSIGN(stmt, m_db.prepare("SELECT count(*) FROM k.sqlite_master WHERE type = "
                                         "'table' AND name = ?"));
    stmt.bind(1, table);
    KEYSAT_TRY_ASSIGN(row, stmt.step());
    bool found = row && stmt.column_int(0) > 0;
    stmt.reset();
    return m_tables[table] = found;
}

Expected<bool> Importer::has_column(const std::string& table, const std::string& column) {
    auto name = table + "." + column;
    if (auto it = m_columns.find(name); it != m_columns.end())
        return it->second;
    KEYSAT_TRY_ASSIGN(stmt, m_db.prepare("SELECT count(*) FROM pragma_table_info(?, 'k') WHERE "
                                         "name = ?"));
    stmt.bind(1, table).bind(2, column);
    KEYSAT_TRY_ASSIGN(row, stmt.step());
    bool found = row && stmt.column_int(0) > 0;
    stmt.reset();
    return m_columns[name] = found;
}

Expected<std::string> Importer::col(const std::string& table, const std::string& alias,
                                    const std::string& column, const std::string& fallback) {
    KEYSAT_TRY_ASSIGN(found, has_column(table, column));
    return found ? alias + "." + column : fallback;
}

Expected<std::int64_t> Importer::count(const std::string& sql) {
    return m_db.query_int(sql);
}

Expected<std::string> Importer::provider_of(const std::string& table) {
    KEYSAT_TRY_ASSIGN(provider, col(table, "s", "payment_provider_id", "NULL"));
    if (provider == "NULL" && m_legacy_provider)
        return "'" + *m_legacy_provider + "'";
    return provider;
}

Expected<void> Importer::problem(const std::string& table, const std::string& id,
                                 const std::string& reason) {
    KEYSAT_TRY_ASSIGN(stmt, m_db.prepare("INSERT OR IGNORE INTO temp.import_skip (tbl, id, "
                                         "reason) VALUES (?, ?, ?)"));
    stmt.bind(1, table).bind(2, id).bind(3, reason);
    return stmt.run();
}

Expected<void> Importer::check(const std::string& table, const std::string& where,
                               const std::string& reason_sql) {
    KEYSAT_TRY_ASSIGN(present, has_table(table));
    if (!present)
        return {};
    return m_db.exec(fmt::format("INSERT OR IGNORE INTO temp.import_skip (tbl, id, reason) "
                                 "SELECT '{}', {}, {} FROM k.{} s WHERE {}",
                                 table, id_of(table), reason_sql, table, where));
}

std::string Importer::kept(const std::string& table, const std::string& id) const {
    return fmt::format(" AND {} NOT IN (SELECT id FROM temp.import_skip WHERE tbl = '{}')", id,
                       table);
}

Expected<void> Importer::check_rows() {
    auto not_date = [](const std::string& c) {
        return "'" + c + " is not a date: ' || substr(quote(" + c + "), 1, 40)";
    };
    // Timestamps that must read as dates.
    const std::vector<std::pair<std::string, std::vector<std::string>>> dates = {
        {"merchant_profiles", {"created_at", "updated_at"}},
        {"payment_providers", {"connected_at", "updated_at"}},
        {"products", {"created_at", "updated_at"}},
        {"policies", {"created_at", "updated_at"}},
        {"discount_codes", {"created_at", "updated_at"}},
        {"invoices", {"created_at", "updated_at"}},
        {"licenses", {"issued_at"}},
        {"machines", {"activated_at"}},
        {"discount_redemptions", {"created_at", "updated_at"}},
        {"subscriptions", {"started_at", "created_at", "updated_at"}},
        {"subscription_invoices", {"cycle_end_at"}},
        {"tier_changes", {"effective_at", "created_at"}},
        {"webhook_endpoints", {"created_at", "updated_at"}},
        {"webhook_deliveries", {"created_at"}},
        {"scoped_api_keys", {"created_at"}},
        {"audit_log", {"occurred_at"}},
    };
    for (const auto& [table, columns] : dates)
        for (const auto& c : columns)
            KEYSAT_TRY(check(table, bad_ts(c), not_date(c)));
    const std::vector<std::pair<std::string, std::vector<std::string>>> optional_dates = {
        {"policies", {"archived_at"}},
        {"discount_codes", {"expires_at"}},
        {"licenses", {"expires_at"}},
        {"machines", {"last_heartbeat_at", "deactivated_at"}},
        {"subscriptions", {"next_renewal_at", "cancelled_at", "last_renewal_attempt_at"}},
        {"webhook_deliveries", {"next_attempt_at", "delivered_at"}},
        {"scoped_api_keys", {"last_used_at", "revoked_at"}},
    };
    for (const auto& [table, columns] : optional_dates)
        for (const auto& c : columns) {
            KEYSAT_TRY_ASSIGN(present, has_column(table, c));
            if (present)
                KEYSAT_TRY(check(table, bad_opt_ts(c), not_date(c)));
        }

    auto currency = [](const std::string& c) {
        return "'currency ' || substr(quote(" + c + "), 1, 20) || ' is not one of SAT, USD, EUR'";
    };
    auto json_array = [](const std::string& c) {
        return "(json_valid(" + c + ") = 0 OR json_type(" + c + ") <> 'array')";
    };
    auto whole_days = [](const std::string& c) {
        return "'" + c + " ' || " + c + " || ' is not a whole number of days'";
    };

    KEYSAT_TRY(check("products", "s.price_currency NOT IN " + std::string(k_currencies),
                     currency("s.price_currency")));
    KEYSAT_TRY(check("products",
                     "(CASE WHEN s.price_currency = 'SAT' THEN s.price_sats ELSE s.price_value "
                     "END) < 0",
                     "'the price is negative'"));
    // A JSON array column that is NULL or absent in older versions.
    auto optional_array = [&](const std::string& table,
                              const std::string& column) -> Expected<void> {
        KEYSAT_TRY_ASSIGN(present, has_column(table, column));
        if (!present)
            return {};
        return check(table, "s." + column + " IS NOT NULL AND " + json_array("s." + column),
                     "'" + column + " is not a JSON array'");
    };
    KEYSAT_TRY(optional_array("products", "entitlements_catalog_json"));

    KEYSAT_TRY(check("policies", "s.duration_seconds < 0 OR s.duration_seconds % 86400 <> 0",
                     whole_days("duration_seconds")));
    KEYSAT_TRY(check("policies", "s.grace_seconds < 0 OR s.grace_seconds % 86400 <> 0",
                     whole_days("grace_seconds")));
    KEYSAT_TRY(check("policies", "s.grace_period_days NOT BETWEEN 0 AND 90",
                     "'grace_period_days ' || s.grace_period_days || ' is outside 0-90'"));
    KEYSAT_TRY(check("policies",
                     "s.is_recurring = 1 AND (s.renewal_period_days IS NULL OR "
                     "s.renewal_period_days NOT BETWEEN 1 AND 1830)",
                     "'a recurring tier needs renewal_period_days between 1 and 1830'"));
    KEYSAT_TRY(check("policies", "s.max_machines < 0 OR coalesce(s.price_sats_override, 0) < 0",
                     "'max_machines or price_sats_override is negative'"));
    KEYSAT_TRY(check("policies", json_array("s.entitlements_json"),
                     "'entitlements_json is not a JSON array'"));
    KEYSAT_TRY(check("policies",
                     "json_valid(s.metadata_json) = 0 OR json_type(s.metadata_json) <> 'object'",
                     "'metadata_json is not a JSON object'"));

    KEYSAT_TRY_ASSIGN(code_currency, col("discount_codes", "s", "discount_currency", "'SAT'"));
    KEYSAT_TRY(check("discount_codes", code_currency + " NOT IN " + k_currencies,
                     currency(code_currency)));
    KEYSAT_TRY(check("discount_codes",
                     "s.max_uses IS NOT NULL AND (s.max_uses <= 0 OR s.used_count > s.max_uses)",
                     "'max_uses ' || s.max_uses || ' with ' || s.used_count || ' uses'"));
    KEYSAT_TRY(optional_array("discount_codes", "applies_to_policy_ids_json"));

    KEYSAT_TRY(check(
        "invoices", "s.status NOT IN ('pending', 'settled', 'expired', 'invalid')",
        "'status ' || substr(quote(s.status), 1, 20) || ' is not pending, settled, expired or "
        "invalid'"));
    KEYSAT_TRY(check("invoices",
                     "coalesce(s.listed_currency, 'SAT') NOT IN " + std::string(k_currencies),
                     currency("s.listed_currency")));
    KEYSAT_TRY(check("invoices",
                     "(CASE WHEN coalesce(s.listed_currency, 'SAT') = 'SAT' THEN s.amount_sats "
                     "ELSE s.listed_value END) IS NULL OR (CASE WHEN coalesce(s.listed_currency, "
                     "'SAT') = 'SAT' THEN s.amount_sats ELSE s.listed_value END) < 0",
                     "'no amount in its listed currency'"));

    KEYSAT_TRY(check(
        "licenses", "s.status NOT IN ('active', 'suspended', 'revoked')",
        "'status ' || substr(quote(s.status), 1, 20) || ' is not active, suspended or revoked'"));
    KEYSAT_TRY(check("licenses", "s.grace_seconds < 0 OR s.grace_seconds % 86400 <> 0",
                     whole_days("grace_seconds")));
    KEYSAT_TRY(check("licenses", "s.max_machines < 0", "'max_machines is negative'"));
    KEYSAT_TRY(check("machines", "length(s.fingerprint_hash) <> 64",
                     "'fingerprint_hash is not 64 hex digits'"));

    KEYSAT_TRY(check("discount_redemptions", "s.status NOT IN ('pending', 'redeemed', 'cancelled')",
                     "'status ' || substr(quote(s.status), 1, 20) || ' is unknown'"));
    KEYSAT_TRY(check("subscriptions", "s.listed_currency NOT IN " + std::string(k_currencies),
                     currency("s.listed_currency")));
    KEYSAT_TRY(check("subscriptions",
                     "s.next_renewal_at IS NULL AND (SELECT l.expires_at FROM k.licenses l "
                     "WHERE l.id = s.license_id) IS NULL",
                     "'neither next_renewal_at nor its license''s expires_at says when its "
                     "period ends'"));
    KEYSAT_TRY(check("tier_changes", "s.listed_currency NOT IN " + std::string(k_currencies),
                     currency("s.listed_currency")));
    KEYSAT_TRY(check("webhook_endpoints", json_array("s.event_types"),
                     "'event_types is not a JSON array'"));
    KEYSAT_TRY(check("audit_log",
                     "json_valid(s.details_json) = 0 OR json_type(s.details_json) <> 'object'",
                     "'details_json is not a JSON object'"));

    // Values our CHECK constraints refuse, which Keysat's schema does not.
    for (const auto& [table, column] :
         std::vector<std::pair<std::string, std::string>>{{"products", "active"},
                                                          {"policies", "active"},
                                                          {"policies", "public"},
                                                          {"policies", "is_trial"},
                                                          {"licenses", "is_trial"},
                                                          {"discount_codes", "active"},
                                                          {"discount_codes", "featured"},
                                                          {"webhook_endpoints", "active"},
                                                          {"merchant_profiles", "is_default"}}) {
        KEYSAT_TRY_ASSIGN(present, has_column(table, column));
        if (present)
            KEYSAT_TRY(
                check(table, "s." + column + " NOT IN (0, 1)", "'" + column + " is not 0 or 1'"));
    }
    KEYSAT_TRY(check("subscriptions", "s.listed_value < 0 OR s.period_days <= 0",
                     "'listed_value or period_days is out of range'"));
    KEYSAT_TRY(check("discount_redemptions", "s.base_price_sats < 0 OR s.discount_applied_sats < 0",
                     "'a negative price or discount'"));
    KEYSAT_TRY(
        check("tier_changes", "s.proration_charge_value < 0", "'a negative proration charge'"));
    // Our codes are unique whatever their case; Keysat's only as typed.
    KEYSAT_TRY(check("discount_codes",
                     "EXISTS (SELECT 1 FROM k.discount_codes o WHERE upper(o.code) = "
                     "upper(s.code) AND o.rowid < s.rowid)",
                     "'code ' || substr(s.code, 1, 40) || ' differs only in case from another "
                     "one'"));
    KEYSAT_TRY(check("scoped_api_keys",
                     "s.role NOT IN ('read-only', 'license-issuer', 'support', "
                     "'merchant-onboard', 'full-admin')",
                     "'role ' || substr(quote(s.role), 1, 40) || ' is unknown'"));
    KEYSAT_TRY_ASSIGN(extra, has_column("scoped_api_keys", "extra_scopes"));
    if (extra) {
        std::string known;
        for (const auto& scope : known_scopes())
            known += (known.empty() ? "'" : ", '") + scope + "'";
        KEYSAT_TRY(check("scoped_api_keys",
                         "s.extra_scopes IS NOT NULL AND (json_valid(s.extra_scopes) = 0 OR "
                         "json_type(s.extra_scopes) <> 'array' OR EXISTS (SELECT 1 FROM "
                         "json_each(s.extra_scopes) WHERE type <> 'text' OR value NOT IN (" +
                             known + ")))",
                         "'extra_scopes holds a scope we do not have'"));
    }
    // References to rows that are not in Keysat's database at all (it ran without foreign keys
    // at times): ours are enforced, so the row could not be written.
    for (const auto& e : k_edges) {
        KEYSAT_TRY_ASSIGN(child, has_table(e.child));
        KEYSAT_TRY_ASSIGN(parent, has_table(e.parent));
        if (!child || !parent)
            continue;
        KEYSAT_TRY_ASSIGN(column, has_column(e.child, e.column));
        if (!column)
            continue;
        KEYSAT_TRY(check(e.child,
                         fmt::format("s.{0} IS NOT NULL AND s.{0} NOT IN (SELECT id FROM k.{1})",
                                     e.column, e.parent),
                         fmt::format("'{} ' || substr(s.{}, 1, 80) || ' is not in {}'", e.column,
                                     e.column, e.parent)));
    }
    return {};
}

Expected<void> Importer::cascade() {
    KEYSAT_TRY_ASSIGN(left_out, count("SELECT count(*) FROM temp.import_skip"));
    if (left_out == 0)
        return {}; // nothing to follow: no scans of the big tables
    for (int pass = 0; pass < 2; ++pass)
        for (const auto& e : k_edges) {
            KEYSAT_TRY_ASSIGN(child, has_table(e.child));
            if (!child)
                continue;
            KEYSAT_TRY_ASSIGN(column, has_column(e.child, e.column));
            if (!column)
                continue;
            KEYSAT_TRY(m_db.exec(fmt::format(
                "INSERT OR IGNORE INTO temp.import_skip (tbl, id, reason) SELECT '{0}', {1}, "
                "'its {2} row ' || s.{3} || ' is not imported' FROM k.{0} s WHERE s.{3} IN "
                "(SELECT id FROM temp.import_skip WHERE tbl = '{2}')",
                e.child, id_of(e.child), e.parent, e.column)));
        }
    return {};
}

Expected<void> Importer::copy_accounts() {
    KEYSAT_TRY_ASSIGN(keys, m_db.prepare("INSERT INTO signing_keys (key_id, public_key, "
                                         "encrypted_secret, created_at) VALUES (?, ?, NULL, ?)"));
    keys.bind(1, crypto::key_id_text(m_key.key_id()))
        .bind(2, ByteView(m_key.public_key().bytes))
        .bind(3, m_now);
    KEYSAT_TRY(keys.run());

    KEYSAT_TRY_ASSIGN(profiles, has_table("merchant_profiles"));
    if (profiles) {
        KEYSAT_TRY(m_db.exec(
            "INSERT INTO merchant_profiles (id, name, contact_email, created_at, legal_name, "
            "support_url, support_email, brand_color, post_purchase_redirect_url, is_default, "
            "updated_at) SELECT s.id, s.name, s.support_email, unixepoch(s.created_at), "
            "s.legal_name, s.support_url, s.support_email, s.brand_color, "
            "s.post_purchase_redirect_url, s.is_default, unixepoch(s.updated_at) FROM "
            "k.merchant_profiles s WHERE 1" +
            kept("merchant_profiles") + " ORDER BY s.rowid"));
        KEYSAT_TRY(m_db.exec(
            "INSERT INTO payment_providers (id, kind, merchant_profile_id, base_url, store_id, "
            "api_key, webhook_id, webhook_secret, status, created_at, updated_at, label) SELECT "
            "s.id, s.kind, s.merchant_profile_id, s.base_url, s.store_id, s.api_key, "
            "s.webhook_id, s.webhook_secret, 'connected', unixepoch(s.connected_at), "
            "unixepoch(s.updated_at), s.label FROM k.payment_providers s WHERE 1" +
            kept("payment_providers") + " ORDER BY s.rowid"));
        KEYSAT_TRY(m_db.exec(
            "INSERT INTO merchant_rail_preferences (merchant_profile_id, rail, "
            "payment_provider_id) SELECT s.merchant_profile_id, s.rail, s.payment_provider_id "
            "FROM k.merchant_profile_rail_preferences s WHERE 1" +
            kept("merchant_profile_rail_preferences", "s.merchant_profile_id || '/' || s.rail") +
            " ORDER BY s.rowid"));
    } else {
        // Before Keysat's migration 20: one BTCPay store and one Zaprite account, kept under the
        // ids of the routes Keysat served them on (/v1/btcpay/webhook, /v1/zaprite/webhook).
        struct Legacy {
            const char* kind;
            const char* label;
            const char* store_id;
            const char* webhook_secret;
            const char* updated_at;
        };
        for (const auto& l :
             {Legacy{"btcpay", "BTCPay", "s.store_id", "s.webhook_secret", "s.connected_at"},
              Legacy{"zaprite", "Zaprite", "NULL", "NULL", "s.updated_at"}}) {
            KEYSAT_TRY_ASSIGN(present, has_table(std::string(l.kind) + "_config"));
            if (present)
                KEYSAT_TRY(m_db.exec(fmt::format(
                    "INSERT INTO payment_providers (id, kind, merchant_profile_id, base_url, "
                    "store_id, api_key, webhook_id, webhook_secret, status, created_at, "
                    "updated_at, label) SELECT '{0}', '{0}', NULL, s.base_url, {2}, s.api_key, "
                    "s.webhook_id, {3}, 'connected', coalesce(unixepoch(s.connected_at), 0), "
                    "coalesce(unixepoch({4}), 0), '{1}' FROM k.{0}_config s",
                    l.kind, l.label, l.store_id, l.webhook_secret, l.updated_at)));
        }
        // The provider Keysat sent buyers to: its active_payment_provider setting, else the
        // one connected first (what Keysat's migrations 20 and 21 assumed too).
        KEYSAT_TRY_ASSIGN(
            active,
            m_db.query_texts("SELECT id FROM main.payment_providers ORDER BY (kind = coalesce(("
                             "SELECT value FROM k.settings WHERE key = "
                             "'active_payment_provider'), '')) DESC, created_at, id LIMIT 1"));
        if (!active.empty())
            m_legacy_provider = active.front();
    }
    KEYSAT_TRY(m_db.exec("INSERT INTO settings (key, value, updated_at) SELECT s.key, s.value, "
                         "coalesce(unixepoch(s.updated_at), 0) FROM k.settings s WHERE s.key = "
                         "'operator_name' AND s.value IS NOT NULL"));
    return {};
}

Expected<void> Importer::copy_catalog() {
    KEYSAT_TRY_ASSIGN(catalog, col("products", "s", "entitlements_catalog_json", "NULL"));
    KEYSAT_TRY_ASSIGN(profile, col("products", "s", "merchant_profile_id", "NULL"));
    KEYSAT_TRY(m_db.exec(fmt::format(
        "INSERT INTO products (id, slug, name, description, price_amount, currency, "
        "entitlements, active, created_at, updated_at, merchant_profile_id) SELECT s.id, s.slug, "
        "s.name, s.description, CASE WHEN s.price_currency = 'SAT' THEN s.price_sats ELSE "
        "s.price_value END, s.price_currency, coalesce({}, '[]'), s.active, "
        "unixepoch(s.created_at), unixepoch(s.updated_at), {} FROM k.products s WHERE 1{} ORDER "
        "BY s.rowid",
        catalog, profile, kept("products"))));

    KEYSAT_TRY_ASSIGN(rank, col("policies", "s", "tier_rank", "0"));
    KEYSAT_TRY_ASSIGN(archived_at, col("policies", "s", "archived_at", "NULL"));
    // The buy page's words sit in Keysat's metadata_json; ours has columns for them.
    auto meta_array = [](const char* name) {
        return fmt::format("CASE WHEN json_type(s.metadata_json, '$.{0}') = 'array' THEN "
                           "json_extract(s.metadata_json, '$.{0}') ELSE '[]' END",
                           name);
    };
    KEYSAT_TRY(m_db.exec(fmt::format(
        "INSERT INTO policies (id, product_id, slug, name, duration_days, grace_days, "
        "max_machines, entitlements, hidden_entitlements, is_trial, trial_days, recurring_period, "
        "price_override, tier_rank, public, active, archived, marketing_bullets, created_at, "
        "updated_at, description, highlighted, marketing_bullets_position, metadata, "
        "grace_period_days, archived_at, renewal_period_days) SELECT s.id, s.product_id, s.slug, "
        "s.name, nullif(s.duration_seconds / 86400, 0), s.grace_seconds / 86400, s.max_machines, "
        "s.entitlements_json, {}, s.is_trial, nullif(s.trial_days, 0), CASE WHEN s.is_recurring "
        "= 1 AND s.renewal_period_days = 30 THEN 'month' WHEN s.is_recurring = 1 AND "
        "s.renewal_period_days = 365 THEN 'year' END, s.price_sats_override, coalesce({}, 0), "
        "s.public, s.active, {} IS NOT NULL, {}, unixepoch(s.created_at), "
        "unixepoch(s.updated_at), CASE WHEN json_type(s.metadata_json, '$.description') = 'text' "
        "THEN json_extract(s.metadata_json, '$.description') ELSE '' END, "
        "json_type(s.metadata_json, '$.highlight') IS 'true', CASE WHEN "
        "json_extract(s.metadata_json, '$.marketing_bullets_position') IN ('above', 'below') THEN "
        "json_extract(s.metadata_json, '$.marketing_bullets_position') ELSE 'above' END, "
        "s.metadata_json, s.grace_period_days, unixepoch({}), CASE WHEN s.is_recurring = 1 THEN "
        "s.renewal_period_days END FROM k.policies s WHERE 1{} ORDER BY s.rowid",
        meta_array("hidden_entitlements"), rank, archived_at, meta_array("marketing_bullets"),
        archived_at, kept("policies"))));

    KEYSAT_TRY_ASSIGN(code_currency, col("discount_codes", "s", "discount_currency", "'SAT'"));
    KEYSAT_TRY_ASSIGN(featured, col("discount_codes", "s", "featured", "0"));
    KEYSAT_TRY_ASSIGN(policy_ids, col("discount_codes", "s", "applies_to_policy_ids_json", "NULL"));
    return m_db.exec(fmt::format(
        "INSERT INTO discount_codes (id, code, kind, value, max_uses, uses, expires_at, "
        "product_ids, policy_ids, featured, active, created_at, updated_at, description, "
        "referrer_label, currency) SELECT s.id, s.code, s.kind, s.amount, s.max_uses, "
        "s.used_count, unixepoch(s.expires_at), CASE WHEN s.applies_to_product_id IS NULL THEN "
        "'[]' ELSE json_array(s.applies_to_product_id) END, coalesce({}, CASE WHEN "
        "s.applies_to_policy_id IS NULL THEN '[]' ELSE json_array(s.applies_to_policy_id) END), "
        "{}, s.active, unixepoch(s.created_at), unixepoch(s.updated_at), s.description, "
        "s.referrer_label, {} FROM k.discount_codes s WHERE 1{} ORDER BY s.rowid",
        policy_ids, featured, code_currency, kept("discount_codes")));
}

Expected<void> Importer::copy_invoices() {
    KEYSAT_TRY_ASSIGN(provider, provider_of("invoices"));
    KEYSAT_TRY_ASSIGN(subscriptions, has_table("subscription_invoices"));
    KEYSAT_TRY_ASSIGN(tiers, has_table("tier_changes"));
    std::string renewal =
        subscriptions ? "EXISTS (SELECT 1 FROM k.subscription_invoices si WHERE si.invoice_id = "
                        "s.id AND si.cycle_number > 1)"
                      : "0";
    std::string upgrade =
        tiers ? "EXISTS (SELECT 1 FROM k.tier_changes t WHERE t.invoice_id = s.id)" : "0";
    std::string period_end =
        subscriptions ? "(SELECT unixepoch(si.cycle_end_at) FROM k.subscription_invoices si "
                        "WHERE si.invoice_id = s.id AND si.cycle_number > 1)"
                      : "NULL";
    // Keysat charged the listed price in its currency (amount_sats is what BTCPay was asked
    // for in sats); a code's redemption holds the price before and the amount taken off, in
    // the same currency.
    return m_db.exec(fmt::format(
        "INSERT INTO invoices (id, provider_id, provider_invoice_id, product_id, policy_id, "
        "status, base_amount, discount_amount, amount, currency, buyer_email, buyer_note, "
        "discount_code_id, checkout_url, redirect_url, created_at, updated_at, settled_at, "
        "purpose, license_id, period_end) SELECT s.id, {0}, s.btcpay_invoice_id, s.product_id, "
        "s.policy_id, CASE s.status WHEN 'pending' THEN 'new' ELSE s.status END, "
        "coalesce(r.base_price_sats, x.amount), coalesce(r.discount_applied_sats, 0), x.amount, "
        "x.currency, s.buyer_email, s.buyer_note, CASE WHEN r.code_id NOT IN (SELECT id FROM "
        "temp.import_skip WHERE tbl = 'discount_codes') THEN r.code_id END, "
        "nullif(s.checkout_url, ''), NULL, unixepoch(s.created_at), unixepoch(s.updated_at), CASE "
        "WHEN s.status = 'settled' THEN unixepoch(s.updated_at) END, CASE WHEN {1} THEN "
        "'renewal' WHEN {2} THEN 'upgrade' ELSE 'purchase' END, NULL, CASE WHEN {1} THEN {3} END "
        "FROM k.invoices s JOIN (SELECT i.id AS id, coalesce(i.listed_currency, 'SAT') AS "
        "currency, CASE WHEN coalesce(i.listed_currency, 'SAT') = 'SAT' THEN i.amount_sats ELSE "
        "i.listed_value END AS amount FROM k.invoices i) x ON x.id = s.id LEFT JOIN "
        "k.discount_redemptions r ON r.invoice_id = s.id WHERE 1{4} ORDER BY s.rowid",
        provider, renewal, upgrade, period_end, kept("invoices")));
}

// Renewal and upgrade invoices name their license once the licenses are in.
Expected<void> Importer::link_invoices() {
    KEYSAT_TRY_ASSIGN(subscriptions, has_table("subscription_invoices"));
    if (subscriptions)
        KEYSAT_TRY(m_db.exec(
            "UPDATE main.invoices SET license_id = (SELECT sub.license_id FROM "
            "k.subscription_invoices si JOIN k.subscriptions sub ON sub.id = si.subscription_id "
            "WHERE si.invoice_id = main.invoices.id AND sub.license_id NOT IN (SELECT id FROM "
            "temp.import_skip WHERE tbl = 'licenses')) WHERE purpose = 'renewal' AND license_id "
            "IS NULL"));
    KEYSAT_TRY_ASSIGN(tiers, has_table("tier_changes"));
    if (tiers)
        KEYSAT_TRY(m_db.exec(
            "UPDATE main.invoices SET license_id = (SELECT t.license_id FROM "
            "k.tier_changes t WHERE t.invoice_id = main.invoices.id AND t.license_id NOT IN "
            "(SELECT id FROM temp.import_skip WHERE tbl = 'licenses') LIMIT 1) "
            "WHERE purpose = 'upgrade' AND license_id IS NULL"));
    return {};
}

// Keysat does not store the key text of a license: it signs the payload again from the row, and
// Ed25519 signatures are deterministic. So do we, with its key. In id order: the primary key and
// the key text (LIC1 payloads start with the product and license ids) then grow at their ends
// instead of all over their B-trees, which halved the time of a million licenses.
Expected<void> Importer::copy_licenses() {
    KEYSAT_TRY_ASSIGN(total, count("SELECT count(*) FROM k.licenses"));
    KEYSAT_TRY_ASSIGN(
        read, m_db.prepare("SELECT s.id, s.product_id, s.policy_id, s.invoice_id, s.status, "
                           "s.buyer_email, unixepoch(s.issued_at), unixepoch(s.expires_at), "
                           "s.grace_seconds / 86400, s.max_machines, s.entitlements_json, "
                           "s.is_trial, s.suspension_reason, s.revocation_reason, "
                           "coalesce(unixepoch(s.revoked_at), unixepoch(s.suspended_at), "
                           "unixepoch(s.issued_at)) FROM k.licenses s WHERE s.id NOT IN (SELECT "
                           "id FROM temp.import_skip WHERE tbl = 'licenses') ORDER BY s.id"));
    KEYSAT_TRY_ASSIGN(
        write, m_db.prepare("INSERT INTO licenses (id, product_id, policy_id, invoice_id, status, "
                            "buyer_email, issued_at, expires_at, grace_days, max_machines, "
                            "entitlements, is_trial, fingerprint_sha256, license_key, "
                            "signing_key_id, suspension_reason, revocation_reason, created_at, "
                            "updated_at, id_key, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                            "?, NULL, ?, ?, ?, ?, ?, ?, NULL, 'server')"));
    const std::string key_id = crypto::key_id_text(m_key.key_id());
    auto opt_text = [&](int i) {
        return read.column_is_null(i) ? std::nullopt
                                      : std::optional<std::string>(read.column_text(i));
    };
    // Rows are read in batches, signed on two threads (signing is most of the work), then
    // written in order.
    struct Pending {
        std::string id, product, status;
        std::optional<std::string> policy, invoice, email, suspension, revocation;
        std::int64_t grace_days = 0, max_machines = 0, updated_at = 0;
        issuing::LicenseRequest req;
        Expected<std::string> key = std::string();
    };
    constexpr std::size_t k_batch = 2048;
    std::vector<Pending> batch;
    batch.reserve(k_batch);
    std::int64_t done = 0;
    std::vector<std::pair<std::string, std::string>> bad;
    auto flush = [&]() -> Expected<void> {
        auto sign = [&](std::size_t from) {
            for (std::size_t i = from; i < batch.size(); i += 2)
                batch[i].key = issuing::issue_license(m_key, batch[i].req);
        };
        std::thread other(sign, 1);
        sign(0);
        other.join();
        for (auto& p : batch) {
            if (!p.key) {
                bad.emplace_back(p.id, "its key cannot be rebuilt: " + p.key.error().message);
                continue;
            }
            write.bind(1, p.id)
                .bind(2, p.product)
                .bind(3, p.policy)
                .bind(4, p.invoice)
                .bind(5, p.status)
                .bind(6, p.email)
                .bind(7, p.req.issued_at)
                .bind(8, p.req.expires_at == 0 ? std::optional<std::int64_t>()
                                               : std::optional<std::int64_t>(p.req.expires_at))
                .bind(9, p.grace_days)
                .bind(10, p.max_machines)
                .bind(11, json(p.req.entitlements).dump())
                .bind(12, p.req.trial ? 1 : 0)
                .bind(13, *p.key)
                .bind(14, key_id)
                .bind(15, p.suspension)
                .bind(16, p.revocation)
                .bind(17, p.req.issued_at)
                .bind(18, p.updated_at);
            auto written = write.run();
            write.reset();
            if (!written)
                return std::unexpected(written.error());
        }
        batch.clear();
        return {};
    };
    for (;;) {
        KEYSAT_TRY_ASSIGN(row, read.step());
        if (!row)
            break;
        if (m_progress && ++done % 10000 == 0)
            m_progress(done, total);
        Pending p;
        p.id = read.column_text(0);
        p.product = read.column_text(1);
        auto license_id = Uuid::parse(p.id);
        auto product_id = Uuid::parse(p.product);
        if (!license_id || license_id->to_string() != p.id) {
            bad.emplace_back(p.id, "the id is not a lower-case UUID (a LIC1 key holds it as one)");
            continue;
        }
        if (!product_id || product_id->to_string() != p.product) {
            bad.emplace_back(p.id, "product_id " + p.product + " is not a lower-case UUID");
            continue;
        }
        std::string entitlements_text = read.column_text(10);
        json entitlements = json_nesting_depth(entitlements_text) > 2
                                ? json()
                                : json::parse(entitlements_text, nullptr, false);
        p.req.license_id = *license_id;
        p.req.product_id = *product_id;
        p.req.issued_at = read.column_int(6);
        p.req.expires_at = read.column_is_null(7) ? 0 : read.column_int(7);
        p.req.trial = read.column_int(11) != 0;
        bool strings = entitlements.is_array();
        if (strings)
            for (const auto& e : entitlements) {
                if (!e.is_string()) {
                    strings = false;
                    break;
                }
                p.req.entitlements.push_back(e.get<std::string>());
            }
        if (!strings) {
            bad.emplace_back(p.id, "entitlements_json is not a JSON array of strings");
            continue;
        }
        p.policy = opt_text(2);
        p.invoice = opt_text(3);
        p.status = read.column_text(4);
        p.email = opt_text(5);
        p.grace_days = read.column_int(8);
        p.max_machines = read.column_int(9);
        p.suspension = opt_text(12);
        p.revocation = opt_text(13);
        p.updated_at = read.column_int(14);
        batch.push_back(std::move(p));
        if (batch.size() == k_batch)
            KEYSAT_TRY(flush());
    }
    KEYSAT_TRY(flush());
    read.reset();
    if (m_progress)
        m_progress(total, total);
    for (const auto& [id, reason] : bad)
        KEYSAT_TRY(problem("licenses", id, reason));
    return {};
}

Expected<void> Importer::copy_dependents() {
    KEYSAT_TRY(m_db.exec(
        "INSERT INTO machines (id, license_id, fingerprint, fingerprint_sha256, hostname, "
        "platform, activated_at, last_heartbeat_at, deactivated_at, deactivation_reason) SELECT "
        "s.id, s.license_id, s.fingerprint, lower(s.fingerprint_hash), s.hostname, s.platform, "
        "unixepoch(s.activated_at), unixepoch(s.last_heartbeat_at), unixepoch(s.deactivated_at), "
        "s.deactivation_reason FROM k.machines s WHERE 1" +
        kept("machines") + " ORDER BY s.license_id, s.id"));
    KEYSAT_TRY(m_db.exec(
        "INSERT INTO discount_redemptions (id, discount_code_id, invoice_id, status, created_at, "
        "updated_at) SELECT s.id, s.code_id, s.invoice_id, CASE s.status WHEN 'pending' THEN "
        "'reserved' WHEN 'redeemed' THEN 'used' ELSE 'released' END, unixepoch(s.created_at), "
        "unixepoch(s.updated_at) FROM k.discount_redemptions s WHERE 1" +
        kept("discount_redemptions") + " ORDER BY s.rowid"));

    KEYSAT_TRY_ASSIGN(present, has_table("subscriptions"));
    if (present) {
        KEYSAT_TRY_ASSIGN(provider, provider_of("subscriptions"));
        KEYSAT_TRY_ASSIGN(profile, col("subscriptions", "s", "zaprite_payment_profile_id", "NULL"));
        // The plan's period ends when Keysat would renew it, which is the license's expiry.
        KEYSAT_TRY(m_db.exec(fmt::format(
            "INSERT INTO subscriptions (id, license_id, policy_id, product_id, status, "
            "period_days, listed_currency, listed_value, grace_days, started_at, "
            "current_period_start, current_period_end, provider_id, pending_policy_id, "
            "cancelled_at, cancellation_reason, lapsed_at, consecutive_failures, "
            "last_renewal_attempt_at, zaprite_payment_profile_id, created_at, updated_at) SELECT "
            "s.id, s.license_id, s.policy_id, s.product_id, s.status, s.period_days, "
            "s.listed_currency, s.listed_value, coalesce(p.grace_period_days, 7), "
            "unixepoch(s.started_at), max(unixepoch(s.started_at), e.period_end - s.period_days * "
            "86400), e.period_end, {}, NULL, unixepoch(s.cancelled_at), s.cancellation_reason, "
            "CASE WHEN s.status = 'lapsed' THEN unixepoch(s.updated_at) END, "
            "s.consecutive_failures, unixepoch(s.last_renewal_attempt_at), {}, "
            "unixepoch(s.created_at), unixepoch(s.updated_at) FROM k.subscriptions s JOIN (SELECT "
            "x.id AS id, coalesce(unixepoch(x.next_renewal_at), (SELECT unixepoch(l.expires_at) "
            "FROM k.licenses l WHERE l.id = x.license_id)) AS period_end FROM k.subscriptions x) e "
            "ON e.id = s.id LEFT JOIN k.policies p ON p.id = s.policy_id WHERE 1{} ORDER BY "
            "s.rowid",
            provider, profile, kept("subscriptions"))));
    }
    KEYSAT_TRY_ASSIGN(tiers, has_table("tier_changes"));
    if (tiers)
        KEYSAT_TRY(m_db.exec(
            "INSERT INTO tier_changes (id, license_id, from_policy_id, to_policy_id, invoice_id, "
            "created_at, direction, listed_currency, proration_charge_value, effective_at, actor, "
            "reason, status) SELECT s.id, s.license_id, s.from_policy_id, s.to_policy_id, "
            "s.invoice_id, unixepoch(s.created_at), s.direction, s.listed_currency, "
            "s.proration_charge_value, unixepoch(s.effective_at), s.actor, s.reason, 'applied' "
            "FROM k.tier_changes s WHERE 1" +
            kept("tier_changes") + " ORDER BY s.rowid"));

    // Keysat's "*" is every event; ours is the empty list.
    KEYSAT_TRY(m_db.exec(
        "INSERT INTO webhook_endpoints (id, url, secret, events, active, created_at, updated_at, "
        "description) SELECT s.id, s.url, s.secret, CASE WHEN EXISTS (SELECT 1 FROM "
        "json_each(s.event_types) WHERE value = '*') THEN '[]' ELSE s.event_types END, s.active, "
        "unixepoch(s.created_at), unixepoch(s.updated_at), s.description FROM k.webhook_endpoints "
        "s WHERE 1" +
        kept("webhook_endpoints") + " ORDER BY s.rowid"));
    // Keysat stops retrying by clearing next_attempt_at: an undelivered row without one is dead.
    return m_db.exec(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_type, body, attempts, "
        "next_attempt_at, last_status, last_error, delivered_at, dead, created_at) SELECT s.id, "
        "s.endpoint_id, s.event_type, s.payload_json, s.attempt_count, "
        "unixepoch(s.next_attempt_at), s.last_status_code, s.last_error, "
        "unixepoch(s.delivered_at), s.delivered_at IS NULL AND s.next_attempt_at IS NULL, "
        "unixepoch(s.created_at) FROM k.webhook_deliveries s WHERE 1" +
        kept("webhook_deliveries") + " ORDER BY s.rowid");
}

Expected<void> Importer::copy_access() {
    // Scoped keys keep their hashes (SHA-256 of the ks_ token, as ours); the role becomes our
    // scopes for it, plus the key's extra scopes (Keysat's migration 24).
    KEYSAT_TRY_ASSIGN(extra, col("scoped_api_keys", "s", "extra_scopes", "NULL"));
    KEYSAT_TRY_ASSIGN(read,
                      m_db.prepare("SELECT s.id, s.label, lower(s.token_hash), s.role, " + extra +
                                   ", unixepoch(s.created_at), unixepoch(s.last_used_at), "
                                   "unixepoch(s.revoked_at) FROM k.scoped_api_keys s WHERE 1" +
                                   kept("scoped_api_keys") + " ORDER BY s.rowid"));
    KEYSAT_TRY_ASSIGN(write, m_db.prepare("INSERT INTO api_keys (id, name, key_sha256, scopes, "
                                          "created_at, last_used_at, revoked_at) VALUES (?, ?, "
                                          "?, ?, ?, ?, ?)"));
    for (;;) {
        KEYSAT_TRY_ASSIGN(row, read.step());
        if (!row)
            break;
        // check_rows left out keys with an unknown role or extra scope.
        std::string id = read.column_text(0);
        auto scopes = role_scopes(read.column_text(3));
        if (!scopes)
            return usage_error("scoped_api_keys " + id + ": unknown role");
        json more =
            read.column_is_null(4) ? json() : json::parse(read.column_text(4), nullptr, false);
        if (more.is_array())
            for (const auto& scope : more)
                if (scope.is_string() && std::find(scopes->begin(), scopes->end(),
                                                   scope.get<std::string>()) == scopes->end())
                    scopes->push_back(scope.get<std::string>());
        auto opt = [&](int i) {
            return read.column_is_null(i) ? std::optional<std::int64_t>()
                                          : std::optional<std::int64_t>(read.column_int(i));
        };
        write.bind(1, id)
            .bind(2, read.column_text(1))
            .bind(3, read.column_text(2))
            .bind(4, json(*scopes).dump())
            .bind(5, read.column_int(5))
            .bind(6, opt(6))
            .bind(7, opt(7));
        auto written = write.run();
        write.reset();
        if (!written)
            return std::unexpected(written.error());
    }
    read.reset();

    // Who acted, as our audit rows name it: the master key, or the scoped key by its id (found
    // by its hash); the hash itself is not kept (ours are HMACs with the server's secret).
    KEYSAT_TRY_ASSIGN(keys, has_table("scoped_api_keys"));
    std::string key_id = keys ? "(SELECT x.id FROM k.scoped_api_keys x WHERE x.token_hash = "
                                "s.actor_hash)"
                              : "NULL";
    return m_db.exec(fmt::format(
        "INSERT INTO audit_log (id, at, actor_kind, actor_sha256, actor_id, action, target, "
        "request_ip, details) SELECT s.id, unixepoch(s.occurred_at), CASE s.actor_kind WHEN "
        "'scoped_key' THEN 'api_key' ELSE s.actor_kind END, NULL, CASE s.actor_kind WHEN "
        "'master' THEN 'master' WHEN 'scoped_key' THEN {} END, s.action, s.target_id, "
        "s.request_ip, s.details_json FROM k.audit_log s WHERE 1{} ORDER BY s.id",
        key_id, kept("audit_log", "CAST(s.id AS TEXT)")));
}

// Rows per Keysat table: what a rerun compares to know that the source is the one imported.
Expected<json> Importer::source_counts() {
    json counts = json::object();
    for (const auto& t : k_source_tables) {
        KEYSAT_TRY_ASSIGN(present, has_table(t.name));
        if (!present)
            continue;
        KEYSAT_TRY_ASSIGN(n, count(fmt::format("SELECT count(*) FROM k.{}", t.name)));
        counts[t.name] = n;
    }
    return counts;
}

Expected<void> Importer::count_rows(KeysatImportReport& report) {
    for (const char* t : k_target_tables) {
        if (std::string_view(t) == "validation_log")
            continue;
        KEYSAT_TRY_ASSIGN(n, count(fmt::format("SELECT count(*) FROM main.{}", t)));
        report.counts.push_back({t, n});
    }
    return {};
}

Expected<void> Importer::note_not_carried(KeysatImportReport& report) {
    struct Note {
        const char* table;
        const char* where;
        const char* what;
    };
    const Note notes[] = {
        {"validation_log", "1", "validation log rows (the history of checks) are not copied"},
        {"sessions", "1", "web sessions of Keysat's admin UI are not copied (sign in again)"},
        {"rate_buckets", "1", "rate-limit buckets are not copied (they refill)"},
        {"btcpay_authorize_state", "1",
         "unfinished BTCPay connect attempts are not copied (start them again)"},
        {"tip_attempts", "1", "tip attempts are not copied (we do not send tips)"},
        {"policies", "tip_recipient IS NOT NULL", "policies with a tip recipient lose it"},
        {"merchant_profiles", "smtp_host IS NOT NULL",
         "merchant profiles with SMTP settings lose them (we do not send mail)"},
        {"products", "metadata_json NOT IN ('', '{}')",
         "products' metadata_json has no place here and is not copied"},
        {"licenses",
         "fingerprint IS NOT NULL OR bound_identity IS NOT NULL OR nostr_npub IS NOT "
         "NULL",
         "licenses' fingerprint, bound_identity and nostr_npub are not copied (their keys do not "
         "sign them; machines are copied)"},
        {"audit_log", "user_agent IS NOT NULL OR target_kind IS NOT NULL",
         "audit rows keep their target's id, not its kind or the user agent"},
        {"settings", "key <> 'operator_name'",
         "settings other than operator_name (Keysat's web UI password, provider choice) are not "
         "copied"},
    };
    for (const auto& n : notes) {
        KEYSAT_TRY_ASSIGN(present, has_table(n.table));
        if (!present)
            continue;
        if (std::string_view(n.where) != "1") {
            // The columns a note reads exist from some version on.
            bool readable = true;
            for (const char* c : {"tip_recipient", "smtp_host", "metadata_json", "fingerprint",
                                  "user_agent", "key"})
                if (std::string_view(n.where).find(c) != std::string_view::npos) {
                    KEYSAT_TRY_ASSIGN(has, has_column(n.table, c));
                    readable = readable && has;
                }
            if (!readable)
                continue;
        }
        KEYSAT_TRY_ASSIGN(
            rows, count(fmt::format("SELECT count(*) FROM k.{} WHERE {}", n.table, n.where)));
        if (rows > 0)
            report.not_carried.push_back(fmt::format("{} ({} row(s)): {}", n.table, rows, n.what));
    }
    return {};
}

Expected<KeysatImportReport> Importer::run(ImportMode mode,
                                           const std::function<Expected<void>()>& before_commit) {
    KeysatImportReport report;
    report.source_version = m_source.version;
    if (auto attached = m_db.attach_read_only(m_source.path, "k"); !attached)
        return usage_error(fmt::format("{}: cannot read it: {}", m_source.path.string(),
                                       attached.error().message));
    struct Detach {
        db::Database& db;
        ~Detach() {
            (void)db.exec("DROP TABLE IF EXISTS temp.import_skip");
            (void)db.detach("k");
        }
    } detach{m_db};

    KEYSAT_TRY_ASSIGN(counts, source_counts());
    const std::string public_hex = hex_encode(m_key.public_key().bytes);
    KEYSAT_TRY_ASSIGN(marker, m_db.query_texts(fmt::format(
                                  "SELECT value FROM main.settings WHERE key = '{}'", k_marker)));
    if (!marker.empty()) {
        json before = json::parse(marker.front(), nullptr, false);
        if (before.is_object() && before.value("public_key", "") == public_hex &&
            before.value("source_rows", json()) == counts) {
            report.already_imported = true;
            KEYSAT_TRY(count_rows(report));
            return report;
        }
        return usage_error(fmt::format(
            "{}: it holds an import of {} Keysat database ({}), and {} is not that database as "
            "it was then; import into a new database file",
            m_db.path().string(),
            before.is_object() && before.value("public_key", "") == public_hex ? "this" : "another",
            before.is_object() ? before.value("imported_at", std::string("?")) : "?",
            m_source.path.string()));
    }
    std::vector<std::string> held;
    for (const char* t : k_target_tables) {
        KEYSAT_TRY_ASSIGN(n, count(fmt::format("SELECT count(*) FROM main.{}", t)));
        if (n > 0)
            held.push_back(fmt::format("{} {}", n, t));
    }
    if (!held.empty())
        return usage_error(fmt::format("{}: it already holds other data ({}); import into a new "
                                       "database file, nothing was changed",
                                       m_db.path().string(), fmt::join(held, ", ")));

    KEYSAT_TRY(m_db.exec("CREATE TEMP TABLE IF NOT EXISTS import_skip (tbl TEXT NOT NULL, id TEXT "
                         "NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (tbl, id)); DELETE FROM "
                         "temp.import_skip"));
    KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(m_db));
    auto stop_here = [&]() -> Expected<bool> {
        KEYSAT_TRY_ASSIGN(n, count("SELECT count(*) FROM temp.import_skip"));
        return n > 0 && m_on_bad == OnBadRow::stop && mode == ImportMode::apply;
    };
    auto collect = [&]() -> Expected<void> {
        KEYSAT_TRY_ASSIGN(n, count("SELECT count(*) FROM temp.import_skip"));
        report.problem_count = static_cast<std::size_t>(n);
        KEYSAT_TRY_ASSIGN(stmt, m_db.prepare("SELECT tbl, id, reason FROM temp.import_skip ORDER "
                                             "BY rowid LIMIT 1000"));
        for (;;) {
            KEYSAT_TRY_ASSIGN(row, stmt.step());
            if (!row)
                break;
            report.problems.push_back(
                {stmt.column_text(0), stmt.column_text(1), stmt.column_text(2)});
        }
        stmt.reset();
        return {};
    };
    // Three phases; after each, rows that could not be mapped stop an import without
    // --keep-going (the transaction rolls back: nothing was written).
    using Step = Expected<void> (Importer::*)();
    const std::vector<std::vector<Step>> phases = {
        {&Importer::check_rows, &Importer::cascade},
        {&Importer::copy_accounts, &Importer::copy_catalog, &Importer::copy_invoices,
         &Importer::copy_licenses, &Importer::cascade},
        {&Importer::copy_dependents, &Importer::link_invoices, &Importer::copy_access}};
    for (const auto& phase : phases) {
        for (Step step : phase)
            KEYSAT_TRY((this->*step)());
        KEYSAT_TRY_ASSIGN(stop, stop_here());
        if (stop) {
            report.stopped = true;
            KEYSAT_TRY(collect());
            return report;
        }
    }
    KEYSAT_TRY(collect());

    json marker_value = {{"source", m_source.path.string()},
                         {"source_version", m_source.version},
                         {"public_key", public_hex},
                         {"imported_at", format_timestamp(m_now)},
                         {"source_rows", counts},
                         {"rows_left_out", report.problem_count}};
    KEYSAT_TRY_ASSIGN(set, m_db.prepare("INSERT INTO settings (key, value, updated_at) VALUES "
                                        "(?, ?, ?)"));
    set.bind(1, k_marker).bind(2, marker_value.dump()).bind(3, m_now);
    KEYSAT_TRY(set.run());
    set.reset();
    KEYSAT_TRY_ASSIGN(audit, m_db.prepare("INSERT INTO audit_log (at, actor_kind, actor_id, "
                                          "action, target, details) VALUES (?, 'system', "
                                          "'keysat-migrate', 'keysat.imported', NULL, ?)"));
    audit.bind(1, m_now).bind(2, marker_value.dump());
    KEYSAT_TRY(audit.run());
    audit.reset();

    // Every reference resolves, or the import is a bug of ours: refuse it whole.
    KEYSAT_TRY_ASSIGN(dangling, m_db.query_texts("SELECT \"table\" || ' row ' || rowid || ' -> ' "
                                                 "|| parent FROM pragma_foreign_key_check"));
    if (!dangling.empty())
        return usage_error("the import left references unresolved (" + dangling.front() +
                           "); nothing was imported");
    KEYSAT_TRY(count_rows(report));
    KEYSAT_TRY(note_not_carried(report));
    if (mode == ImportMode::apply) {
        if (before_commit)
            KEYSAT_TRY(before_commit());
        KEYSAT_TRY(tx.commit());
    }
    return report; // a dry run rolls back here
}

} // namespace

Expected<KeysatSource> read_keysat_source(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return usage_error(path.string() + ": no such file");
    KEYSAT_TRY_ASSIGN(db, db::Database::open(path, db::OpenMode::read_only));
    auto tables = db.query_texts("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                                 "('_sqlx_migrations', 'licenses', 'server_keys', 'products') "
                                 "ORDER BY name");
    if (!tables)
        return usage_error(path.string() + ": " + tables.error().message);
    if (tables->size() != 4)
        return usage_error(fmt::format("{}: not a Keysat database (it has no _sqlx_migrations, "
                                       "products, licenses and server_keys tables)",
                                       path.string()));
    KeysatSource source;
    source.path = path;
    KEYSAT_TRY_ASSIGN(version, db.query_int("SELECT coalesce(max(version), 0) FROM "
                                            "_sqlx_migrations WHERE success = 1"));
    source.version = static_cast<int>(version);
    KEYSAT_TRY_ASSIGN(failed, db.query_int("SELECT count(*) FROM _sqlx_migrations WHERE success "
                                           "= 0"));
    if (failed > 0)
        return usage_error(fmt::format("{}: a Keysat migration failed in it (success = 0 in "
                                       "_sqlx_migrations); start Keysat once to finish it",
                                       path.string()));
    if (source.version > k_keysat_newest_version || source.version < k_keysat_oldest_version)
        return usage_error(fmt::format(
            "{}: Keysat schema version {}; this keysat-migrate knows versions {} to {} (Keysat "
            "0.2.x){}",
            path.string(), source.version, k_keysat_oldest_version, k_keysat_newest_version,
            source.version > k_keysat_newest_version
                ? ": a newer Keysat may hold data this import would drop, so it refuses"
                : ": start Keysat 0.2 once to bring it up to date"));
    KEYSAT_TRY_ASSIGN(stmt, db.prepare("SELECT algorithm, private_key_pem, public_key_pem FROM "
                                       "server_keys WHERE id = 1"));
    KEYSAT_TRY_ASSIGN(row, stmt.step());
    if (!row)
        return usage_error(path.string() + ": server_keys has no key (Keysat never started?)");
    if (stmt.column_text(0) != "ed25519")
        return usage_error(fmt::format("{}: the server key's algorithm is {}, not ed25519",
                                       path.string(), stmt.column_text(0)));
    source.private_key_pem = stmt.column_text(1);
    source.public_key_pem = stmt.column_text(2);
    stmt.reset();
    return source;
}

Expected<crypto::SecretKey> keysat_signing_key(const KeysatSource& source,
                                               const std::optional<crypto::KeyId>& key_id) {
    auto key = issuing::import_pkcs8_pem(source.private_key_pem);
    if (!key)
        return usage_error(fmt::format("{}: server_keys.private_key_pem: {}", source.path.string(),
                                       key.error().message));
    auto stored = license::parse_public_key(source.public_key_pem);
    if (!stored || stored->bytes != key->public_key().bytes)
        return usage_error(fmt::format("{}: server_keys.public_key_pem is not the public half of "
                                       "its private key",
                                       source.path.string()));
    if (!key_id)
        return key;
    auto secret = key->secret_bytes();
    return crypto::SecretKey::from_secret(std::span<const std::uint8_t, 64>(secret.data(), 64),
                                          *key_id);
}

Expected<KeysatImportReport> import_keysat(db::Database& target, const KeysatSource& source,
                                           const crypto::SecretKey& key, ImportMode mode,
                                           OnBadRow on_bad, std::int64_t now,
                                           const ImportProgress& progress,
                                           const std::function<Expected<void>()>& before_commit) {
    Importer importer(target, source, key, on_bad, now, progress);
    return importer.run(mode, before_commit);
}

} // namespace keysat::service
