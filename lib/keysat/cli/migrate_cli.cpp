#include "keysat/cli/migrate_cli.hpp"

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/cli/common.hpp"
#include "keysat/db/migrations.hpp"
#include "keysat/db/open.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/service/ledger.hpp"
#include "keysat/util/clock.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/file.hpp"

namespace keysat::cli {

namespace {

using nlohmann::json;

constexpr int k_exit_pending = 3;

Expected<db::Database> open_existing(const MigrateOptions& o, db::OpenMode mode) {
    auto path = db::resolve_db_path(o.db);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return usage_error(fmt::format("{}: no database here (create it with: keysat-migrate up "
                                       "--db {})",
                                       path.string(), path.string()));
    return db::Database::open(path, mode);
}

Expected<int> run_status(const MigrateOptions& o) {
    auto path = db::resolve_db_path(o.db);
    std::error_code ec;
    db::SchemaStatus s;
    bool exists = std::filesystem::exists(path, ec);
    if (exists) {
        KEYSAT_TRY_ASSIGN(db, db::Database::open(path, db::OpenMode::read_only));
        KEYSAT_TRY_ASSIGN(st, db::schema_status(db));
        s = std::move(st);
    } else {
        s.target = db::latest_version();
        s.pending = db::migration_sources();
    }
    if (o.json) {
        json pending = json::array();
        for (const auto& m : s.pending)
            pending.push_back(m.name);
        json applied = json::array();
        for (const auto& a : s.applied)
            applied.push_back({{"version", a.version},
                               {"name", a.name},
                               {"checksum", a.checksum},
                               {"applied_at", format_timestamp(a.applied_at)}});
        std::cout << json{{"database", path.string()}, {"exists", exists},
                          {"current", s.current},      {"compatible", s.compatible},
                          {"target", s.target},        {"applied", applied},
                          {"pending", pending},        {"drift", s.drift}}
                         .dump()
                  << '\n';
    } else {
        fmt::print("database  {}{}\ncurrent   {}\ntarget    {}\n", path.string(),
                   exists ? "" : " (does not exist yet)", s.current, s.target);
        for (const auto& a : s.applied)
            fmt::print("applied   {}  {}\n", a.name, format_timestamp(a.applied_at));
        for (const auto& m : s.pending)
            fmt::print("pending   {}\n", m.name);
        for (const auto& d : s.drift)
            fmt::print("DRIFT     {}\n", d);
    }
    if (!s.drift.empty() || s.current > s.target)
        return k_exit_usage;
    return s.pending.empty() ? k_exit_ok : k_exit_pending;
}

Expected<int> run_up(const MigrateOptions& o) {
    auto path = db::resolve_db_path(o.db);
    std::error_code ec;
    if (o.dry_run && !std::filesystem::exists(path, ec)) {
        for (const auto& m : db::migration_sources())
            if (o.to == 0 || m.version <= o.to)
                fmt::print("-- {} (version {})\n{}\n", m.name, m.version, m.sql);
        std::cerr << fmt::format("dry run: {} does not exist; up would create it; nothing "
                                 "changed\n",
                                 path.string());
        return k_exit_ok;
    }
    KEYSAT_TRY_ASSIGN(db, db::Database::open(path, o.dry_run ? db::OpenMode::read_only
                                                             : db::OpenMode::read_write_create));
    db::UpOptions up{o.to, o.dry_run, !o.no_backup, SystemClock().now()};
    KEYSAT_TRY_ASSIGN(r, db::migrate_up(db, up));
    if (o.dry_run) {
        for (const auto& m : r.applied)
            fmt::print("-- {} (version {})\n{}\n", m.name, m.version, m.sql);
        std::cerr << fmt::format("dry run: {} migration(s) would bring {} from version {} to {}; "
                                 "nothing changed\n",
                                 r.applied.size(), path.string(), r.from, r.to);
        return k_exit_ok;
    }
    if (!r.backup_path.empty())
        std::cerr << "backup: " << r.backup_path << '\n';
    if (r.applied.empty())
        std::cerr << fmt::format("{} is at version {}; nothing to do\n", path.string(), r.from);
    else
        std::cerr << fmt::format("{} migrated from version {} to {} ({} migration(s))\n",
                                 path.string(), r.from, r.to, r.applied.size());
    return k_exit_ok;
}

Expected<int> run_verify(const MigrateOptions& o) {
    KEYSAT_TRY_ASSIGN(db, open_existing(o, db::OpenMode::read_only));
    KEYSAT_TRY_ASSIGN(report, db::verify_database(db));
    for (const auto& p : report.problems)
        std::cout << p << '\n';
    if (!report.problems.empty())
        return k_exit_invalid;
    std::cout << db.path().string() << ": ok\n";
    return k_exit_ok;
}

Expected<int> run_backup(const MigrateOptions& o) {
    KEYSAT_TRY_ASSIGN(db, open_existing(o, db::OpenMode::read_only));
    KEYSAT_TRY(db.backup_to(o.backup_to));
    std::cerr << "backup: " << o.backup_to << '\n';
    return k_exit_ok;
}

Expected<int> run_import(const MigrateOptions& o) {
    auto path = db::resolve_db_path(o.db);
    KEYSAT_TRY_ASSIGN(db, db::open_current(path));
    license::Keyring ring;
    for (const auto& p : o.pubkeys) {
        KEYSAT_TRY_ASSIGN(k, license::load_public_key(p));
        ring.keys.push_back(k);
    }
    KEYSAT_TRY_ASSIGN(text, read_argument(o.ledger_file, true));
    KEYSAT_TRY_ASSIGN(report, service::import_ledger(db, text, ring,
                                                     o.keep_going ? service::KeepGoing::yes
                                                                  : service::KeepGoing::no,
                                                     SystemClock().now()));
    for (const auto& p : report.problems)
        std::cerr << fmt::format("keysat-migrate: {} line {}: {}\n", o.ledger_file, p.line,
                                 p.message);
    if (report.problem_count > report.problems.size())
        std::cerr << fmt::format("keysat-migrate: ... and {} more bad record(s)\n",
                                 report.problem_count - report.problems.size());
    if (report.problem_count > 0 && !o.keep_going) {
        std::cerr << fmt::format("keysat-migrate: {} bad record(s); nothing was imported (use "
                                 "--keep-going to import the good ones)\n",
                                 report.problem_count);
        return k_exit_invalid;
    }
    std::cerr << fmt::format("{} record(s): {} imported, {} already present, {} rejected\n",
                             report.records, report.inserted, report.unchanged,
                             report.problem_count);
    return report.problem_count == 0 ? k_exit_ok : k_exit_invalid;
}

void db_option(CLI::App& sub, MigrateOptions& o) {
    sub.add_option("--db", o.db, "Database file (default: $KEYSAT_DB_PATH, else var/keysat.db)")
        ->type_name("FILE");
}

} // namespace

std::unique_ptr<CLI::App> make_migrate_app(MigrateOptions& o) {
    auto app = std::make_unique<CLI::App>(
        "Create and upgrade the Keysat database, check it, back it up, import ledgers. Exit "
        "status: 0 ok, 1 problems found, 2 usage or environment error, 3 migrations pending.",
        "keysat-migrate");
    add_version_flag(*app);
    app->require_subcommand(1);

    auto* status = app->add_subcommand("status", "Show the schema version and pending migrations");
    db_option(*status, o);
    status->add_flag("--json", o.json, "Print one JSON object");

    auto* up =
        app->add_subcommand("up", "Apply pending migrations (creates the database if missing)");
    db_option(*up, o);
    up->add_option("--to", o.to, "Stop at this version (default: the latest)")
        ->type_name("N")
        ->check(CLI::PositiveNumber);
    up->add_flag("--dry-run", o.dry_run, "Print the SQL that would run and change nothing");
    up->add_flag("--no-backup", o.no_backup, "Do not take a backup before migrating");

    auto* verify = app->add_subcommand(
        "verify", "Check integrity, foreign keys and the checksums of applied migrations");
    db_option(*verify, o);

    auto* backup = app->add_subcommand("backup", "Copy the database with the online backup API");
    db_option(*backup, o);
    backup->add_option("--to", o.backup_to, "Backup file to write")->required()->type_name("FILE");

    auto* imp = app->add_subcommand("import-ledger",
                                    "Import licenses from a keysat-issue ledger (JSON lines)");
    db_option(*imp, o);
    imp->add_option("-p,-P,--pubkey", o.pubkeys,
                    "Trusted public key (repeatable), besides the signing keys already recorded")
        ->type_name("KEY");
    imp->add_flag("--keep-going", o.keep_going, "Import the good records and report the bad ones");
    imp->add_option("ledger", o.ledger_file, "Ledger file, or - for standard input")
        ->required()
        ->type_name("FILE");
    // Shared by every subcommand, so also accepted before it (keysat-migrate --db F up).
    db_option(*app, o);
    return app;
}

int migrate_main(int argc, char** argv) {
    MigrateOptions o;
    auto app = make_migrate_app(o);
    return run_program(*app, argc, argv, [&]() -> Expected<int> {
        const std::string& name = app->get_subcommands().front()->get_name();
        if (name == "status")
            return run_status(o);
        if (name == "up")
            return run_up(o);
        if (name == "verify")
            return run_verify(o);
        if (name == "backup")
            return run_backup(o);
        return run_import(o);
    });
}

} // namespace keysat::cli
