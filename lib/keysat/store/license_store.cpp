#include "keysat/store/license_store.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

constexpr std::string_view k_columns =
    "id, product_id, policy_id, invoice_id, status, buyer_email, issued_at, expires_at, "
    "grace_days, max_machines, entitlements, is_trial, fingerprint_sha256, license_key, "
    "signing_key_id, id_key, source";
// What reads take: the written columns, then what the status routes set.
constexpr std::string_view k_read_columns =
    "id, product_id, policy_id, invoice_id, status, buyer_email, issued_at, expires_at, "
    "grace_days, max_machines, entitlements, is_trial, fingerprint_sha256, license_key, "
    "signing_key_id, id_key, source, suspension_reason, revocation_reason";

} // namespace

Expected<LicenseStore> LicenseStore::open(db::Database& db) {
    KEYSAT_TRY_ASSIGN(insert,
                      db.prepare(fmt::format("INSERT INTO licenses ({}, created_at, updated_at) "
                                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                             "?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                             k_columns)));
    KEYSAT_TRY_ASSIGN(
        by_id, db.prepare(fmt::format("SELECT {} FROM licenses WHERE id = ?", k_read_columns)));
    KEYSAT_TRY_ASSIGN(by_id_key, db.prepare(fmt::format("SELECT {} FROM licenses WHERE id_key = ?",
                                                        k_read_columns)));
    return LicenseStore(db, std::move(insert), std::move(by_id), std::move(by_id_key));
}

Expected<InsertOutcome> LicenseStore::insert(const LicenseRow& r, std::int64_t now) {
    m_insert.reset();
    m_insert.bind(1, r.id)
        .bind(2, r.product_id)
        .bind(3, r.policy_id)
        .bind(4, r.invoice_id)
        .bind(5, r.status)
        .bind(6, r.buyer_email)
        .bind(7, r.issued_at)
        .bind(8, r.expires_at)
        .bind(9, r.grace_days)
        .bind(10, r.max_machines)
        .bind(11, r.entitlements_json)
        .bind(12, std::int64_t{r.is_trial})
        .bind(13, r.fingerprint_sha256)
        .bind(14, r.license_key)
        .bind(15, r.signing_key_id)
        .bind(16, r.id_key)
        .bind(17, r.source)
        .bind(18, now)
        .bind(19, now);
    auto ran = m_insert.run();
    m_insert.reset();
    KEYSAT_TRY(ran);
    if (m_db->changes() == 1)
        return InsertOutcome::inserted;
    if (r.id_key) {
        KEYSAT_TRY_ASSIGN(by_key, find_by_id_key(*r.id_key));
        if (by_key)
            return by_key->license_key == r.license_key ? InsertOutcome::unchanged
                                                        : InsertOutcome::already_issued;
    }
    KEYSAT_TRY_ASSIGN(existing, find(r.id));
    if (existing && existing->license_key == r.license_key)
        return InsertOutcome::unchanged;
    return InsertOutcome::conflict;
}

Expected<std::optional<LicenseRow>> LicenseStore::read_one(db::Statement& s, bool reset_after) {
    auto row = s.step();
    if (!row) {
        s.reset();
        return std::unexpected(row.error());
    }
    if (!*row) {
        s.reset();
        return std::optional<LicenseRow>();
    }
    LicenseRow r;
    r.id = s.column_text(0);
    r.product_id = s.column_text(1);
    r.policy_id = opt_text(s, 2);
    r.invoice_id = opt_text(s, 3);
    r.status = s.column_text(4);
    r.buyer_email = opt_text(s, 5);
    r.issued_at = s.column_int(6);
    if (!s.column_is_null(7))
        r.expires_at = s.column_int(7);
    r.grace_days = s.column_int(8);
    r.max_machines = s.column_int(9);
    r.entitlements_json = s.column_text(10);
    r.is_trial = s.column_int(11) != 0;
    r.fingerprint_sha256 = opt_text(s, 12);
    r.license_key = s.column_text(13);
    r.signing_key_id = s.column_text(14);
    r.id_key = opt_text(s, 15);
    r.source = s.column_text(16);
    r.suspension_reason = opt_text(s, 17);
    r.revocation_reason = opt_text(s, 18);
    if (reset_after)
        s.reset();
    return std::optional<LicenseRow>(std::move(r));
}

Expected<std::optional<LicenseRow>> LicenseStore::find(const std::string& id) {
    m_by_id.bind(1, id);
    return read_one(m_by_id);
}

Expected<std::optional<LicenseRow>> LicenseStore::find_by_id_key(const std::string& id_key) {
    m_by_id_key.bind(1, id_key);
    return read_one(m_by_id_key);
}

Expected<std::int64_t> LicenseStore::count() {
    return m_db->query_int("SELECT count(*) FROM licenses");
}

Expected<bool> LicenseStore::suspend(const std::string& id, const std::string& reason,
                                     std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE licenses SET status = 'suspended', "
                                       "suspension_reason = ?, updated_at = ? WHERE id = ? AND "
                                       "status = 'active'"));
    s.bind(1, reason).bind(2, now).bind(3, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> LicenseStore::unsuspend(const std::string& id, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE licenses SET status = 'active', suspension_reason "
                                       "= NULL, updated_at = ? WHERE id = ? AND status = "
                                       "'suspended'"));
    s.bind(1, now).bind(2, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> LicenseStore::revoke(const std::string& id, const std::string& reason,
                                    std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE licenses SET status = 'revoked', revocation_reason "
                                       "= ?, updated_at = ? WHERE id = ? AND status != "
                                       "'revoked'"));
    s.bind(1, reason).bind(2, now).bind(3, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> LicenseStore::reissue(const LicenseRow& row, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE licenses SET policy_id = ?, expires_at = ?, "
                                       "grace_days = ?, max_machines = ?, entitlements = ?, "
                                       "is_trial = ?, license_key = ?, signing_key_id = ?, "
                                       "updated_at = ? WHERE id = ? AND status != 'revoked'"));
    s.bind(1, row.policy_id).bind(2, row.expires_at).bind(3, row.grace_days);
    s.bind(4, row.max_machines).bind(5, row.entitlements_json);
    s.bind(6, std::int64_t{row.is_trial}).bind(7, row.license_key).bind(8, row.signing_key_id);
    s.bind(9, now).bind(10, row.id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::vector<LicenseRow>> LicenseStore::read_many(db::Statement& stmt) {
    std::vector<LicenseRow> out;
    for (;;) {
        KEYSAT_TRY_ASSIGN(row, read_one(stmt, false));
        if (!row)
            return out;
        out.push_back(std::move(*row));
    }
}

Expected<std::vector<LicenseRow>> LicenseStore::search(const std::optional<std::string>& email,
                                                       const std::optional<std::string>& invoice_id,
                                                       std::int64_t limit) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format(
                             "SELECT {} FROM licenses WHERE (?1 IS NULL OR buyer_email = ?1 "
                             "COLLATE NOCASE) AND (?2 IS NULL OR invoice_id = ?2) ORDER BY "
                             "issued_at DESC, id LIMIT ?3",
                             k_read_columns)));
    s.bind(1, email).bind(2, invoice_id).bind(3, limit);
    return read_many(s);
}

