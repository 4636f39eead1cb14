#pragma once
// Recording issued licenses in the database: straight from keysat-issue (--db), or by importing
// a ledger file written on an air-gapped machine. Both are idempotent.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keysat/db/database.hpp"
#include "keysat/issuing/ledger.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/store/license_store.hpp"

namespace keysat::service {

// The database row for a license that keysat-issue signed.
store::LicenseRow license_row(const issuing::LedgerRecord& record, std::string source);

struct LedgerProblem {
    std::size_t line = 0;
    std::string message;
};

struct ImportReport {
    std::size_t records = 0;
    std::size_t inserted = 0;
    std::size_t unchanged = 0;
    std::vector<LedgerProblem> problems; // the first k_max_problems, in line order
    std::size_t problem_count = 0;       // all of them
    static constexpr std::size_t k_max_problems = 100;

    // Records a bad line: counted always, kept while fewer than k_max_problems are.
    void add_problem(std::size_t line, std::string message) {
        ++problem_count;
        if (problems.size() < k_max_problems)
            problems.push_back({line, std::move(message)});
    }
};

enum class KeepGoing { yes, no };

// The public keys of every signing key the database records, oldest first.
Expected<license::Keyring> recorded_keys(db::Database& db);

// Imports a ledger (JSON lines, formats.md §5) in one transaction. Each record's key must verify
// with a trusted key (the keyring given, plus the signing keys the database already holds), and
// its signed fields must match the record's. With KeepGoing::no any problem imports nothing.
Expected<ImportReport> import_ledger(db::Database& db, std::string_view text,
                                     const license::Keyring& trusted, KeepGoing keep_going,
                                     std::int64_t now);

} // namespace keysat::service
