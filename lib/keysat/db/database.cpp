#include "keysat/db/database.hpp"

#include <atomic>

#include <fcntl.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sqlite3.h>
#include <unistd.h>
#include <utility>

#include <fmt/format.h>

namespace keysat::db {

namespace {
std::atomic<int> g_cache_mib{32};
} // namespace

void set_cache_mib(int mib) {
    g_cache_mib = mib;
}

int cache_mib() {
    return g_cache_mib;
}

namespace {

constexpr int k_busy_timeout_ms = 5000;

thread_local std::uint64_t t_space_errors = 0;
// The newest space error and the newest commit since, in steady-clock ticks (0: none).
std::atomic<std::int64_t> g_last_space_error{0};
std::atomic<std::int64_t> g_last_commit{0};

std::int64_t ticks() {
    return std::chrono::steady_clock::now().time_since_epoch().count();
}

bool is_space_error(sqlite3* db) {
    if (db == nullptr)
        return false;
    int rc = sqlite3_extended_errcode(db);
    if ((rc & 0xff) == SQLITE_FULL)
        return true;
    int e = sqlite3_system_errno(db);
    return (rc & 0xff) == SQLITE_IOERR && (e == ENOSPC || e == EDQUOT || e == EFBIG);
}

Error db_error(sqlite3* db, std::string_view what) {
    if (is_space_error(db)) {
        ++t_space_errors;
        g_last_space_error = ticks();
    }
    return Error{Errc::usage,
                 fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : "out of memory")};
}

} // namespace

std::uint64_t space_errors_in_this_thread() {
    return t_space_errors;
}

void note_space_error() {
    ++t_space_errors;
}

bool writes_failing() {
    auto failed = g_last_space_error.load();
    return failed != 0 && failed >= g_last_commit.load();
}

// ---- Statement -----------------------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db), m_stmt(std::exchange(other.m_stmt, nullptr)), m_cache(other.m_cache) {}

Statement::~Statement() {
    if (m_stmt == nullptr)
        return;
    if (m_cache == nullptr) {
        sqlite3_finalize(m_stmt);
        return;
    }
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
    m_cache->m_statement_cache[sqlite3_sql(m_stmt)].push_back(m_stmt);
}

Statement& Statement::bind(int index, std::int64_t value) {
    sqlite3_bind_int64(m_stmt, index, value);
    return *this;
}

Statement& Statement::bind(int index, double value) {
    sqlite3_bind_double(m_stmt, index, value);
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}

Statement& Statement::bind(int index, ByteView blob) {
    sqlite3_bind_blob64(m_stmt, index, blob.data(), blob.size(), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind(int index, std::nullopt_t) {
    sqlite3_bind_null(m_stmt, index);
    return *this;
}

Expected<bool> Statement::step() {
    int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    return std::unexpected(db_error(m_db, "database"));
}

Expected<void> Statement::run() {
    for (;;) {
        KEYSAT_TRY_ASSIGN(row, step());
        if (!row)
            return {};
    }
}

void Statement::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

std::int64_t Statement::column_int(int index) const {
    return sqlite3_column_int64(m_stmt, index);
}

double Statement::column_double(int index) const {
    return sqlite3_column_double(m_stmt, index);
}

std::string Statement::column_text(int index) const {
    const auto* p = sqlite3_column_text(m_stmt, index);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, index)))
             : std::string();
}

Bytes Statement::column_blob(int index) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, index));
    return p ? Bytes(p, p + sqlite3_column_bytes(m_stmt, index)) : Bytes();
}

bool Statement::column_is_null(int index) const {
    return sqlite3_column_type(m_stmt, index) == SQLITE_NULL;
}

// ---- Database ------------------------------------------------------------------------------

namespace {
// Process-wide SQLite settings, before the first connection: connections are never shared
// between threads (multi-thread mode), and no global allocation statistics, whose mutex every
// allocation of every connection would otherwise take (it showed under concurrent load).
void configure_sqlite_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        sqlite3_initialize();
    });
}
} // namespace

