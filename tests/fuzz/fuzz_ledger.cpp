// Ledger imports (service/ledger.cpp import_ledger, the reader of the JSON lines that
// issuing/ledger.cpp writes), into a real database at the latest schema.
//
// Each input is imported inside an outer transaction that is rolled back afterwards, so every
// run starts from the same database: the seeds' product with a small entitlements catalog.
// Properties: every non-blank line is counted once and ends up inserted, unchanged or a problem;
// problems come in line order; with KeepGoing::no and a problem, nothing stays imported.

#include <algorithm>
#include <filesystem>
#include <unistd.h>

#include "fuzz_support.hpp"
#include "keysat/db/migrations.hpp"
#include "keysat/service/ledger.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/util/encoding.hpp"

using namespace keysat;

namespace {

db::Database& database() {
    static db::Database db = [] {
        char dir[] = "/tmp/keysat-fuzz-ledger-XXXXXX";
        if (::mkdtemp(dir) == nullptr)
            std::abort();
        auto d = db::Database::open(std::filesystem::path(dir) / "keysat.db",
                                    db::OpenMode::read_write_create);
        if (!d || !db::migrate_up(*d, {0, false, false, 1}))
            std::abort();
        // The seeds' product, with an entitlements catalog that lists some of their slugs.
        store::ProductRow p;
        p.id = "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0";
        p.slug = "app";
        p.name = "App";
        p.entitlements_json = R"([{"slug":"pro","name":"Pro"},{"slug":"x","name":"X"},)"
                              R"({"slug":"multi-device","name":"Multi-device"}])";
        if (!store::CatalogStore(*d).create_product(p))
            std::abort();
        return std::move(*d);
    }();
    return db;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    std::size_t records = 0;
    for (std::string_view rest = text; !rest.empty();) {
        auto nl = rest.find('\n');
        if (!trim(rest.substr(0, nl)).empty())
            ++records;
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    }
    db::Database& db = database();
    auto keep_going = size % 2 == 0 ? service::KeepGoing::yes : service::KeepGoing::no;
    {
        auto outer = db::Transaction::begin(db);
        FUZZ_CHECK(outer);
        auto report = service::import_ledger(db, text, fuzz::ring(), keep_going, fuzz::k_now);
        FUZZ_CHECK(report);
        FUZZ_CHECK(report->records == records);
        FUZZ_CHECK(report->inserted + report->unchanged + report->problem_count == report->records);
        FUZZ_CHECK(report->problems.size() ==
                   std::min(report->problem_count, service::ImportReport::k_max_problems));
        for (std::size_t i = 0; i < report->problems.size(); ++i) {
            FUZZ_CHECK(!report->problems[i].message.empty());
            FUZZ_CHECK(i == 0 || report->problems[i - 1].line <= report->problems[i].line);
        }
        auto imports = db.query_int("SELECT count(*) FROM ledger_imports");
        FUZZ_CHECK(imports);
        if (keep_going == service::KeepGoing::no && report->problem_count != 0) {
            FUZZ_CHECK(*imports == 0);
            FUZZ_CHECK(*db.query_int("SELECT count(*) FROM licenses") == 0);
        } else {
            FUZZ_CHECK(*imports == 1);
            FUZZ_CHECK(*db.query_int("SELECT count(*) FROM licenses") ==
                       static_cast<std::int64_t>(report->inserted));
        }
    } // rolled back: the next input starts from an empty database
    return 0;
}