Expected<std::vector<LicenseRow>> LicenseStore::list(const std::optional<std::string>& product_id,
                                                     const std::optional<std::string>& status,
                                                     std::int64_t limit) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format(
                             "SELECT {} FROM licenses WHERE (?1 IS NULL OR product_id = ?1) AND "
                             "(?2 IS NULL OR status = ?2) ORDER BY issued_at DESC, id LIMIT ?3",
                             k_read_columns)));
    s.bind(1, product_id).bind(2, status).bind(3, limit);
    return read_many(s);
}

Expected<void> SigningKeyStore::ensure(const std::string& key_id, ByteView public_key,
                                       std::int64_t now) {
    KEYSAT_TRY_ASSIGN(ins,
                      m_db->prepare("INSERT INTO signing_keys (key_id, public_key, created_at) "
                                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING"));
    ins.bind(1, key_id).bind(2, public_key).bind(3, now);
    KEYSAT_TRY(ins.run());
    KEYSAT_TRY_ASSIGN(sel, m_db->prepare("SELECT public_key FROM signing_keys WHERE key_id = ?"));
    sel.bind(1, key_id);
    KEYSAT_TRY_ASSIGN(found, sel.step());
    auto stored = found ? sel.column_blob(0) : Bytes();
    if (!std::equal(stored.begin(), stored.end(), public_key.begin(), public_key.end()))
        return usage_error(fmt::format("signing key {}: the database holds another public key "
                                       "under this id (or this public key under another id)",
                                       key_id));
    return {};
}

Expected<std::vector<SigningKeyRow>> SigningKeyStore::list() {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("SELECT key_id, public_key, created_at, retired_at FROM "
                                       "signing_keys ORDER BY created_at, key_id"));
    std::vector<SigningKeyRow> out;
    for (;;) {
        KEYSAT_TRY_ASSIGN(row, s.step());
        if (!row)
            return out;
        SigningKeyRow r{s.column_text(0), s.column_blob(1), s.column_int(2), std::nullopt};
        if (!s.column_is_null(3))
            r.retired_at = s.column_int(3);
        out.push_back(std::move(r));
    }
}

} // namespace keysat::store
