#include "keysat/store/machine_store.hpp"

#include <fmt/format.h>

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

constexpr const char* k_columns = "id, license_id, fingerprint, fingerprint_sha256, hostname, "
                                  "platform, activated_at, last_heartbeat_at, deactivated_at, "
                                  "deactivation_reason";

MachineRow read_machine(const db::Statement& s) {
    return MachineRow{s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3),
                      opt_text(s, 4),   opt_text(s, 5),   s.column_int(6),  opt_int(s, 7),
                      opt_int(s, 8),    opt_text(s, 9)};
}

} // namespace

Expected<std::optional<MachineRow>> MachineStore::find_active(const std::string& license_id,
                                                              const std::string& fp_sha256) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM machines WHERE license_id = ? "
                                                   "AND fingerprint_sha256 = ? AND "
                                                   "deactivated_at IS NULL",
                                                   k_columns)));
    s.bind(1, license_id).bind(2, fp_sha256);
    return read_first<MachineRow>(s, read_machine);
}

Expected<std::int64_t> MachineStore::count_active(const std::string& license_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("SELECT count(*) FROM machines WHERE license_id = ? AND "
                                       "deactivated_at IS NULL"));
    s.bind(1, license_id);
    KEYSAT_TRY(s.step());
    return s.column_int(0);
}

Expected<void> MachineStore::activate(const MachineRow& m) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("INSERT INTO machines ({}) VALUES (?, ?, ?, ?, "
                                                   "?, ?, ?, ?, NULL, NULL)",
                                                   k_columns)));
    s.bind(1, m.id)
        .bind(2, m.license_id)
        .bind(3, m.fingerprint)
        .bind(4, m.fingerprint_sha256)
        .bind(5, m.hostname)
        .bind(6, m.platform)
        .bind(7, m.activated_at)
        .bind(8, m.last_heartbeat_at);
    return s.run();
}

Expected<bool> MachineStore::heartbeat(const std::string& machine_id, std::int64_t at) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE machines SET last_heartbeat_at = ? WHERE id = ? AND "
                                       "deactivated_at IS NULL"));
    s.bind(1, at).bind(2, machine_id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> MachineStore::deactivate(const std::string& machine_id, std::int64_t at,
                                        const std::optional<std::string>& reason) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE machines SET deactivated_at = ?, "
                                       "deactivation_reason = ? WHERE id = ? AND deactivated_at "
                                       "IS NULL"));
    s.bind(1, at).bind(2, reason).bind(3, machine_id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::optional<MachineRow>> MachineStore::find(const std::string& machine_id) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("SELECT {} FROM machines WHERE id = ?", k_columns)));
    s.bind(1, machine_id);
    return read_first<MachineRow>(s, read_machine);
}

Expected<std::vector<MachineRow>> MachineStore::list(const std::string& license_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM machines WHERE license_id = ? "
                                                   "ORDER BY deactivated_at IS NOT NULL, "
                                                   "activated_at, id",
                                                   k_columns)));
    s.bind(1, license_id);
    return read_all<MachineRow>(s, read_machine);
}

Expected<std::vector<MachineListing>> MachineStore::list(const MachineFilter& f) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare("SELECT m.id, m.license_id, m.fingerprint, m.fingerprint_sha256, "
                         "m.hostname, m.platform, m.activated_at, m.last_heartbeat_at, "
                         "m.deactivated_at, m.deactivation_reason, l.product_id, "
                         "COALESCE(p.slug, ''), COALESCE(p.name, ''), l.buyer_email, l.status "
                         "FROM machines m JOIN licenses l ON l.id = m.license_id LEFT JOIN "
                         "products p ON p.id = l.product_id WHERE (?1 IS NULL OR m.license_id = "
                         "?1) AND (?2 IS NULL OR l.product_id = ?2) AND (?3 = 1 OR "
                         "m.deactivated_at IS NULL) ORDER BY COALESCE(m.last_heartbeat_at, "
                         "m.activated_at) DESC, m.id LIMIT ?4"));
    s.bind(1, f.license_id)
        .bind(2, f.product_id)
        .bind(3, std::int64_t{f.include_inactive})
        .bind(4, f.limit);
    return read_all<MachineListing>(s, [](const db::Statement& r) {
        return MachineListing{read_machine(r),   r.column_text(10), r.column_text(11),
                              r.column_text(12), opt_text(r, 13),   r.column_text(14)};
    });
}

} // namespace keysat::store
