#include <catch2/catch.hpp>

#include "keysat/db/database.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

TEST_CASE("transactions nest as savepoints, inner rollbacks keep outer work", "[db]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    auto count = [&] { return *db.query_int("SELECT count(*) FROM settings"); };
    auto put = [&](const char* key) {
        auto s = db.prepare("INSERT INTO settings (key, value, updated_at) VALUES (?, 'v', 1)");
        REQUIRE(s);
        s->bind(1, key);
        REQUIRE(s->run());
    };
    {
        auto outer = db::Transaction::begin(db);
        REQUIRE(outer);
        put("a");
        {
            auto inner = db::Transaction::begin(db);
            REQUIRE(inner);
            put("b");
            // dropped without commit: rolls back to the savepoint only
        }
        {
            auto inner = db::Transaction::begin(db);
            put("c");
            REQUIRE(inner->commit());
        }
        CHECK(db.in_transaction());
        REQUIRE(outer->commit());
    }
    CHECK_FALSE(db.in_transaction());
    CHECK(*db.query_texts("SELECT key FROM settings ORDER BY key") ==
          std::vector<std::string>{"a", "c"});
    {
        auto outer = db::Transaction::begin(db);
        put("d");
        auto inner = db::Transaction::begin(db);
        put("e");
        REQUIRE(inner->commit());
        // outer dropped: everything since its BEGIN is gone
    }
    CHECK(count() == 2);
}
