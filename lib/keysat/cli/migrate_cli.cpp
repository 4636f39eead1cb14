#include "keysat/cli/migrate_cli.hpp"

#include <array>
#include <iostream>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/cli/common.hpp"
#include "keysat/crypto/secure.hpp"
#include "keysat/crypto/signing.hpp"
#include "keysat/db/migrations.hpp"
#include "keysat/db/open.hpp"
#include "keysat/issuing/keyfile.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/service/keysat_import.hpp"
#include "keysat/service/ledger.hpp"
#include "keysat/store/license_store.hpp"
#include "keysat/util/clock.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"
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

// Where import-keysat writes Keysat's key: --signing-key, else signing.key beside the database
// (keysat-serve's default when the database sits in its data_dir).
std::filesystem::path signing_key_path(const MigrateOptions& o, const std::filesystem::path& db) {
    if (!o.signing_key.empty())
        return o.signing_key;
    return (db.has_parent_path() ? db.parent_path() : std::filesystem::path(".")) / "signing.key";
}

// The key id Keysat's key gets: the one of a key file already holding it (a rerun), else the one
// a target recorded for it, else none (a new random one).
Expected<std::optional<crypto::KeyId>> known_key_id(const MigrateOptions& o,
                                                    const std::filesystem::path& key_path,
                                                    const service::KeysatSource& source,
                                                    db::Database* target) {
    KEYSAT_TRY_ASSIGN(fresh, service::keysat_signing_key(source, std::nullopt));
    std::error_code ec;
    if (std::filesystem::exists(key_path, ec)) {
        KEYSAT_TRY_ASSIGN(text, read_small_file(key_path, 64 * 1024));
        auto held = issuing::parse_secret_key_file(text, [&] {
            return read_passphrase(o.passphrase_file,
                                   fmt::format("Passphrase for {}: ", key_path.string()));
        });
        if (!held)
            return usage_error(key_path.string() + ": " + held.error().message);
        if (held->public_key().bytes != fresh.public_key().bytes)
            return usage_error(fmt::format(
                "{}: it holds another signing key (id {}), which keysat-serve would sign with "
                "instead of Keysat's; move it away or name another file with --signing-key",
                key_path.string(), crypto::key_id_text(held->key_id())));
        return std::optional<crypto::KeyId>(held->key_id());
    }
    if (target != nullptr) {
        KEYSAT_TRY_ASSIGN(recorded, store::SigningKeyStore(*target).list());
        for (const auto& k : recorded)
            if (k.public_key ==
                Bytes(fresh.public_key().bytes.begin(), fresh.public_key().bytes.end())) {
                crypto::KeyId id{};
                auto bytes = hex_decode(k.key_id);
                if (bytes && bytes->size() == id.size()) {
                    std::copy(bytes->begin(), bytes->end(), id.begin());
                    return std::optional<crypto::KeyId>(id);
                }
            }
    }
    return std::optional<crypto::KeyId>();
}

// The key file, written like the one keysat-serve generates (0600, the .pub beside it), encrypted
// with `pass` unless it is empty.
Expected<void> write_signing_key(const MigrateOptions& o, const std::filesystem::path& path,
                                 const crypto::SecretKey& key, std::string& pass) {
    auto strength = o.kdf == "interactive" ? issuing::KdfStrength::interactive
                                           : issuing::KdfStrength::sensitive;
    auto text = issuing::format_secret_key_file(
        key, pass.empty() ? issuing::Encrypt::no : issuing::Encrypt::yes, pass,
        issuing::kdf_limits(strength), "Keysat's server key, imported by keysat-migrate");
    crypto::wipe(pass.data(), pass.size());
    if (!text)
        return std::unexpected(text.error());
    KEYSAT_TRY(write_file_atomic(path, *text, 0600, Overwrite::no));
    crypto::wipe(text->data(), text->size());
    auto pub = path;
    pub.replace_extension(".pub");
    return write_file_atomic(
        pub, license::format_public_key(key.public_key(), license::PubkeyForm::minisign), 0644);
}

void print_report(const service::KeysatImportReport& r) {
    for (const auto& c : r.counts)
        fmt::print("{:<26} {}\n", c.table, c.rows);
    for (const auto& n : r.not_carried)
        std::cerr << "keysat-migrate: not carried: " << n << '\n';
    constexpr std::size_t k_shown = 50;
    for (std::size_t i = 0; i < r.problems.size() && i < k_shown; ++i)
        std::cerr << fmt::format("keysat-migrate: {} {}: {}\n", r.problems[i].table,
                                 r.problems[i].id, r.problems[i].reason);
    if (r.problem_count > k_shown)
        std::cerr << fmt::format("keysat-migrate: ... and {} more row(s) that cannot be mapped\n",
                                 r.problem_count - k_shown);
}

