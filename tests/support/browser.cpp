#include "support/browser.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "support/support.hpp"

namespace keysat::test {

namespace fs = std::filesystem;

namespace {

fs::path browser_dir() {
    return fs::path(KEYSAT_SOURCE_DIR) / "tests" / "browser";
}

// Waits up to `limit` for `pid` to end: true (and its wait status in `status`) when it did.
bool wait_for(pid_t pid, std::chrono::milliseconds limit, int& status) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

} // namespace

fs::path chromium_path() {
    const char* env = std::getenv("KEYSAT_CHROMIUM");
    return env != nullptr && *env != '\0' ? fs::path(env) : fs::path("/usr/bin/chromium");
}

std::string browser_missing() {
    std::string missing;
    std::error_code ec;
    if (!fs::exists(chromium_path(), ec))
        missing += "no Chromium at " + chromium_path().string() + "; ";
    if (!have_program("node"))
        missing += "no node on PATH; ";
    if (!fs::exists(browser_dir() / "node_modules" / "playwright-core" / "package.json", ec))
        missing += "no " + (browser_dir() / "node_modules" / "playwright-core").string() + "; ";
    if (missing.empty())
        return missing;
    return missing + "run scripts/setup.sh (it installs Debian's chromium package and runs npm ci "
                     "in tests/browser), see tests/browser/README.md";
}

bool browser_available() {
    return browser_missing().empty();
}

BrowserRun run_browser_script(const std::string& script_name, const std::vector<std::string>& args,
                              std::chrono::seconds timeout) {
    TempDir io;
    fs::path out_path = io / "stdout", err_path = io / "stderr";
    std::vector<std::string> argv{"node", (browser_dir() / script_name).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    std::string script_timeout = std::to_string(ms > 20000 ? ms - 10000 : ms / 2);
    // A timeout the caller set in the environment wins over the one derived from `timeout`.
    std::vector<std::string> env;
    if (std::getenv("KEYSAT_BROWSER_TIMEOUT_MS") == nullptr)
        env.push_back("KEYSAT_BROWSER_TIMEOUT_MS=" + script_timeout);
    Exec program(std::move(argv), env);

    pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        // Its own session and so its own process group, which a timeout ends whole.
        ::setsid();
        int null = ::open("/dev/null", O_RDONLY);
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(null, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        program.replace_process();
    }
    BrowserRun r;
    int status = 0;
    bool timed_out = !wait_for(pid, timeout, status);
    if (timed_out) {
        // SIGTERM first: playwright then closes the browsers it started (each in a process
        // group of its own, which a SIGKILL to node's group would leave running).
        ::kill(-pid, SIGTERM);
        if (!wait_for(pid, std::chrono::seconds(5), status)) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
        }
        r.exit_code = 124;
    } else {
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    if (timed_out)
        r.err += "\n" + script_name + " ran past " + std::to_string(timeout.count()) +
                 " s and was stopped\n";
    return r;
}

fs::path browser_output_dir(const std::string& test_name) {
    std::string name = test_name;
    for (char& c : name) {
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
        if (!keep)
            c = '_';
    }
    if (name.empty() || name == "." || name == "..")
        throw std::invalid_argument("browser_output_dir: unusable test name '" + test_name + "'");
    fs::path dir = fs::current_path() / "browser-output" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

} // namespace keysat::test
