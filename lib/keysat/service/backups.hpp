#pragma once
// Scheduled backups for servers outside StartOS (backup_dir, backup_interval, backup_keep): a
// copy of the database taken with SQLite's online backup API into backup_dir as
// keysat-YYYYMMDDTHHMMSSZ.db (mode 0600), opened and checked (integrity_check, foreign keys,
// migration checksums) before the oldest copies beyond backup_keep are removed. A copy that fails
// its check is deleted and the older ones stay.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "keysat/db/database.hpp"

namespace keysat::service {

struct BackupResult {
    std::filesystem::path path;
    int removed = 0; // older copies rotated out
};

// Takes, checks and rotates one backup of `db` at `now`.
Expected<BackupResult> take_backup(db::Database& db, const std::filesystem::path& dir, int keep,
                                   std::int64_t now);

// When the newest backup in `dir` was taken (from its name), if there is one.
std::optional<std::int64_t> newest_backup_time(const std::filesystem::path& dir);

} // namespace keysat::service
