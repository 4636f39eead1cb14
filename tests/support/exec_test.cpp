// test::Exec, which every test that starts a program goes through: the environment it gives the
// child, the PATH it searches, and starting children while other threads allocate.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include "support/support.hpp"

using namespace keysat;

TEST_CASE("a child gets this environment with the given variables added or replaced", "[support]") {
    ::setenv("KEYSAT_EXEC_KEPT", "kept", 1);
    ::setenv("KEYSAT_EXEC_REPLACED", "old", 1);
    auto r = test::run({"sh", "-c",
                        "printf '%s|%s|%s' \"$KEYSAT_EXEC_KEPT\" "
                        "\"$KEYSAT_EXEC_REPLACED\" \"$KEYSAT_EXEC_ADDED\""},
                       "", {"KEYSAT_EXEC_REPLACED=new", "KEYSAT_EXEC_ADDED=added"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "kept|new|added");
    // This process's own environment is left as it was.
    CHECK(std::string(std::getenv("KEYSAT_EXEC_REPLACED")) == "old");
    CHECK(std::getenv("KEYSAT_EXEC_ADDED") == nullptr);
    ::unsetenv("KEYSAT_EXEC_KEPT");
    ::unsetenv("KEYSAT_EXEC_REPLACED");
}

TEST_CASE("a program name without a slash is found on the child's PATH, else exit code 127",
          "[support]") {
    test::TempDir dir;
    test::spit(dir / "keysat-exec-probe", "#!/bin/sh\necho found \"$1\"\n");
    ::chmod((dir / "keysat-exec-probe").c_str(), 0755);
    auto found =
        test::run({"keysat-exec-probe", "it"}, "", {"PATH=/nonexistent:" + dir.path().string()});
    CHECK(found.exit_code == 0);
    CHECK(found.out == "found it\n");
    CHECK(test::run({"keysat-exec-probe"}).exit_code == 127); // not on this process's PATH
    CHECK(test::run({(dir / "no-such-program").string()}).exit_code == 127);
}

TEST_CASE("children start while other threads allocate", "[support]") {
    // Between fork and exec a child must not allocate: a lock another thread held at the fork
    // stays held in the child. Threads that allocate all the time make that lock likely held.
    // (glibc's malloc takes its own locks across fork; the hang on record was under ASan, so
    // this case bites in the sanitizer run.)
    std::atomic<bool> stop{false};
    std::vector<std::thread> busy;
    for (int t = 0; t < 3; ++t)
        busy.emplace_back([&stop] {
            while (!stop.load(std::memory_order_relaxed)) {
                std::vector<std::unique_ptr<std::string>> v;
                for (int i = 0; i < 64; ++i)
                    v.push_back(std::make_unique<std::string>(100 + i, 'x'));
            }
        });
    int ok = 0;
    for (int i = 0; i < 100; ++i)
        ok += test::run({"true"}, "", {"KEYSAT_EXEC_N=" + std::to_string(i)}).exit_code == 0;
    stop = true;
    for (auto& t : busy)
        t.join();
    CHECK(ok == 100);
}
