#pragma once
// Test helpers: a temporary directory, fixture paths, running the built programs.

#include <filesystem>
#include <string>
#include <vector>

#include "keysat/util/bytes.hpp"

namespace keysat::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }
    std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

  private:
    std::filesystem::path m_path;
};

// tests/fixtures/<relative>: copies of files made by outside systems
std::filesystem::path fixture(const std::string& relative);
// The whole content of a file (throws on failure: tests only).
std::string slurp(const std::filesystem::path& path);
void spit(const std::filesystem::path& path, const std::string& content);
// Bytes from hex (throws on bad input: tests only).
Bytes unhex(const std::string& hex);

struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// A program with its arguments and environment, made ready before fork(). In a process with
// threads (a stand-in's server, a worker pool) the child may only make async-signal-safe calls
// until it execs: building a string or calling putenv allocates, and an allocator lock another
// thread held at the fork stays held in the child, which then hangs before it starts.
class Exec {
  public:
    // `env` is added to this process's environment, replacing variables of the same name;
    // argv[0] without a '/' is looked up on PATH.
    explicit Exec(std::vector<std::string> argv, const std::vector<std::string>& env = {});
    Exec(const Exec&) = delete;
    Exec& operator=(const Exec&) = delete;
    // In the child: execve, or _exit(127). Async-signal-safe.
    [[noreturn]] void replace_process() const;

  private:
    std::string m_path;
    std::vector<std::string> m_args, m_env;
    std::vector<char*> m_argv, m_envp;
};

// Runs a program in a new session (so it has no controlling terminal), with `input` on stdin and
// `env` added to the environment. Arguments are passed as they are, no shell.
RunResult run(const std::vector<std::string>& argv, const std::string& input = "",
              const std::vector<std::string>& env = {});

// Paths of the built programs.
std::string issue_bin();
std::string verify_bin();
std::string migrate_bin();
std::string docgen_bin();
std::string source_dir();

// True when a program is on PATH.
bool have_program(const std::string& name);

} // namespace keysat::test
