#pragma once
// Runs the Node scripts in tests/browser/, which drive a real headless Chromium through
// playwright-core (tests/browser/README.md). scripts/setup.sh installs both: Debian's chromium
// package and, with npm ci from the committed lock, tests/browser/node_modules.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace keysat::test {

// The Chromium the scripts launch: $KEYSAT_CHROMIUM, else /usr/bin/chromium.
std::filesystem::path chromium_path();

// What is missing to run the browser scripts and how to install it; empty when nothing is.
std::string browser_missing();
// True when Chromium, node and tests/browser/node_modules/playwright-core are there.
bool browser_available();

struct BrowserRun {
    int exit_code = -1; // 128 + signal when killed; 124 when it ran past its timeout
    std::string out;
    std::string err;
};

// Runs `node <source>/tests/browser/<script_name> args...` (no shell) in its own process group,
// stdin from /dev/null, and returns its exit code, stdout and stderr. Past `timeout` the group
// gets SIGTERM, then SIGKILL, and the result is exit code 124. Unless the environment sets
// KEYSAT_BROWSER_TIMEOUT_MS, the script is told to give up 10 s before that (at half of it for 20 s
// or less), so that it closes its browser itself.
BrowserRun run_browser_script(const std::string& script_name, const std::vector<std::string>& args,
                              std::chrono::seconds timeout = std::chrono::seconds(90));

// <current directory>/browser-output/<test_name> (ctest runs in the build tree), emptied and
// created: where a test's screenshots go. Characters other than letters, digits, '.', '_' and
// '-' in `test_name` become '_'.
std::filesystem::path browser_output_dir(const std::string& test_name);

} // namespace keysat::test
