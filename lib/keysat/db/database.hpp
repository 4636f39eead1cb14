#pragma once
// SQLite behind RAII: connections, prepared statements, transactions, online backup. The only
// place that includes <sqlite3.h>.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keysat/util/bytes.hpp"
#include "keysat/util/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace keysat::db {

// The page cache of connections opened from now on, in MiB (32 unless set: the tools' bulk
// work; keysat-serve sets its db_cache_mib).
void set_cache_mib(int mib);
int cache_mib();

// Writes refused for want of space: SQLite's SQLITE_FULL, or a write that failed with ENOSPC,
// EDQUOT or EFBIG (a file size limit). Counted per thread, so that a request handler's caller can
// tell that the request's write failed for this reason and answer 503; and process-wide, with
// the time of the newest, so that /healthz can say writes are failing until one succeeds again.
std::uint64_t space_errors_in_this_thread();
// Counts a space error in this thread that another thread met on its behalf (a write handed to
// a background writer that failed for want of space).
void note_space_error();
// True when a write failed for want of space and no transaction has committed since.
bool writes_failing();

class Database;

// A prepared statement; `?` placeholders are bound by 1-based index. Reset before reuse.
class Statement {
  public:
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    ~Statement();

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, double value);
    Statement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, ByteView blob);
    Statement& bind(int index, std::nullopt_t);
    template <typename T> Statement& bind(int index, const std::optional<T>& v) {
        return v ? bind(index, *v) : bind(index, std::nullopt);
    }

    // Runs one step: true when a row is available, false when done.
    Expected<bool> step();
    // Runs to completion (for statements without rows).
    Expected<void> run();
    void reset();

    std::int64_t column_int(int index) const;
    double column_double(int index) const;
    std::string column_text(int index) const;
    Bytes column_blob(int index) const;
    bool column_is_null(int index) const;

  private:
    friend class Database;
    Statement(sqlite3* db, sqlite3_stmt* stmt, Database* cache)
        : m_db(db), m_stmt(stmt), m_cache(cache) {}
    sqlite3* m_db;
    sqlite3_stmt* m_stmt;
    Database* m_cache; // the statement goes back to this connection's cache when done
};

enum class OpenMode { read_write_create, read_write, read_only };

// One connection with the project's pragmas: WAL, synchronous=NORMAL, foreign_keys=ON and a
// busy timeout.
class Database {
  public:
    // Opens (or creates, with read_write_create) the file and checks that it is a SQLite
    // database. Creates the parent directory when creating.
    static Expected<Database> open(const std::filesystem::path& path, OpenMode mode);

    Database(Database&& other) noexcept;
    Database& operator=(Database&&) = delete;
    Database(const Database&) = delete;
    ~Database();

    // Prepares `sql`, or reuses a statement prepared earlier for the same text on this
    // connection (statements go back to the cache when destroyed). A Statement must not outlive
    // its Database.
    Expected<Statement> prepare(std::string_view sql);
    // Runs one or more statements without parameters.
    Expected<void> exec(std::string_view sql);
    // A single integer from a query (e.g. PRAGMA user_version).
    Expected<std::int64_t> query_int(std::string_view sql);
    // Rows of a single-column text query.
    Expected<std::vector<std::string>> query_texts(std::string_view sql);

    // Copies the whole database to `target` with the online backup API (safe while others
    // write); the copy is written to a temporary file and renamed into place.
    Expected<void> backup_to(const std::filesystem::path& target);

    // Calls `fn` after each transaction this connection commits has become visible to other
    // connections (SQLite's WAL hook; the automatic checkpoint it replaces is kept). For
    // caches that must forget what they read before a write of this process.
    void after_commit(std::function<void()> fn);

    // Attaches another SQLite file under `schema`, read-only (a file: URI with mode=ro, so not
    // even a hot journal or WAL of it is replayed into it), with untrusted schema functions off.
    Expected<void> attach_read_only(const std::filesystem::path& file, std::string_view schema);
    Expected<void> detach(std::string_view schema);

    std::int64_t changes() const;
    // True inside BEGIN ... COMMIT.
    bool in_transaction() const;
    const std::filesystem::path& path() const { return m_path; }
    bool read_only() const { return m_read_only; }
    // True when the connection runs in WAL mode (some file systems refuse it); after_commit's
    // hook only fires in WAL mode.
    bool wal() const { return m_wal; }
    // The message of the last error on this connection.
    std::string last_error() const;

  private:
    friend class Transaction;
    Database(sqlite3* db, std::filesystem::path path, bool read_only)
        : m_db(db), m_path(std::move(path)), m_read_only(read_only) {}
    sqlite3* m_db;
    std::filesystem::path m_path;
    int m_savepoints = 0; // nesting depth of Transaction savepoints
    bool m_read_only;
    bool m_wal = false;
    friend class Statement;
    std::unordered_map<std::string, std::vector<sqlite3_stmt*>> m_statement_cache;
    std::unique_ptr<std::function<void()>> m_after_commit; // heap: its address outlives moves
};

// BEGIN IMMEDIATE on construction, or a savepoint when a transaction is already open (so that
// repository operations compose); rolls back on destruction unless committed.
class Transaction {
  public:
    static Expected<Transaction> begin(Database& db);
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();
    Expected<void> commit();

  private:
    Transaction(Database* db, std::string savepoint)
        : m_db(db), m_savepoint(std::move(savepoint)) {}
    Database* m_db;
    std::string m_savepoint; // empty: the outermost transaction
};

} // namespace keysat::db