Expected<Database> Database::open(const std::filesystem::path& path, OpenMode mode) {
    configure_sqlite_once();
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI; // URIs only in attach_read_only
    switch (mode) {
    case OpenMode::read_write_create:
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        if (path.has_parent_path()) {
            std::error_code ec;
            std::filesystem::create_directories(path.parent_path(), ec);
        }
        break;
    case OpenMode::read_write:
        flags |= SQLITE_OPEN_READWRITE;
        break;
    case OpenMode::read_only:
        flags |= SQLITE_OPEN_READONLY;
        break;
    }
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    Database db(raw, path, mode == OpenMode::read_only);
    if (rc != SQLITE_OK)
        return usage_error(fmt::format("{}: cannot open database: {}", path.string(),
                                       raw ? sqlite3_errmsg(raw) : "out of memory"));
    if (mode != OpenMode::read_only && sqlite3_db_readonly(raw, "main") == 1)
        return usage_error(fmt::format("{}: the database file is read-only", path.string()));
    sqlite3_busy_timeout(raw, k_busy_timeout_ms);
    sqlite3_extended_result_codes(raw, 1);
    // Reading the schema is the first thing that fails on a file that is not a database.
    if (auto probe = db.query_int("SELECT count(*) FROM sqlite_master"); !probe)
        return usage_error(
            fmt::format("{}: not a SQLite database ({})", path.string(), probe.error().message));
    std::string pragmas = "PRAGMA foreign_keys = ON;";
    // The WAL file shrinks back to 64 MiB whenever a checkpoint resets it (without a limit it
    // keeps the size of its busiest minute for good).
    if (mode != OpenMode::read_only)
        pragmas += "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                   "PRAGMA journal_size_limit = 67108864;";
    // The page cache (SQLite's default is 2 MiB): indexes on random UUIDs and keys touch pages
    // all over the file, and re-reading them showed in bulk insert profiles.
    pragmas += fmt::format("PRAGMA cache_size = -{};", cache_mib() * 1024);
    if (auto ok = db.exec(pragmas); !ok)
        return usage_error(fmt::format("{}: {}", path.string(), ok.error().message));
    auto journal = db.query_texts("PRAGMA journal_mode");
    db.m_wal = journal && *journal == std::vector<std::string>{"wal"};
    return db;
}

Expected<void> Database::attach_read_only(const std::filesystem::path& file,
                                          std::string_view schema) {
    // The path percent-encoded: '?', '#' and '%' would otherwise end or change the URI.
    std::string uri = "file:";
    for (unsigned char c : std::filesystem::absolute(file).string()) {
        if (std::isalnum(c) || std::strchr("/-._~", c) != nullptr)
            uri += static_cast<char>(c);
        else
            uri += fmt::format("%{:02X}", c);
    }
    uri += "?mode=ro";
    KEYSAT_TRY(exec("PRAGMA trusted_schema = OFF"));
    KEYSAT_TRY_ASSIGN(stmt, prepare(fmt::format("ATTACH DATABASE ? AS \"{}\"", schema)));
    stmt.bind(1, uri);
    auto done = stmt.run();
    stmt.reset();
    if (!done)
        return done;
    // Reading the schema is the first thing that fails on a file that is not a database.
    KEYSAT_TRY(query_int(fmt::format("SELECT count(*) FROM \"{}\".sqlite_master", schema)));
    return {};
}

Expected<void> Database::detach(std::string_view schema) {
    return exec(fmt::format("DETACH DATABASE \"{}\"", schema));
}

