#pragma once
// A fresh database at the latest schema version, for tests.

#include <filesystem>
#include <stdexcept>

#include "keysat/db/migrations.hpp"

namespace keysat::test {

inline db::Database fresh_database(const std::filesystem::path& path) {
    auto d = db::Database::open(path, db::OpenMode::read_write_create);
    if (!d || !db::migrate_up(*d, {0, false, false, 1}))
        throw std::runtime_error("cannot create test database " + path.string());
    return std::move(*d);
}

} // namespace keysat::test
