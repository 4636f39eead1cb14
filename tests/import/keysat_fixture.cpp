#include "import/keysat_fixture.hpp"

#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/signing.hpp"
#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/db/database.hpp"
#include "keysat/issuing/issue.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/util/encoding.hpp"

#ifndef KEYSAT_SOURCE_DIR
#error "KEYSAT_SOURCE_DIR must name the source tree (for the schema files)"
#endif

namespace keysat::test {

namespace {

using nlohmann::json;
using Value = std::variant<std::nullptr_t, std::int64_t, std::string>;
using Row = std::vector<std::pair<std::string, Value>>;

constexpr std::int64_t k_day = 86400;

// chrono's to_rfc3339 of a UTC time: nanoseconds and +00:00, as Keysat writes its timestamps.
std::string rfc3339(std::int64_t t, int nanos = 123456789) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:09}+00:00", buf, nanos);
}

// SQLite's datetime('now'), as the rows Keysat's migration 20 made.
std::string sqlite_datetime(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string pem(const std::string& label, ByteView der) {
    std::string b64 = base64_encode(der);
    std::string out = "-----BEGIN " + label + "-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64)
        out += b64.substr(i, 64) + "\n";
    return out + "-----END " + label + "-----\n";
}

// Writes rows, leaving out the columns this schema version does not have.
class Writer {
  public:
    explicit Writer(db::Database& db) : m_db(db) {}
    void insert(const std::string& table, const Row& row) {
        auto& present = columns(table);
        std::vector<const std::pair<std::string, Value>*> kept;
        for (const auto& c : row)
            if (present.count(c.first))
                kept.push_back(&c);
        std::string names, marks;
        for (const auto* c : kept) {
            names += (names.empty() ? "" : ", ") + c->first;
            marks += marks.empty() ? "?" : ", ?";
        }
        auto stmt =
            m_db.prepare(fmt::format("INSERT INTO {} ({}) VALUES ({})", table, names, marks));
        if (!stmt)
            throw std::runtime_error(table + ": " + stmt.error().message);
        int i = 1;
        for (const auto* c : kept) {
            if (std::holds_alternative<std::nullptr_t>(c->second))
                stmt->bind(i, std::nullopt);
            else if (const auto* n = std::get_if<std::int64_t>(&c->second))
                stmt->bind(i, *n);
            else
                stmt->bind(i, std::get<std::string>(c->second));
            ++i;
        }
        auto ok = stmt->run();
        stmt->reset();
        if (!ok)
            throw std::runtime_error(table + ": " + ok.error().message);
    }
    bool has_table(const std::string& table) { return !columns(table).empty(); }

  private:
    const std::set<std::string>& columns(const std::string& table) {
        auto it = m_columns.find(table);
        if (it != m_columns.end())
            return it->second;
        auto names = m_db.query_texts("SELECT name FROM pragma_table_info('" + table + "')");
        if (!names)
            throw std::runtime_error(names.error().message);
        return m_columns[table] = std::set<std::string>(names->begin(), names->end());
    }
    db::Database& m_db;
    std::map<std::string, std::set<std::string>> m_columns;
};

std::string uuid() {
    return crypto::uuid_v4().to_string();
}

struct License {
    std::string name, product, policy;
    std::optional<std::string> invoice;
    std::string status = "active";
    std::int64_t issued = 0, expires = 0; // 0: perpetual
    std::int64_t grace_days = 0, max_machines = 1;
    std::vector<std::string> entitlements;
    bool trial = false;
    std::string reason; // what validation answers; empty: valid
    std::string email = "buyer@example.com";
};

} // namespace

