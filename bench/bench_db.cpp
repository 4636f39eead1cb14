// Database baselines for bench/run_db.sh.
//   bench_db plain N FILE   creates FILE at the latest schema and inserts N license rows of the
//                           size keysat-issue bulk --db writes, 4,096 per transaction, with
//                           plain prepared statements (no signing). Prints "plain_rows_per_s X".
//   bench_db plain-seq N FILE  the same with ids and keys in insertion order (B-tree appends):
//                           the friendliest case SQLite has, for scale.
//   bench_db make-v1 N FILE creates FILE at schema version 1 holding N licenses (for timing
//                           `keysat-migrate up` from the first version).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "keysat/db/migrations.hpp"

namespace {

using namespace keysat;

constexpr std::size_t k_batch = 4096;
// A real LIC1 key with two entitlements is 269 characters.
const std::string k_key_body(264, 'A');

int fail(const Error& e) {
    std::fprintf(stderr, "bench_db: %s\n", e.message.c_str());
    return 2;
}

Expected<void> insert_rows(db::Database& db, std::size_t n, bool with_id_key, bool sequential) {
    std::mt19937_64 random(42);
    std::uint64_t counter = 0;
    auto rng = [&] { return sequential ? counter++ : random(); };
    KEYSAT_TRY(db.exec("INSERT INTO signing_keys (key_id, public_key, created_at) VALUES "
                       "('0011223344556677', zeroblob(32), 1)"));
    std::string sql = "INSERT INTO licenses (id, product_id, buyer_email, issued_at, expires_at, "
                      "entitlements, license_key, signing_key_id, created_at, updated_at";
    sql += with_id_key ? ", id_key, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'issue')"
                       : ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    KEYSAT_TRY_ASSIGN(stmt, db.prepare(sql));
    for (std::size_t start = 0; start < n; start += k_batch) {
        KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(db));
        for (std::size_t i = start; i < std::min(n, start + k_batch); ++i) {
            stmt.reset();
            // Ids and keys as random as real UUIDs and signatures: B-tree inserts land all
            // over the indexes, as they do for keysat-issue.
            std::uint64_t a = rng(), b = rng();
            stmt.bind(1, fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", a >> 32, a & 0xffff,
                                     (a >> 16) & 0xfff, b >> 52, b & 0xffffffffffff))
                .bind(2, "6f1c2a0e-8d4b-4f5e-9a7c-3b2d1e0f4a5b")
                .bind(3, fmt::format("user{}@example.com", i))
                .bind(4, std::int64_t{1700000000})
                .bind(5, std::int64_t{1700000000 + 30 * 86400})
                .bind(6, R"(["pro","multi-device"])")
                .bind(7, fmt::format("LIC1-{:016X}{:016X}{}", rng(), rng(),
                                     std::string_view(k_key_body).substr(32)))
                .bind(8, "0011223344556677")
                .bind(9, std::int64_t{1700000000})
                .bind(10, std::int64_t{1700000000});
            if (with_id_key)
                stmt.bind(11, fmt::format("6f1c2a0e-8d4b-4f5e-9a7c-3b2d1e0f4a5b,user{}@example.com,"
                                          "30,pro;multi-device",
                                          i));
            KEYSAT_TRY(stmt.run());
        }
        KEYSAT_TRY(tx.commit());
    }
    return {};
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: bench_db plain|make-v1 N FILE\n");
        return 2;
    }
    std::string mode = argv[1];
    std::size_t n = std::strtoull(argv[2], nullptr, 10);
    auto db = db::Database::open(argv[3], db::OpenMode::read_write_create);
    if (!db)
        return fail(db.error());
    bool v1 = mode == "make-v1";
    if (auto up = db::migrate_up(*db, {v1 ? 1 : 0, false, false, 1700000000}); !up)
        return fail(up.error());
    auto t0 = std::chrono::steady_clock::now();
    if (auto ok = insert_rows(*db, n, !v1, mode == "plain-seq" || v1); !ok)
        return fail(ok.error());
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (mode != "make-v1")
        std::printf("plain_rows_per_s %.1f\n", n / s);
    else
        std::printf("made %zu licenses at version 1 in %.2f s\n", n, s);
    return 0;
}