Expected<int> run_import_keysat(const MigrateOptions& o) {
    if (o.kdf != "sensitive" && o.kdf != "interactive")
        return usage_error("--kdf must be sensitive or interactive");
    KEYSAT_TRY_ASSIGN(source, service::read_keysat_source(o.from));
    auto path = db::resolve_db_path(o.db);
    auto key_path = signing_key_path(o, path);
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    const auto now = SystemClock().now();
    // A database this command creates is removed again unless the import lands in it (a dry
    // run works on a scratch one in the temp directory): a refusal leaves nothing behind.
    std::filesystem::path created;
    bool keep_created = false;
    struct Created {
        const std::filesystem::path& p;
        const bool& keep;
        ~Created() {
            std::error_code ignored;
            if (!p.empty() && !keep)
                for (const char* suffix : {"", "-wal", "-shm"})
                    std::filesystem::remove(p.string() + suffix, ignored);
        }
    } cleanup{created, keep_created};
    std::filesystem::path target_path = path;
    if (!exists) {
        if (o.dry_run) {
            std::array<std::uint8_t, 8> r;
            crypto::random_bytes(r);
            target_path = std::filesystem::temp_directory_path() /
                          fmt::format("keysat-import-dry-run-{}.db", hex_encode(r));
        }
        created = target_path;
        KEYSAT_TRY_ASSIGN(fresh, db::Database::open(target_path, db::OpenMode::read_write_create));
        KEYSAT_TRY(db::migrate_up(fresh, {0, false, false, now}));
    }
    KEYSAT_TRY_ASSIGN(target, db::open_current(target_path));
    KEYSAT_TRY_ASSIGN(key_id, known_key_id(o, key_path, source, &target));
    KEYSAT_TRY_ASSIGN(key, service::keysat_signing_key(source, key_id));
    const bool write_key = !o.dry_run && !std::filesystem::exists(key_path, ec);
    // Asked before the work starts, not with the write transaction open.
    std::string pass;
    if (write_key && o.encrypt) {
        KEYSAT_TRY_ASSIGN(p, new_passphrase(o.passphrase_file, "no --encrypt"));
        pass = std::move(p);
    }

    const bool show_progress = ::isatty(2) != 0;
    auto progress = [&](std::int64_t done, std::int64_t total) {
        if (show_progress)
            std::cerr << fmt::format("\rlicenses {} / {}", done, total)
                      << (done == total ? "\n" : "") << std::flush;
    };
    KEYSAT_TRY_ASSIGN(report,
                      service::import_keysat(
                          target, source, key,
                          o.dry_run ? service::ImportMode::dry_run : service::ImportMode::apply,
                          o.keep_going ? service::OnBadRow::keep_going : service::OnBadRow::stop,
                          now, progress, [&]() -> Expected<void> {
                              if (!write_key)
                                  return {};
                              return write_signing_key(o, key_path, key, pass);
                          }));
    crypto::wipe(pass.data(), pass.size());
    keep_created = !o.dry_run && !report.stopped;
    if (report.already_imported) {
        std::cerr << fmt::format("{}: already holds this import of {}; nothing to do\n",
                                 path.string(), o.from);
        return k_exit_ok;
    }
    print_report(report);
    if (report.stopped) {
        std::cerr << fmt::format("keysat-migrate: {} row(s) cannot be mapped; nothing was "
                                 "imported (use --keep-going to leave them out)\n",
                                 report.problem_count);
        return k_exit_invalid;
    }
    if (o.dry_run) {
        std::cerr << fmt::format(
            "dry run: {} (Keysat schema version {}) would be imported into "
            "{}{}; nothing changed\n",
            o.from, report.source_version, path.string(),
            report.problems.empty()
                ? ""
                : fmt::format(" ({} row(s) cannot be mapped{})", report.problem_count,
                              o.keep_going ? " and would be left out" : ": it would stop"));
        return report.problems.empty() ? k_exit_ok : k_exit_invalid;
    }
    std::cerr << fmt::format(
        "imported {} (Keysat schema version {}) into {}{}; signing key {} in {}{}\n", o.from,
        report.source_version, path.string(),
        report.problems.empty() ? "" : fmt::format(", leaving out {} row(s)", report.problem_count),
        crypto::key_id_text(key.key_id()), key_path.string(), write_key ? "" : " (already there)");
    return report.problems.empty() ? k_exit_ok : k_exit_invalid;
}

void db_option(CLI::App& sub, MigrateOptions& o) {
    sub.add_option("--db", o.db, "Database file (default: $KEYSAT_DB_PATH, else var/keysat.db)")
        ->type_name("FILE");
}

} // namespace

std::unique_ptr<CLI::App> make_migrate_app(MigrateOptions& o) {
    auto app = std::make_unique<CLI::App>(
        "Create and upgrade the Keysat database, check it, back it up, import ledgers, switch "
        "from Keysat. Exit status: 0 ok, 1 problems found, 2 usage or environment error, 3 "
        "migrations pending.",
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
    auto* ik = app->add_subcommand(
        "import-keysat",
        "Copy a Keysat 0.2.x database into a new one, keeping every id, key, secret and hash");
    db_option(*ik, o);
    ik->add_option("--from", o.from,
                   "Keysat's database (StartOS keeps it at /data/keysat.db): a backup, or the "
                   "file while Keysat is stopped")
        ->required()
        ->type_name("FILE");
    ik->add_option("--signing-key", o.signing_key,
                   "Where Keysat's signing key is written as ours (default: signing.key beside "
                   "the database, where keysat-serve looks)")
        ->type_name("FILE");
    ik->add_flag("--encrypt", o.encrypt, "Encrypt that key file with a passphrase");
    ik->add_option("--passphrase-file", o.passphrase_file,
                   "Read the key file's passphrase from the first line of this file")
        ->type_name("FILE");
    ik->add_option("--kdf", o.kdf, "scrypt cost of an encrypted key file: sensitive or interactive")
        ->type_name("LEVEL");
    ik->add_flag("--dry-run", o.dry_run,
                 "Print what would be imported and what cannot be, and change nothing");
    ik->add_flag("--keep-going", o.keep_going,
                 "Leave out rows that cannot be mapped (and the rows that depend on them) and "
                 "import the rest");
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
        if (name == "import-keysat")
            return run_import_keysat(o);
        return run_import(o);
    });
}

} // namespace keysat::cli
