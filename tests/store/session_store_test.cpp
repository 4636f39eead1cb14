#include <catch2/catch.hpp>

#include "keysat/store/session_store.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

namespace {

store::SessionRow session(const std::string& hash_char, const std::string& kind,
                          const std::string& id, std::int64_t at) {
    store::SessionRow s;
    s.id_sha256 = std::string(64, hash_char[0]);
    s.actor_kind = kind;
    s.actor_id = id;
    s.csrf_token = "csrf-" + hash_char;
    s.created_at = at;
    s.last_seen_at = at;
    s.expires_at = at + 12 * 3600;
    s.ip = "192.0.2.1";
    return s;
}

} // namespace

TEST_CASE("console sessions: used while fresh, ended when idle, past their end, signed out, "
          "or their actor's are removed",
          "[store][console]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    store::SessionStore sessions(db);
    const std::int64_t idle = 1800, t = 1'000'000;
    REQUIRE(sessions.create(session("a", "master", "master", t)));
    REQUIRE(sessions.create(session("b", "master", "master", t)));
    REQUIRE(sessions.create(session("c", "api_key", "key-1", t)));
    REQUIRE(sessions.create(session("d", "api_key", "key-2", t)));
    // The same id twice, a malformed hash or an unknown actor kind are refused by the schema.
    CHECK_FALSE(sessions.create(session("a", "master", "master", t)));
    auto bad = session("e", "master", "master", t);
    bad.id_sha256 = "short";
    CHECK_FALSE(sessions.create(bad));
    CHECK_FALSE(sessions.create(session("f", "operator", "x", t)));

    // Each use moves the idle window.
    auto a = std::string(64, 'a');
    auto used = sessions.use(a, t + idle - 1, idle);
    REQUIRE(used);
    REQUIRE(*used);
    CHECK((*used)->csrf_token == "csrf-a");
    CHECK((*used)->ip == "192.0.2.1");
    CHECK_FALSE((*used)->user_agent);
    CHECK(*sessions.use(a, t + 2 * idle - 2, idle));
    // A use within a minute of the last touch does not write; the window still runs from it.
    CHECK(*sessions.use(a, t + 2 * idle + 30, idle));
    CHECK(*db.query_int("SELECT last_seen_at FROM console_sessions WHERE id_sha256 = '" + a +
                        "'") == t + 2 * idle - 2);
    // Idle for the whole window: gone, and stays gone.
    CHECK_FALSE(*sessions.use(a, t + 3 * idle - 2, idle));
    CHECK_FALSE(*sessions.use(a, t + 3 * idle - 3, idle));
    // Never past its absolute end, however busy.
    auto c = std::string(64, 'c');
    for (std::int64_t at = t; at < t + 12 * 3600; at += idle / 2)
        REQUIRE(*sessions.use(c, at, idle));
    CHECK_FALSE(*sessions.use(c, t + 12 * 3600, idle));
    CHECK_FALSE(*sessions.use(std::string(64, 'z'), t, idle));

    // Sign-out, a password change (every master session) and a revoked key (its own).
    REQUIRE(sessions.create(session("g", "master", "master", t)));
    CHECK(*sessions.remove(std::string(64, 'g')));
    CHECK_FALSE(*sessions.remove(std::string(64, 'g')));
    REQUIRE(sessions.create(session("h", "api_key", "key-2", t)));
    CHECK(*sessions.remove_for("api_key", "key-2") == 2);
    CHECK(*sessions.use(std::string(64, 'b'), t + 10, idle));
    CHECK(*sessions.remove_for("master", "master") == 1);
    CHECK_FALSE(*sessions.use(std::string(64, 'b'), t + 11, idle));

    // The periodic sweep takes what is idle or past its end, and nothing else.
    REQUIRE(sessions.create(session("i", "master", "master", t)));
    REQUIRE(sessions.create(session("j", "master", "master", t + idle)));
    CHECK(*sessions.remove_stale(t + idle, idle) == 1);
    CHECK(*sessions.use(std::string(64, 'j'), t + idle + 1, idle));
}
