#include "keysat/db/migrations.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::db {

namespace {

// Bookkeeping tables, created by the first migration's transaction.
constexpr std::string_view k_meta_schema = R"sql(
CREATE TABLE IF NOT EXISTS schema_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT;
)sql";

Expected<bool> has_table(Database& db, std::string_view name) {
    KEYSAT_TRY_ASSIGN(
        stmt, db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"));
    stmt.bind(1, name);
    KEYSAT_TRY(stmt.step());
    return stmt.column_int(0) > 0;
}

Expected<std::vector<AppliedMigration>> read_applied(Database& db) {
    std::vector<AppliedMigration> out;
    KEYSAT_TRY_ASSIGN(exists, has_table(db, "schema_migrations"));
    if (!exists)
        return out;
    KEYSAT_TRY_ASSIGN(stmt, db.prepare("SELECT version, name, checksum, applied_at FROM "
                                       "schema_migrations ORDER BY version"));
    for (;;) {
        KEYSAT_TRY_ASSIGN(row, stmt.step());
        if (!row)
            return out;
        out.push_back({static_cast<int>(stmt.column_int(0)), stmt.column_text(1),
                       stmt.column_text(2), stmt.column_int(3)});
    }
}

Expected<int> read_meta(Database& db, std::string_view key) {
    KEYSAT_TRY_ASSIGN(exists, has_table(db, "schema_meta"));
    if (!exists)
        return 0;
    KEYSAT_TRY_ASSIGN(stmt, db.prepare("SELECT value FROM schema_meta WHERE key = ?"));
    stmt.bind(1, key);
    KEYSAT_TRY_ASSIGN(row, stmt.step());
    return row ? static_cast<int>(stmt.column_int(0)) : 0;
}

Expected<void> apply_one(Database& db, const MigrationSource& m, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(tx, Transaction::begin(db));
    KEYSAT_TRY(db.exec(k_meta_schema));
    if (auto ok = db.exec(m.sql); !ok)
        return usage_error(fmt::format("migration {} failed, database left at version {}: {}",
                                       m.name, m.version - 1, ok.error().message));
    KEYSAT_TRY_ASSIGN(rec, db.prepare("INSERT INTO schema_migrations (version, name, checksum, "
                                      "applied_at) VALUES (?, ?, ?, ?)"));
    rec.bind(1, m.version).bind(2, m.name).bind(3, migration_checksum(m.sql)).bind(4, now);
    KEYSAT_TRY(rec.run());
    KEYSAT_TRY_ASSIGN(meta, db.prepare("INSERT INTO schema_meta (key, value) VALUES (?, ?) "
                                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
    meta.bind(1, "version").bind(2, m.version);
    KEYSAT_TRY(meta.run());
    meta.reset();
    meta.bind(1, "compatible_version").bind(2, compatible_version(m.version));
    KEYSAT_TRY(meta.run());
    KEYSAT_TRY(db.exec(fmt::format("PRAGMA user_version = {}", m.version)));
    return tx.commit();
}

std::string backup_name(const Database& db, int from, std::int64_t now) {
    std::string stamp = format_timestamp(now);
    std::erase(stamp, ':');
    std::erase(stamp, '-');
    return fmt::format("{}.bak-{}-{}", db.path().string(), from, stamp);
}

} // namespace

int latest_version() {
    return migration_sources().back().version;
}

int compatible_version(int version) {
    return version == 0 ? 0 : 1;
}

std::string migration_checksum(std::string_view sql) {
    return hex_encode(crypto::sha256(as_bytes(sql)));
}

Expected<SchemaStatus> schema_status(Database& db, const std::vector<MigrationSource>& sources) {
    SchemaStatus s;
    s.target = sources.empty() ? 0 : sources.back().version;
    KEYSAT_TRY_ASSIGN(applied, read_applied(db));
    s.applied = std::move(applied);
    KEYSAT_TRY_ASSIGN(version, read_meta(db, "version"));
    KEYSAT_TRY_ASSIGN(compatible, read_meta(db, "compatible_version"));
    s.current = version;
    s.compatible = compatible;
    if (s.current == 0) {
        // A file with tables but no schema record is not ours: refuse rather than guess.
        KEYSAT_TRY_ASSIGN(tables, db.query_int("SELECT count(*) FROM sqlite_master WHERE type = "
                                               "'table' AND name NOT LIKE 'sqlite_%'"));
        if (tables > 0)
            return usage_error(fmt::format("{}: has tables but no Keysat schema version; not a "
                                           "Keysat database",
                                           db.path().string()));
    }
    const auto& known = sources;
    for (const auto& a : s.applied) {
        auto it = std::find_if(known.begin(), known.end(),
                               [&](const MigrationSource& m) { return m.version == a.version; });
        if (it == known.end())
            s.drift.push_back(
                fmt::format("migration {} ({}) is unknown to this binary", a.version, a.name));
        else if (migration_checksum(it->sql) != a.checksum)
            s.drift.push_back(fmt::format("migration {} ({}) changed after it was applied "
                                          "(checksum {} recorded, {} now)",
                                          a.version, a.name, a.checksum.substr(0, 12),
                                          migration_checksum(it->sql).substr(0, 12)));
    }
    for (const auto& m : known)
        if (m.version > s.current)
            s.pending.push_back(m);
    return s;
}

Expected<void> require_current(Database& db, const std::vector<MigrationSource>& sources) {
    KEYSAT_TRY_ASSIGN(s, schema_status(db, sources));
    if (s.current > s.target)
        return usage_error(fmt::format("{}: database schema version {} is newer than this "
                                       "program knows ({}); upgrade keysat",
                                       db.path().string(), s.current, s.target));
    if (!s.drift.empty())
        return usage_error(fmt::format("{}: {}", db.path().string(), s.drift.front()));
    if (s.current < s.target)
        return std::unexpected(
            Error{Errc::needs_migrate,
                  fmt::format("{}: database schema is at version {}, this program needs {}; run "
                              "keysat-migrate up --db {}",
                              db.path().string(), s.current, s.target, db.path().string())});
    return {};
}

Expected<UpResult> migrate_up(Database& db, const UpOptions& o,
                              const std::vector<MigrationSource>& sources) {
    KEYSAT_TRY_ASSIGN(s, schema_status(db, sources));
    int to = o.to == 0 ? s.target : o.to;
    if (s.current > s.target)
        return usage_error(fmt::format("database schema version {} is newer than this program "
                                       "knows ({}); nothing changed",
                                       s.current, s.target));
    if (!s.drift.empty())
        return usage_error(s.drift.front() + "; nothing changed");
    if (to > s.target || to < s.current)
        return usage_error(fmt::format("--to {}: must be between the current version {} and {}", to,
                                       s.current, s.target));
    UpResult r{s.current, to, {}, {}};
    for (const auto& m : s.pending)
        if (m.version <= to)
            r.applied.push_back(m);
    if (o.dry_run || r.applied.empty())
        return r;
    if (o.backup && s.current > 0) {
        r.backup_path = backup_name(db, s.current, o.now);
        KEYSAT_TRY(db.backup_to(r.backup_path));
    }
    for (const auto& m : r.applied)
        KEYSAT_TRY(apply_one(db, m, o.now));
    return r;
}

Expected<VerifyReport> verify_database(Database& db, const std::vector<MigrationSource>& sources) {
    VerifyReport report;
    KEYSAT_TRY_ASSIGN(integrity, db.query_texts("PRAGMA integrity_check"));
    if (integrity.size() != 1 || integrity[0] != "ok")
        for (auto& line : integrity)
            report.problems.push_back("integrity_check: " + line);
    KEYSAT_TRY_ASSIGN(fk, db.prepare("PRAGMA foreign_key_check"));
    for (;;) {
        KEYSAT_TRY_ASSIGN(row, fk.step());
        if (!row)
            break;
        report.problems.push_back(fmt::format("foreign_key_check: row {} of {} points to a missing "
                                              "row of {}",
                                              fk.column_int(1), fk.column_text(0),
                                              fk.column_text(2)));
    }
    KEYSAT_TRY_ASSIGN(s, schema_status(db, sources));
    for (auto& d : s.drift)
        report.problems.push_back(d);
    if (s.current > s.target)
        report.problems.push_back(
            fmt::format("schema version {} is newer than this program ({})", s.current, s.target));
    return report;
}

} // namespace keysat::db