KeysatFixture make_keysat_fixture(const std::filesystem::path& path,
                                  const KeysatFixtureOptions& o) {
    if (o.version != 16 && o.version != 25)
        throw std::runtime_error("the fixture has versions 16 and 25");
    std::ifstream schema_file(
        fmt::format("{}/tests/import/keysat_schema_v{}.sql", KEYSAT_SOURCE_DIR, o.version));
    std::stringstream schema;
    schema << schema_file.rdbuf();
    auto opened = db::Database::open(path, db::OpenMode::read_write_create);
    if (!opened)
        throw std::runtime_error(opened.error().message);
    db::Database& db = *opened;
    auto must = [](const Expected<void>& r) {
        if (!r)
            throw std::runtime_error(r.error().message);
    };
    must(db.exec(schema.str()));
    must(db.exec("BEGIN"));
    Writer w(db);
    KeysatFixture f;
    f.path = path;
    const std::int64_t now = o.now;

    for (int v = 1; v <= o.version; ++v)
        w.insert("_sqlx_migrations", {{"version", v},
                                      {"description", fmt::format("migration {}", v)},
                                      {"installed_on", sqlite_datetime(now - 300 * k_day + v)},
                                      {"success", 1},
                                      {"checksum", fmt::format("{:096x}", v)},
                                      {"execution_time", 1000}});

    // The server key, as Keysat keeps it: an unencrypted PKCS#8 PEM and its SPKI PEM.
    auto key = crypto::SecretKey::generate();
    static constexpr std::uint8_t k_pkcs8[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                               0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    Bytes der(std::begin(k_pkcs8), std::end(k_pkcs8));
    auto secret = key.secret_bytes();
    der.insert(der.end(), secret.begin(), secret.begin() + 32);
    w.insert(
        "server_keys",
        {{"id", 1},
         {"algorithm", "ed25519"},
         {"public_key_pem", license::format_public_key(key.public_key(), license::PubkeyForm::pem)},
         {"private_key_pem", pem("PRIVATE KEY", der)},
         {"created_at", rfc3339(now - 300 * k_day)}});
    f.public_key_hex = hex_encode(key.public_key().bytes);
    f.public_key_pem = license::format_public_key(key.public_key(), license::PubkeyForm::pem);

    w.insert("settings", {{"key", "operator_name"},
                          {"value", "Fixture Seller"},
                          {"updated_at", rfc3339(now - 300 * k_day)}});
    w.insert("settings", {{"key", "web_ui_password_hash"},
                          {"value", "$argon2id$v=19$fixture"},
                          {"updated_at", rfc3339(now - 300 * k_day)}});

    // Merchant profiles and providers (version 25), or the singletons of version 16.
    const bool profiles = w.has_table("merchant_profiles");
    std::string profile_a = fmt::format("{:032x}", 0xa11ce), profile_b = uuid();
    std::string btcpay_a, zaprite_a, btcpay_b;
    if (profiles) {
        // The default profile as Keysat's migration 20 made it: 32 hex digits, datetime('now').
        w.insert("merchant_profiles", {{"id", profile_a},
                                       {"name", "Fixture Seller"},
                                       {"support_email", "help@seller.example"},
                                       {"is_default", 1},
                                       {"smtp_host", "smtp.seller.example"},
                                       {"smtp_password", "smtp-secret"},
                                       {"created_at", sqlite_datetime(now - 200 * k_day)},
                                       {"updated_at", sqlite_datetime(now - 200 * k_day)}});
        w.insert("merchant_profiles", {{"id", profile_b},
                                       {"name", "Second Brand"},
                                       {"legal_name", "Second Brand Ltd"},
                                       {"support_url", "https://second.example/help"},
                                       {"brand_color", "#1E3A5F"},
                                       {"post_purchase_redirect_url", "https://second.example/ok"},
                                       {"is_default", 0},
                                       {"created_at", rfc3339(now - 150 * k_day)},
                                       {"updated_at", rfc3339(now - 150 * k_day)}});
        btcpay_a = fmt::format("{:032x}", 0xb7c9a1);
        zaprite_a = fmt::format("{:032x}", 0x2a9e17);
        btcpay_b = uuid();
        auto provider = [&](const std::string& id, const std::string& profile,
                            const std::string& kind, const std::string& label,
                            std::optional<std::string> secret_text, std::int64_t at) {
            w.insert("payment_providers",
                     {{"id", id},
                      {"merchant_profile_id", profile},
                      {"kind", kind},
                      {"label", label},
                      {"api_key", kind == "btcpay" ? o.btcpay_api_key : o.zaprite_api_key},
                      {"base_url", kind == "btcpay" ? o.btcpay_url : o.zaprite_url},
                      {"webhook_id", "wh-" + id.substr(0, 6)},
                      {"webhook_secret", secret_text ? Value(*secret_text) : Value(nullptr)},
                      {"store_id", kind == "btcpay" ? Value(o.btcpay_store_id) : Value(nullptr)},
                      {"connected_at", sqlite_datetime(at)},
                      {"updated_at", sqlite_datetime(at)}});
        };
        provider(btcpay_a, profile_a, "btcpay", "BTCPay (migrated)", o.btcpay_webhook_secret,
                 now - 200 * k_day);
        provider(zaprite_a, profile_a, "zaprite", "Zaprite (migrated)", std::nullopt,
                 now - 190 * k_day);
        provider(btcpay_b, profile_b, "btcpay", "Second BTCPay", "whsec-second", now - 150 * k_day);
        w.insert("merchant_profile_rail_preferences", {{"merchant_profile_id", profile_a},
                                                       {"rail", "lightning"},
                                                       {"payment_provider_id", btcpay_a}});
        w.insert("merchant_profile_rail_preferences", {{"merchant_profile_id", profile_a},
                                                       {"rail", "card"},
                                                       {"payment_provider_id", zaprite_a}});
        f.btcpay_provider_id = btcpay_a;
        f.zaprite_provider_id = zaprite_a;
    } else {
        w.insert("btcpay_config", {{"id", 1},
                                   {"base_url", o.btcpay_url},
                                   {"api_key", o.btcpay_api_key},
                                   {"store_id", o.btcpay_store_id},
                                   {"webhook_id", "wh-legacy"},
                                   {"webhook_secret", o.btcpay_webhook_secret},
                                   {"connected_at", rfc3339(now - 200 * k_day)}});
        w.insert("zaprite_config", {{"id", 1},
                                    {"api_key", o.zaprite_api_key},
                                    {"base_url", o.zaprite_url},
                                    {"connected_at", rfc3339(now - 190 * k_day)},
                                    {"updated_at", rfc3339(now - 190 * k_day)}});
        w.insert("settings", {{"key", "active_payment_provider"},
                              {"value", "btcpay"},
                              {"updated_at", rfc3339(now - 200 * k_day)}});
        f.btcpay_provider_id = "btcpay";
        f.zaprite_provider_id = "zaprite";
        btcpay_a = btcpay_b = zaprite_a = "";
    }
    auto opt = [](const std::string& s) { return s.empty() ? Value(nullptr) : Value(s); };

    // Products: one in sats with an entitlements catalog, one in dollars.
    std::string app = uuid(), usd_app = uuid();
    f.ids["product"] = app;
    f.ids["usd_product"] = usd_app;
    w.insert("products", {{"id", app},
                          {"slug", "fixture-app"},
                          {"name", "Fixture App"},
                          {"description", "The app"},
                          {"price_sats", 50000},
                          {"active", 1},
                          {"metadata_json", R"({"homepage":"https://seller.example"})"},
                          {"created_at", rfc3339(now - 250 * k_day)},
                          {"updated_at", rfc3339(now - 250 * k_day)},
                          {"price_currency", "SAT"},
                          {"price_value", 50000},
                          {"entitlements_catalog_json",
                           R"([{"slug":"pro","label":"Pro"},{"slug":"export","label":"Export"},)"
                           R"({"slug":"beta","label":"Beta"}])"},
                          {"merchant_profile_id", opt(profiles ? profile_a : "")}});
    w.insert("products", {{"id", usd_app},
                          {"slug", "usd-app"},
                          {"name", "Dollar App"},
                          {"price_sats", 0},
                          {"active", 1},
                          {"created_at", rfc3339(now - 240 * k_day)},
                          {"updated_at", rfc3339(now - 240 * k_day)},
                          {"price_currency", "USD"},
                          {"price_value", 2500},
                          {"merchant_profile_id", opt(profiles ? profile_b : "")}});

    struct Policy {
        std::string name;
        Row extra;
    };
    auto policy = [&](const std::string& name, const std::string& product, Row extra) {
        std::string id = uuid();
        f.ids["policy:" + name] = id;
        Row row = {{"id", id},
                   {"product_id", product},
                   {"name", name},
                   {"slug", name},
                   {"created_at", rfc3339(now - 240 * k_day)},
                   {"updated_at", rfc3339(now - 240 * k_day)}};
        row.insert(row.end(), extra.begin(), extra.end());
        w.insert("policies", row);
        return id;
    };
    std::string lifetime =
        policy("lifetime", app,
               {{"duration_seconds", 0},
                {"max_machines", 3},
                {"price_sats_override", 90000},
                {"entitlements_json", R"(["pro"])"},
                {"metadata_json", R"({"marketing_bullets":["Forever yours","Three machines"],)"
                                  R"("hidden_entitlements":["beta"],"description":"Pay once",)"
                                  R"("highlight":true,"marketing_bullets_position":"below"})"},
                {"tier_rank", 3},
                {"tip_recipient", "tips@seller.example"},
                {"tip_pct_bps", 500}});
    std::string annual = policy("annual", app,
                                {{"duration_seconds", 365 * k_day},
                                 {"grace_seconds", 7 * k_day},
                                 {"max_machines", 1},
                                 {"entitlements_json", R"(["pro","export"])"}});
    std::string trial = policy("trial", app,
                               {{"duration_seconds", 14 * k_day},
                                {"is_trial", 1},
                                {"trial_days", 14},
                                {"price_sats_override", 0},
                                {"public", 0}});
    std::string basic = policy("basic-monthly", app,
                               {{"duration_seconds", 30 * k_day},
                                {"grace_seconds", 7 * k_day},
                                {"is_recurring", 1},
                                {"renewal_period_days", 30},
                                {"grace_period_days", 7},
                                {"tier_rank", 1},
                                {"price_sats_override", 10000}});
    std::string pro = policy("pro-monthly", app,
                             {{"duration_seconds", 30 * k_day},
                              {"grace_seconds", 7 * k_day},
                              {"is_recurring", 1},
                              {"renewal_period_days", 30},
                              {"grace_period_days", 7},
                              {"tier_rank", 2},
                              {"price_sats_override", 20000},
                              {"entitlements_json", R"(["pro"])"}});
    policy("old", app, {{"active", 0}, {"archived_at", rfc3339(now - 100 * k_day)}});
    std::string usd_lifetime = policy("usd-lifetime", usd_app, {{"max_machines", 2}});

    // Discount codes of the four kinds.
    auto code = [&](const std::string& text, const std::string& kind, std::int64_t amount,
                    Row extra) {
        std::string id = uuid();
        f.ids["code:" + text] = id;
        Row row = {{"id", id},
                   {"code", text},
                   {"kind", kind},
                   {"amount", amount},
                   {"created_at", rfc3339(now - 120 * k_day)},
                   {"updated_at", rfc3339(now - 120 * k_day)}};
        row.insert(row.end(), extra.begin(), extra.end());
        w.insert("discount_codes", row);
        return id;
    };
    std::string percent = code("LAUNCH20", "percent", 2000,
                               {{"max_uses", 100},
                                {"used_count", 1},
                                {"applies_to_product_id", app},
                                {"featured", 1},
                                {"referrer_label", "newsletter"}});
    std::string fixed =
        code("TENOFF", "fixed_sats", 10000, {{"expires_at", rfc3339(now + 30 * k_day)}});
    code("FIVEBUCKS", "set_price", 500,
         {{"discount_currency", "USD"},
          {"applies_to_policy_id", usd_lifetime},
          {"applies_to_policy_ids_json", json::array({usd_lifetime}).dump()}});
    std::string free_code = code("FRIEND", "free_license", 0, {{"max_uses", 5}, {"used_count", 1}});

    // Invoices.
    auto invoice = [&](const std::string& name, const std::string& product,
                       const std::string& policy_id, const std::string& status, std::int64_t sats,
                       std::optional<std::pair<std::string, std::int64_t>> listed,
                       std::string provider, std::string remote, std::int64_t at) {
        std::string id = uuid();
        f.ids["invoice:" + name] = id;
        w.insert("invoices", {{"id", id},
                              {"btcpay_invoice_id", remote.empty() ? "remote-" + id : remote},
                              {"product_id", product},
                              {"status", status},
                              {"buyer_email", "buyer@example.com"},
                              {"amount_sats", sats},
                              {"checkout_url", "https://pay.example/i/" + id},
                              {"created_at", rfc3339(at)},
                              {"updated_at", rfc3339(at + 600)},
                              {"policy_id", policy_id},
                              {"listed_currency", listed ? Value(listed->first) : Value(nullptr)},
                              {"listed_value", listed ? Value(listed->second) : Value(nullptr)},
                              {"payment_provider_id", opt(provider)}});
        return id;
    };
    std::string inv_lifetime = invoice("lifetime", app, lifetime, "settled", 72000,
                                       std::pair{"SAT", 72000}, btcpay_a, "", now - 90 * k_day);
    std::string inv_usd = invoice("usd", usd_app, usd_lifetime, "settled", 38000,
                                  std::pair{"USD", 2500}, btcpay_b, "", now - 80 * k_day);
    std::string inv_free = invoice("free", app, lifetime, "settled", 0, std::pair{"SAT", 0}, "",
                                   "free-" + uuid(), now - 70 * k_day);
    std::string inv_pending =
        invoice("pending", app, annual, "pending", 50000, std::pair{"SAT", 50000}, btcpay_a,
                o.pending_btcpay_invoice_id, now - 3600);
    std::string inv_expired = invoice("expired", app, annual, "expired", 40000,
                                      std::pair{"SAT", 40000}, btcpay_a, "", now - 60 * k_day);
    invoice("invalid", app, annual, "invalid", 50000, std::nullopt, btcpay_a, "", now - 50 * k_day);
    invoice("usd_pending", usd_app, usd_lifetime, "pending", 38000, std::pair{"USD", 2500},
            zaprite_a, o.pending_zaprite_order_id, now - 7200);
    std::string inv_sub = invoice("subscription", app, pro, "settled", 20000,
                                  std::pair{"SAT", 20000}, btcpay_a, "", now - 40 * k_day);
    std::string inv_renewal = invoice("renewal", app, pro, "settled", 20000,
                                      std::pair{"SAT", 20000}, btcpay_a, "", now - 10 * k_day);
    std::string inv_upgrade = invoice("upgrade", app, pro, "settled", 6000, std::pair{"SAT", 6000},
                                      btcpay_a, "", now - 5 * k_day);

    auto redemption = [&](const std::string& code_id, const std::string& invoice_id,
                          std::optional<std::string> license, const std::string& status,
                          std::int64_t discount, std::int64_t base) {
        w.insert("discount_redemptions",
                 {{"id", uuid()},
                  {"code_id", code_id},
                  {"invoice_id", invoice_id},
                  {"license_id", license ? Value(*license) : Value(nullptr)},
                  {"status", status},
                  {"discount_applied_sats", discount},
                  {"base_price_sats", base},
                  {"final_price_sats", base - discount},
                  {"created_at", rfc3339(now - 90 * k_day)},
                  {"updated_at", rfc3339(now - 90 * k_day)}});
    };

    // Licenses, each signed by our issuing code with the server key.
    auto add = [&](std::string name, std::string product, std::string policy_id,
                   std::optional<std::string> invoice_id, std::string status, std::int64_t issued,
                   std::int64_t expires, std::int64_t grace_days, std::int64_t max_machines,
                   std::vector<std::string> entitlements, bool is_trial = false,
                   std::string reason = "") {
        License l;
        l.name = std::move(name);
        l.product = std::move(product);
        l.policy = std::move(policy_id);
        l.invoice = std::move(invoice_id);
        l.status = std::move(status);
        l.issued = issued;
        l.expires = expires;
        l.grace_days = grace_days;
        l.max_machines = max_machines;
        l.entitlements = std::move(entitlements);
        l.trial = is_trial;
        l.reason = std::move(reason);
        std::string id = uuid();
        issuing::LicenseRequest req;
        req.license_id = *Uuid::parse(id);
        req.product_id = *Uuid::parse(l.product);
        req.issued_at = l.issued;
        req.expires_at = l.expires;
        req.trial = l.trial;
        req.entitlements = l.entitlements;
        auto text = issuing::issue_license(key, req);
        if (!text)
            throw std::runtime_error(text.error().message);
        f.licenses[id] = {*text, l.reason};
        f.ids["license:" + l.name] = id;
        w.insert(
            "licenses",
            {{"id", id},
             {"product_id", l.product},
             {"invoice_id", l.invoice ? Value(*l.invoice) : Value(nullptr)},
             {"status", l.status},
             {"issued_at", rfc3339(l.issued, 987654321)},
             {"revoked_at", l.status == "revoked" ? Value(rfc3339(now - k_day)) : Value(nullptr)},
             {"revocation_reason", l.status == "revoked" ? Value("chargeback") : Value(nullptr)},
             {"metadata_json", "{}"},
             {"policy_id", l.policy},
             {"expires_at", l.expires ? Value(rfc3339(l.expires, 0)) : Value(nullptr)},
             {"grace_seconds", l.grace_days * k_day},
             {"max_machines", l.max_machines},
             {"suspended_at",
              l.status == "suspended" ? Value(rfc3339(now - k_day)) : Value(nullptr)},
             {"suspension_reason",
              l.status == "suspended" ? Value("unpaid support") : Value(nullptr)},
             {"entitlements_json", json(l.entitlements).dump()},
             {"is_trial", l.trial ? 1 : 0},
             {"buyer_email", l.email}});
        return id;
    };
    std::string perpetual =
        add("perpetual", app, lifetime, inv_lifetime, "active", now - 90 * k_day, 0, 0, 3, {"pro"});
    add("annual", app, annual, std::nullopt, "active", now - 100 * k_day, now + 265 * k_day, 7, 1,
        {"pro", "export"});
    add("expired", app, annual, std::nullopt, "active", now - 400 * k_day, now - 35 * k_day, 7, 1,
        {"pro", "export"}, false, "expired");
    add("in-grace", app, annual, std::nullopt, "active", now - 367 * k_day, now - 2 * k_day, 7, 1,
        {"pro", "export"});
    add("suspended", app, lifetime, std::nullopt, "suspended", now - 60 * k_day, 0, 0, 3, {"pro"},
        false, "suspended");
    add("revoked", app, lifetime, std::nullopt, "revoked", now - 60 * k_day, 0, 0, 3, {"pro"},
        false, "revoked");
    add("trial", app, trial, std::nullopt, "active", now - 3 * k_day, now + 11 * k_day, 0, 1, {},
        true);
    std::string usd =
        add("usd", usd_app, usd_lifetime, inv_usd, "active", now - 80 * k_day, 0, 0, 2, {});
    std::string free_license =
        add("free", app, lifetime, inv_free, "active", now - 70 * k_day, 0, 0, 3, {"pro"});
    std::string sub_active = add("sub-active", app, pro, inv_sub, "active", now - 40 * k_day,
                                 now + 20 * k_day, 7, 1, {"pro"});
    std::string sub_past_due = add("sub-past-due", app, basic, std::nullopt, "active",
                                   now - 63 * k_day, now - 3 * k_day, 7, 1, {});
    std::string sub_cancelled = add("sub-cancelled", app, basic, std::nullopt, "active",
                                    now - 50 * k_day, now + 10 * k_day, 7, 1, {});
    std::string sub_lapsed = add("sub-lapsed", app, basic, std::nullopt, "active",
                                 now - 100 * k_day, now - 40 * k_day, 7, 1, {}, false, "expired");

    redemption(percent, inv_lifetime, perpetual, "redeemed", 18000, 90000);
    redemption(free_code, inv_free, free_license, "redeemed", 90000, 90000);
    redemption(fixed, inv_expired, std::nullopt, "cancelled", 10000, 50000);
    redemption(fixed, inv_pending, std::nullopt, "pending", 10000, 60000);
    (void)usd;

    // Machines of the perpetual license: two active, one deactivated.
    for (int i = 0; i < 3; ++i) {
        std::string fp = fmt::format("fixture-machine-{}", i);
        w.insert("machines",
                 {{"id", uuid()},
                  {"license_id", perpetual},
                  {"fingerprint", fp},
                  {"fingerprint_hash", hex_encode(crypto::sha256(as_bytes(fp)))},
                  {"hostname", fmt::format("host-{}", i)},
                  {"platform", "linux"},
                  {"activated_at", rfc3339(now - 80 * k_day)},
                  {"last_heartbeat_at", rfc3339(now - k_day)},
                  {"deactivated_at", i == 2 ? Value(rfc3339(now - 10 * k_day)) : Value(nullptr)},
                  {"deactivation_reason", i == 2 ? Value("replaced") : Value(nullptr)}});
    }

    // A subscription in each state; the active one has paid a renewal and upgraded.
    auto subscription = [&](const std::string& name, const std::string& license,
                            const std::string& policy_id, const std::string& status,
                            std::int64_t started, std::int64_t next, Row extra) {
        std::string id = uuid();
        f.ids["subscription:" + name] = id;
        Row row = {{"id", id},
                   {"license_id", license},
                   {"policy_id", policy_id},
                   {"product_id", app},
                   {"period_days", 30},
                   {"listed_currency", "SAT"},
                   {"listed_value", policy_id == pro ? 20000 : 10000},
                   {"status", status},
                   {"started_at", rfc3339(started)},
                   {"next_renewal_at", rfc3339(next, 0)},
                   {"created_at", rfc3339(started)},
                   {"updated_at", rfc3339(now - k_day)},
                   {"merchant_profile_id", opt(profiles ? profile_a : "")},
                   {"payment_provider_id", opt(btcpay_a)}};
        row.insert(row.end(), extra.begin(), extra.end());
        w.insert("subscriptions", row);
        return id;
    };
    std::string s_active =
        subscription("active", sub_active, pro, "active", now - 40 * k_day, now + 20 * k_day,
                     {{"zaprite_contact_id", "contact-1"}, {"zaprite_payment_profile_id", "pp-1"}});
    subscription("past_due", sub_past_due, basic, "past_due", now - 63 * k_day, now - 3 * k_day,
                 {{"consecutive_failures", 2}, {"last_renewal_attempt_at", rfc3339(now - k_day)}});
    subscription(
        "cancelled", sub_cancelled, basic, "cancelled", now - 50 * k_day, now + 10 * k_day,
        {{"cancelled_at", rfc3339(now - 5 * k_day)}, {"cancellation_reason", "too expensive"}});
    subscription("lapsed", sub_lapsed, basic, "lapsed", now - 100 * k_day, now - 40 * k_day, {});
    auto cycle = [&](const std::string& sub, const std::string& inv, int n, std::int64_t start) {
        w.insert("subscription_invoices", {{"id", uuid()},
                                           {"subscription_id", sub},
                                           {"invoice_id", inv},
                                           {"cycle_number", n},
                                           {"cycle_start_at", rfc3339(start, 0)},
                                           {"cycle_end_at", rfc3339(start + 30 * k_day, 0)},
                                           {"created_at", rfc3339(start)}});
    };
    cycle(s_active, inv_sub, 1, now - 40 * k_day);
    cycle(s_active, inv_renewal, 2, now - 10 * k_day);
    w.insert("tier_changes", {{"id", uuid()},
                              {"license_id", sub_active},
                              {"from_policy_id", basic},
                              {"to_policy_id", pro},
                              {"direction", "upgrade"},
                              {"listed_currency", "SAT"},
                              {"proration_charge_value", 6000},
                              {"invoice_id", inv_upgrade},
                              {"effective_at", rfc3339(now - 5 * k_day)},
                              {"actor", "buyer"},
                              {"created_at", rfc3339(now - 5 * k_day)}});

    // Outbound webhooks: an endpoint for every event with a delivered, a retrying and a dead
    // delivery, and one for two events.
    std::string endpoint = uuid();
    f.ids["endpoint"] = endpoint;
    f.endpoint_secret = "whsec_" + hex_encode(crypto::sha256(as_bytes(endpoint)));
    w.insert("webhook_endpoints", {{"id", endpoint},
                                   {"url", o.webhook_url},
                                   {"secret", f.endpoint_secret},
                                   {"event_types", R"(["*"])"},
                                   {"active", 1},
                                   {"description", "integrator"},
                                   {"created_at", rfc3339(now - 100 * k_day)},
                                   {"updated_at", rfc3339(now - 100 * k_day)}});
    w.insert("webhook_endpoints", {{"id", uuid()},
                                   {"url", "https://hooks.example/keysat"},
                                   {"secret", "whsec_second"},
                                   {"event_types", R"(["license.issued","license.revoked"])"},
                                   {"active", 0},
                                   {"created_at", rfc3339(now - 100 * k_day)},
                                   {"updated_at", rfc3339(now - 100 * k_day)}});
    auto delivery = [&](const std::string& name, Row extra) {
        std::string id = uuid();
        f.ids["delivery:" + name] = id;
        Row row = {
            {"id", id},
            {"endpoint_id", endpoint},
            {"event_type", "license.issued"},
            {"payload_json",
             json{{"event", "license.issued"}, {"data", {{"license_id", perpetual}}}}.dump()},
            {"created_at", rfc3339(now - 20 * k_day)}};
        row.insert(row.end(), extra.begin(), extra.end());
        w.insert("webhook_deliveries", row);
    };
    delivery("delivered", {{"attempt_count", 1},
                           {"last_status_code", 200},
                           {"delivered_at", rfc3339(now - 20 * k_day)}});
    delivery("dead", {{"attempt_count", 8}, {"last_status_code", 500}, {"last_error", "HTTP 500"}});
    delivery(
        "retrying",
        {{"attempt_count", 2}, {"last_status_code", 502}, {"next_attempt_at", rfc3339(now - 60)}});

    // Scoped keys of every role this version has, one of them revoked.
    std::vector<std::string> roles = {"read-only", "license-issuer", "support", "full-admin"};
    if (o.version >= 23)
        roles.push_back("merchant-onboard");
    for (const auto& role : roles) {
        std::string token =
            "ks_" + base64url_encode(crypto::sha256(as_bytes(role + f.path.string())));
        f.tokens[role] = token;
        Row row = {{"id", uuid()},
                   {"label", role + " key"},
                   {"token_hash", hex_encode(crypto::sha256(as_bytes(token)))},
                   {"role", role},
                   {"created_at", rfc3339(now - 30 * k_day)},
                   {"last_used_at", rfc3339(now - k_day)}};
        if (role == "support")
            row.push_back({"extra_scopes", R"(["payment_providers:write"])"});
        w.insert("scoped_api_keys", row);
    }
    std::string revoked_token = "ks_" + base64url_encode(crypto::sha256(as_bytes("revoked")));
    f.tokens["revoked"] = revoked_token;
    w.insert("scoped_api_keys",
             {{"id", uuid()},
              {"label", "old key"},
              {"token_hash", hex_encode(crypto::sha256(as_bytes(revoked_token)))},
              {"role", "full-admin"},
              {"created_at", rfc3339(now - 60 * k_day)},
              {"revoked_at", rfc3339(now - 30 * k_day)}});

    // History that stays behind or carries over.
    for (int i = 0; i < 3; ++i)
        w.insert("audit_log", {{"actor_kind", i == 0 ? "master" : "scoped_key"},
                               {"actor_hash",
                                hex_encode(crypto::sha256(as_bytes(
                                    i == 0 ? std::string("master-key") : f.tokens["full-admin"])))},
                               {"action", i == 0 ? "license.issue" : "license.revoke"},
                               {"target_kind", "license"},
                               {"target_id", perpetual},
                               {"request_ip", "192.0.2.7"},
                               {"user_agent", "curl/8"},
                               {"details_json", R"({"n":)" + std::to_string(i) + "}"},
                               {"occurred_at", rfc3339(now - (30 - i) * k_day)}});
    w.insert("validation_log",
             {{"license_id", perpetual}, {"result", "ok"}, {"occurred_at", rfc3339(now - k_day)}});
    w.insert("sessions", {{"token", "session-token"},
                          {"created_at", rfc3339(now - k_day)},
                          {"expires_at", rfc3339(now + k_day)},
                          {"last_seen_at", rfc3339(now - 60)}});

    // The benchmark's bulk: perpetual licenses with two machines each, keys not recorded.
    if (o.extra_licenses > 0) {
        auto lic = db.prepare("INSERT INTO licenses (id, product_id, status, issued_at, "
                              "metadata_json, policy_id, grace_seconds, max_machines, "
                              "entitlements_json, is_trial, buyer_email) VALUES (?, ?, 'active', "
                              "?, '{}', ?, 0, 3, '[\"pro\"]', 0, ?)");
        auto mach = db.prepare("INSERT INTO machines (id, license_id, fingerprint, "
                               "fingerprint_hash, activated_at) VALUES (?, ?, ?, ?, ?)");
        if (!lic || !mach)
            throw std::runtime_error("bulk statements");
        std::string issued = rfc3339(now - 10 * k_day);
        for (std::int64_t i = 0; i < o.extra_licenses; ++i) {
            std::string id = uuid();
            lic->bind(1, id)
                .bind(2, app)
                .bind(3, issued)
                .bind(4, lifetime)
                .bind(5, fmt::format("bulk{}@example.com", i));
            must(lic->run());
            lic->reset();
            for (int m = 0; m < 2; ++m) {
                std::string fp = fmt::format("{}-{}", id, m);
                mach->bind(1, uuid())
                    .bind(2, id)
                    .bind(3, fp)
                    .bind(4, hex_encode(crypto::sha256(as_bytes(fp))))
                    .bind(5, issued);
                must(mach->run());
                mach->reset();
            }
        }
    }
    must(db.exec("COMMIT"));
    return f;
}

} // namespace keysat::test
