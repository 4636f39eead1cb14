#pragma once
// keysat-migrate: schema status, upgrades with automatic backup, verification, online backups
// ledger imports and switching from Keysat (import-keysat).

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace keysat::cli {

struct MigrateOptions {
    std::string db;
    bool json = false;
    int to = 0;
    bool dry_run = false;
    bool no_backup = false;
    std::string backup_to;
    std::string ledger_file;
    std::vector<std::string> pubkeys;
    bool keep_going = false;
    // import-keysat
    std::string from;
    std::string signing_key;
    bool encrypt = false;
    std::string passphrase_file;
    std::string kdf = "sensitive";
};

// Builds the command line of keysat-migrate into `opts` (also used to generate docs).
std::unique_ptr<CLI::App> make_migrate_app(MigrateOptions& opts);

// The whole program.
int migrate_main(int argc, char** argv);

} // namespace keysat::cli
