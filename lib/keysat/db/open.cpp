#include "keysat/db/open.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "keysat/db/migrations.hpp"

namespace keysat::db {

std::filesystem::path resolve_db_path(const std::string& option) {
    if (!option.empty())
        return option;
    if (const char* env = std::getenv("KEYSAT_DB_PATH"); env != nullptr && *env != '\0')
        return env;
    return k_default_db_path;
}

Expected<Database> open_current(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return usage_error(fmt::format("{}: no database here (create it with: keysat-migrate up "
                                       "--db {})",
                                       path.string(), path.string()));
    KEYSAT_TRY_ASSIGN(db, Database::open(path, OpenMode::read_write));
    KEYSAT_TRY(require_current(db));
    return db;
}

} // namespace keysat::db
