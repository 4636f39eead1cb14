#include "keysat/store/access_store.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

constexpr const char* k_key_columns =
    "id, name, key_sha256, scopes, created_at, last_used_at, revoked_at";
constexpr const char* k_audit_columns =
    "id, at, actor_kind, actor_id, actor_hmac, action, target, request_ip, details";

ApiKeyRow read_key(const db::Statement& s) {
    return ApiKeyRow{s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3),
                     s.column_int(4),  opt_int(s, 5),    opt_int(s, 6)};
}

AuditRow read_audit(const db::Statement& s) {
    return AuditRow{s.column_int(0), s.column_int(1), s.column_text(2),
                    opt_text(s, 3),  opt_text(s, 4),  s.column_text(5),
                    opt_text(s, 6),  opt_text(s, 7),  s.column_text(8)};
}

} // namespace

Expected<void> AccessStore::create_api_key(const ApiKeyRow& k) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("INSERT INTO api_keys ({}) VALUES (?, ?, ?, ?, "
                                                   "?, NULL, NULL)",
                                                   k_key_columns)));
    s.bind(1, k.id)
        .bind(2, k.name)
        .bind(3, k.key_sha256)
        .bind(4, k.scopes_json)
        .bind(5, k.created_at);
    return s.run();
}

Expected<std::optional<ApiKeyRow>> AccessStore::find_active_api_key(const std::string& key_sha256) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM api_keys WHERE key_sha256 = ? "
                                                   "AND revoked_at IS NULL",
                                                   k_key_columns)));
    s.bind(1, key_sha256);
    return read_first<ApiKeyRow>(s, read_key);
}

Expected<bool> AccessStore::revoke_api_key(const std::string& id, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND "
                                       "revoked_at IS NULL"));
    s.bind(1, now).bind(2, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> AccessStore::touch_api_key(const std::string& id, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ?"));
    s.bind(1, now).bind(2, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::vector<ApiKeyRow>> AccessStore::list_api_keys() {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format(
                             "SELECT {} FROM api_keys ORDER BY created_at, id", k_key_columns)));
    return read_all<ApiKeyRow>(s, read_key);
}

Expected<void> AccessStore::append_audit(const AuditRow& a) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("INSERT INTO audit_log (at, actor_kind, actor_id, "
                                       "actor_hmac, action, target, request_ip, details) VALUES "
                                       "(?, ?, ?, ?, ?, ?, ?, ?)"));
    s.bind(1, a.at)
        .bind(2, a.actor_kind)
        .bind(3, a.actor_id)
        .bind(4, a.actor_hmac)
        .bind(5, a.action)
        .bind(6, a.target)
        .bind(7, a.request_ip)
        .bind(8, a.details_json);
    return s.run();
}

Expected<std::vector<AuditRow>> AccessStore::list_audit(const AuditFilter& f) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format(
                             "SELECT {} FROM audit_log WHERE (?1 IS NULL OR action = ?1) AND (?2 "
                             "IS NULL OR actor_hmac = ?2) AND (?3 IS NULL OR at >= ?3) AND (?4 "
                             "IS NULL OR at <= ?4) AND (?6 IS NULL OR actor_id = ?6) AND (?7 IS "
                             "NULL OR target = ?7) ORDER BY at DESC, id DESC LIMIT ?5",
                             k_audit_columns)));
    s.bind(1, f.action)
        .bind(2, f.actor_hmac)
        .bind(3, f.since)
        .bind(4, f.until)
        .bind(5, f.limit)
        .bind(6, f.actor_id)
        .bind(7, f.target);
    return read_all<AuditRow>(s, read_audit);
}

Expected<std::vector<ValidationRow>> AccessStore::validations_of(const std::string& license_id,
                                                                 std::int64_t limit) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("SELECT at, license_id, result, fingerprint_sha256, "
                                       "request_ip FROM validation_log WHERE license_id = ? "
                                       "ORDER BY at DESC, id DESC LIMIT ?"));
    s.bind(1, license_id).bind(2, limit);
    return read_all<ValidationRow>(s, [](const db::Statement& st) {
        return ValidationRow{st.column_int(0), opt_text(st, 1), st.column_text(2), opt_text(st, 3),
                             opt_text(st, 4)};
    });
}

Expected<void> AccessStore::append_validations(const std::vector<ValidationRow>& rows) {
    KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(*m_db));
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("INSERT INTO validation_log (at, license_id, result, "
                                       "fingerprint_sha256, request_ip) VALUES (?, ?, ?, ?, ?)"));
    for (const auto& r : rows) {
        s.reset();
        s.bind(1, r.at)
            .bind(2, r.license_id)
            .bind(3, r.result)
            .bind(4, r.fingerprint_sha256)
            .bind(5, r.request_ip);
        KEYSAT_TRY(s.run());
    }
    return tx.commit();
}

Expected<std::optional<std::string>> AccessStore::setting(const std::string& key) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("SELECT value FROM settings WHERE key = ?"));
    s.bind(1, key);
    return read_first<std::string>(s, [](const db::Statement& st) { return st.column_text(0); });
}

Expected<void> AccessStore::set_setting(const std::string& key, const std::string& value,
                                        std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s,
                      m_db->prepare("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, "
                                    "?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                                    "updated_at = excluded.updated_at"));
    s.bind(1, key).bind(2, value).bind(3, now);
    return s.run();
}

Expected<bool> AccessStore::take_token(const std::string& bucket, double rate_per_s, double burst,
                                       std::int64_t now) {
    KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(*m_db));
    KEYSAT_TRY_ASSIGN(sel, m_db->prepare("SELECT tokens, updated_at FROM rate_limit_buckets WHERE "
                                         "bucket = ?"));
    sel.bind(1, bucket);
    KEYSAT_TRY_ASSIGN(found, sel.step());
    double tokens = burst;
    if (found) {
        tokens = sel.column_double(0);
        auto elapsed = std::max<std::int64_t>(0, now - sel.column_int(1));
        tokens = std::min(burst, tokens + static_cast<double>(elapsed) * rate_per_s);
    }
    sel.reset();
    bool allowed = tokens >= 1.0;
    if (allowed)
        tokens -= 1.0;
    KEYSAT_TRY_ASSIGN(up, m_db->prepare("INSERT INTO rate_limit_buckets (bucket, tokens, "
                                        "updated_at) VALUES (?, ?, ?) ON CONFLICT (bucket) DO "
                                        "UPDATE SET tokens = excluded.tokens, updated_at = "
                                        "excluded.updated_at"));
    up.bind(1, bucket).bind(2, tokens).bind(3, now);
    KEYSAT_TRY(up.run());
    KEYSAT_TRY(tx.commit());
    return allowed;
}

} // namespace keysat::store
