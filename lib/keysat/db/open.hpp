#pragma once
// How every tool finds and opens the database.

#include <filesystem>
#include <string>

#include "keysat/db/database.hpp"

namespace keysat::db {

inline constexpr const char* k_default_db_path = "var/keysat.db";

// --db FILE if given, else $KEYSAT_DB_PATH, else ./var/keysat.db.
std::filesystem::path resolve_db_path(const std::string& option);

// Opens an existing database for reading and writing and requires its schema to be current:
// a missing file is a usage error naming the command that creates it; a database behind this
// binary is Errc::needs_migrate (exit 3).
Expected<Database> open_current(const std::filesystem::path& path);

} // namespace keysat::db
