#pragma once
// Versioned schema migrations, embedded at build time from migrations/NNNN_name.sql. Each
// migration runs in its own transaction and is recorded with the SHA-256 of its SQL.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::db {

struct MigrationSource {
    int version;
    std::string_view name; // e.g. "0002_issuance_ledger"
    std::string_view sql;
};

// Every migration this binary knows, in version order (generated code).
const std::vector<MigrationSource>& migration_sources();
// The newest schema version this binary knows.
int latest_version();
// The oldest binary schema version that can still read a database at `version` (Chromium's
// compatible_version): every migration so far is additive, so it is 1.
int compatible_version(int version);

struct AppliedMigration {
    int version = 0;
    std::string name;
    std::string checksum;
    std::int64_t applied_at = 0;
};

struct SchemaStatus {
    int current = 0;    // version of the database (0: empty)
    int compatible = 0; // oldest binary version that can read it
    int target = 0;     // latest_version()
    std::vector<AppliedMigration> applied;
    std::vector<MigrationSource> pending;
    std::vector<std::string> drift; // applied migrations whose SQL changed or is unknown
};

// Reads the schema state without changing anything.
// `sources` defaults to the embedded migrations; tests pass their own.
Expected<SchemaStatus>
schema_status(Database& db, const std::vector<MigrationSource>& sources = migration_sources());

// Fails unless the database is usable as is: Errc::needs_migrate when it is behind, a usage
// error when it is newer than this binary or a migration drifted.
Expected<void> require_current(Database& db,
                               const std::vector<MigrationSource>& sources = migration_sources());

struct UpOptions {
    int to = 0;           // 0: latest
    bool dry_run = false; // only report the SQL that would run
    bool backup = true;   // online backup next to the database before changing it
    std::int64_t now = 0;
};

struct UpResult {
    int from = 0;
    int to = 0;
    std::vector<MigrationSource> applied; // or, with dry_run, what would be applied
    std::string backup_path;              // empty when no backup was taken
};

// Applies pending migrations up to `to`, each in its own transaction. Refuses a database newer
// than this binary, drifted checksums, and a target below the current version.
Expected<UpResult> migrate_up(Database& db, const UpOptions& options,
                              const std::vector<MigrationSource>& sources = migration_sources());

struct VerifyReport {
    std::vector<std::string> problems; // empty: healthy
};

// integrity_check, foreign_key_check and the checksums of applied migrations.
Expected<VerifyReport>
verify_database(Database& db, const std::vector<MigrationSource>& sources = migration_sources());

// Lower-case hex SHA-256 of a migration's SQL text.
std::string migration_checksum(std::string_view sql);

} // namespace keysat::db