Database::Database(Database&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_path(std::move(other.m_path)),
      m_savepoints(other.m_savepoints), m_read_only(other.m_read_only), m_wal(other.m_wal),
      m_statement_cache(std::move(other.m_statement_cache)),
      m_after_commit(std::move(other.m_after_commit)) {}

void Database::after_commit(std::function<void()> fn) {
    m_after_commit = std::make_unique<std::function<void()>>(std::move(fn));
    sqlite3_wal_hook(
        m_db,
        [](void* arg, sqlite3* db, const char* schema, int frames) -> int {
            (*static_cast<std::function<void()>*>(arg))();
            // What the default hook did: a passive checkpoint once the WAL holds 1000 pages.
            if (frames >= 1000)
                sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            return SQLITE_OK;
        },
        m_after_commit.get());
}

Database::~Database() {
    for (auto& [sql, statements] : m_statement_cache)
        for (sqlite3_stmt* stmt : statements)
            sqlite3_finalize(stmt);
    sqlite3_close_v2(m_db);
}

Expected<Statement> Database::prepare(std::string_view sql) {
    // Keyed by the SQL text as SQLite keeps it (sqlite3_sql), which is the text given.
    if (auto it = m_statement_cache.find(std::string(sql));
        it != m_statement_cache.end() && !it->second.empty()) {
        sqlite3_stmt* cached = it->second.back();
        it->second.pop_back();
        return Statement(m_db, cached, this);
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(m_db, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
        return std::unexpected(db_error(m_db, "database"));
    return Statement(m_db, stmt, this);
}

Expected<void> Database::exec(std::string_view sql) {
    std::string text(sql);
    char* message = nullptr;
    if (sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        std::string m = message ? message : sqlite3_errmsg(m_db);
        sqlite3_free(message);
        Error e = db_error(m_db, "database"); // counts a space error
        e.message = "database: " + m;
        return std::unexpected(std::move(e));
    }
    return {};
}

Expected<std::int64_t> Database::query_int(std::string_view sql) {
    KEYSAT_TRY_ASSIGN(stmt, prepare(sql));
    KEYSAT_TRY_ASSIGN(row, stmt.step());
    return row ? stmt.column_int(0) : 0;
}

Expected<std::vector<std::string>> Database::query_texts(std::string_view sql) {
    KEYSAT_TRY_ASSIGN(stmt, prepare(sql));
    std::vector<std::string> out;
    for (;;) {
        KEYSAT_TRY_ASSIGN(row, stmt.step());
        if (!row)
            return out;
        out.push_back(stmt.column_text(0));
    }
}

Expected<void> Database::backup_to(const std::filesystem::path& target) {
    std::string tmp = target.string() + ".tmp-" + std::to_string(::getpid());
    // The copy holds everything the database does: readable by its owner only, from the start.
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return usage_error(
            fmt::format("{}: backup failed: {}", target.string(), std::strerror(errno)));
    ::close(fd);
    sqlite3* dest = nullptr;
    if (sqlite3_open_v2(tmp.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
        Error e = db_error(dest, target.string());
        sqlite3_close_v2(dest);
        return std::unexpected(e);
    }
    sqlite3_backup* b = sqlite3_backup_init(dest, "main", m_db, "main");
    int rc = SQLITE_OK;
    if (b != nullptr) {
        // All pages in one step: in WAL mode that is one read snapshot, which writers do not
        // wait for. (Copying in several steps would start over each time another connection
        // commits in between, and under steady writes might never finish.)
        do {
            rc = sqlite3_backup_step(b, -1);
            if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                sqlite3_sleep(10);
        } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
        sqlite3_backup_finish(b);
    }
    bool ok = b != nullptr && rc == SQLITE_DONE && sqlite3_errcode(dest) == SQLITE_OK;
    std::string why = ok ? "" : sqlite3_errmsg(dest);
    sqlite3_close_v2(dest);
    if (!ok || std::rename(tmp.c_str(), target.c_str()) != 0) {
        std::remove(tmp.c_str());
        return usage_error(fmt::format("{}: backup failed: {}", target.string(),
                                       why.empty() ? "rename failed" : why));
    }
    return {};
}

std::int64_t Database::changes() const {
    return sqlite3_changes64(m_db);
}

std::string Database::last_error() const {
    return sqlite3_errmsg(m_db);
}

bool Database::in_transaction() const {
    return sqlite3_get_autocommit(m_db) == 0;
}

// ---- Transaction ---------------------------------------------------------------------------

Expected<Transaction> Transaction::begin(Database& db) {
    if (!db.in_transaction()) {
        KEYSAT_TRY(db.exec("BEGIN IMMEDIATE"));
        return Transaction(&db, "");
    }
    std::string name = fmt::format("keysat_sp{}", ++db.m_savepoints);
    if (auto ok = db.exec("SAVEPOINT " + name); !ok) {
        --db.m_savepoints;
        return std::unexpected(ok.error());
    }
    return Transaction(&db, name);
}

Transaction::Transaction(Transaction&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_savepoint(std::move(other.m_savepoint)) {}

Transaction::~Transaction() {
    if (m_db == nullptr)
        return;
    if (m_savepoint.empty()) {
        (void)m_db->exec("ROLLBACK");
    } else {
        (void)m_db->exec(fmt::format("ROLLBACK TO {0}; RELEASE {0}", m_savepoint));
        --m_db->m_savepoints;
    }
}

Expected<void> Transaction::commit() {
    if (m_savepoint.empty()) {
        KEYSAT_TRY(m_db->exec("COMMIT"));
        g_last_commit = ticks();
    } else {
        KEYSAT_TRY(m_db->exec("RELEASE " + m_savepoint));
        --m_db->m_savepoints;
    }
    m_db = nullptr;
    return {};
}

} // namespace keysat::db
