#pragma once
// Small helpers shared by the repositories for reading optional columns and running queries.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::store {

inline std::optional<std::string> opt_text(const db::Statement& s, int i) {
    return s.column_is_null(i) ? std::nullopt : std::optional<std::string>(s.column_text(i));
}

inline std::optional<std::int64_t> opt_int(const db::Statement& s, int i) {
    return s.column_is_null(i) ? std::nullopt : std::optional<std::int64_t>(s.column_int(i));
}

// Steps a bound statement to the end, reading each row with `read`; resets it afterwards.
template <typename Row>
Expected<std::vector<Row>> read_all(db::Statement& s,
                                    const std::function<Row(const db::Statement&)>& read) {
    std::vector<Row> out;
    for (;;) {
        auto row = s.step();
        if (!row) {
            s.reset();
            return std::unexpected(row.error());
        }
        if (!*row)
            break;
        out.push_back(read(s));
    }
    s.reset();
    return out;
}

// The first row only, or nullopt.
template <typename Row>
Expected<std::optional<Row>> read_first(db::Statement& s,
                                        const std::function<Row(const db::Statement&)>& read) {
    auto row = s.step();
    std::optional<Row> out;
    if (row && *row)
        out = read(s);
    s.reset();
    if (!row)
        return std::unexpected(row.error());
    return out;
}

// Runs a bound statement that changes rows and returns how many it changed.
inline Expected<std::int64_t> run_changes(db::Database& db, db::Statement& s) {
    auto ok = s.run();
    s.reset();
    if (!ok)
        return std::unexpected(ok.error());
    return db.changes();
}

} // namespace keysat::store
