#include "keysat/store/session_store.hpp"

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

constexpr const char* k_columns = "id_sha256, actor_kind, actor_id, csrf_token, created_at, "
                                  "last_seen_at, expires_at, ip, user_agent";

SessionRow read_session(const db::Statement& s) {
    SessionRow r;
    r.id_sha256 = s.column_text(0);
    r.actor_kind = s.column_text(1);
    r.actor_id = s.column_text(2);
    r.csrf_token = s.column_text(3);
    r.created_at = s.column_int(4);
    r.last_seen_at = s.column_int(5);
    r.expires_at = s.column_int(6);
    if (!s.column_is_null(7))
        r.ip = s.column_text(7);
    if (!s.column_is_null(8))
        r.user_agent = s.column_text(8);
    return r;
}

} // namespace

Expected<void> SessionStore::create(const SessionRow& r) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(std::string("INSERT INTO console_sessions (") + k_columns +
                                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    s.bind(1, r.id_sha256)
        .bind(2, r.actor_kind)
        .bind(3, r.actor_id)
        .bind(4, r.csrf_token)
        .bind(5, r.created_at)
        .bind(6, r.last_seen_at)
        .bind(7, r.expires_at)
        .bind(8, r.ip)
        .bind(9, r.user_agent);
    auto done = s.run();
    s.reset();
    return done;
}

Expected<std::optional<SessionRow>> SessionStore::use(const std::string& id_sha256,
                                                      std::int64_t now, std::int64_t idle_seconds) {
    KEYSAT_TRY_ASSIGN(find, m_db->prepare(std::string("SELECT ") + k_columns +
                                          " FROM console_sessions WHERE id_sha256 = ?"));
    find.bind(1, id_sha256);
    KEYSAT_TRY_ASSIGN(row, read_first<SessionRow>(find, read_session));
    if (!row)
        return std::optional<SessionRow>();
    if (row->expires_at <= now || row->last_seen_at + idle_seconds <= now) {
        KEYSAT_TRY(remove(id_sha256));
        return std::optional<SessionRow>();
    }
    // Touched to the minute: a write (and a commit, which clears validate's row cache) per page
    // view would buy nothing.
    if (now - row->last_seen_at < 60)
        return row;
    KEYSAT_TRY_ASSIGN(touch, m_db->prepare("UPDATE console_sessions SET last_seen_at = ? WHERE "
                                           "id_sha256 = ?"));
    touch.bind(1, now).bind(2, id_sha256);
    KEYSAT_TRY(run_changes(*m_db, touch));
    row->last_seen_at = now;
    return row;
}

Expected<bool> SessionStore::remove(const std::string& id_sha256) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM console_sessions WHERE id_sha256 = ?"));
    s.bind(1, id_sha256);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n > 0;
}

Expected<std::int64_t> SessionStore::remove_for(const std::string& actor_kind,
                                                const std::string& actor_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM console_sessions WHERE actor_kind = ? AND "
                                       "actor_id = ?"));
    s.bind(1, actor_kind).bind(2, actor_id);
    return run_changes(*m_db, s);
}

Expected<std::int64_t> SessionStore::remove_stale(std::int64_t now, std::int64_t idle_seconds) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM console_sessions WHERE expires_at <= ? OR "
                                       "last_seen_at <= ?"));
    s.bind(1, now).bind(2, now - idle_seconds);
    return run_changes(*m_db, s);
}

} // namespace keysat::store
