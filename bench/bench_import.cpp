// Switching from Keysat at scale. `make N FILE` writes a Keysat 0.2.x database (schema 25, the
// test fixture's rows plus N perpetual licenses with two machines each); `copy FILE OUT` copies
// its licenses and machines tables into a new file as they are, in one transaction: the floor
// any import of those rows pays in SQLite, before mapping and signing. The import itself is
// `keysat-migrate import-keysat` (bench/run_import.sh).
// Usage: bench_import make N FILE | bench_import copy FILE OUT

#include <cstdio>
#include <cstdlib>
#include <string>

#include "import/keysat_fixture.hpp"
#include "keysat/db/database.hpp"
#include "keysat/util/clock.hpp"

int main(int argc, char** argv) {
    using namespace keysat;
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "make" && argc == 4) {
        test::KeysatFixtureOptions o;
        o.now = SystemClock().now();
        o.extra_licenses = std::strtoll(argv[2], nullptr, 10);
        test::make_keysat_fixture(argv[3], o);
        return 0;
    }
    if (mode == "copy" && argc == 4) {
        auto db = db::Database::open(argv[3], db::OpenMode::read_write_create);
        if (!db)
            return std::fprintf(stderr, "%s\n", db.error().message.c_str()), 2;
        auto attach = db->prepare("ATTACH DATABASE ? AS k");
        if (!attach || !attach->bind(1, std::string(argv[2])).run())
            return std::fprintf(stderr, "attach failed\n"), 2;
        auto done = db->exec("BEGIN; CREATE TABLE licenses AS SELECT id, product_id, status, "
                             "issued_at, entitlements_json, max_machines FROM k.licenses; "
                             "CREATE UNIQUE INDEX licenses_id ON licenses (id); CREATE TABLE "
                             "machines AS SELECT id, license_id, fingerprint, fingerprint_hash, "
                             "activated_at FROM k.machines; CREATE UNIQUE INDEX machines_id ON "
                             "machines (id); COMMIT");
        if (!done)
            return std::fprintf(stderr, "%s\n", done.error().message.c_str()), 2;
        return 0;
    }
    std::fprintf(stderr, "usage: bench_import make N FILE | bench_import copy FILE OUT\n");
    return 2;
}
