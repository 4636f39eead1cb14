#include "support/support.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include "keysat/util/encoding.hpp"

namespace keysat::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "keysat-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

fs::path fixture(const std::string& relative) {
    return fs::path(KEYSAT_SOURCE_DIR) / "tests" / "fixtures" / relative;
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void spit(const fs::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

Bytes unhex(const std::string& hex) {
    auto b = hex_decode(hex);
    if (!b)
        throw std::runtime_error("bad hex in test: " + hex);
    return *b;
}

Exec::Exec(std::vector<std::string> argv, const std::vector<std::string>& env)
    : m_args(std::move(argv)) {
    if (m_args.empty())
        throw std::invalid_argument("Exec: no program");
    auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=') + 1); };
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        bool replaced = false;
        for (const auto& added : env)
            replaced = replaced || name_of(added) == name_of(entry);
        if (!replaced)
            m_env.push_back(std::move(entry));
    }
    m_env.insert(m_env.end(), env.begin(), env.end());
    m_path = m_args[0];
    if (m_path.find('/') == std::string::npos) {
        // The child's PATH (which `env` may set), as execvp would search it.
        std::string path = "/usr/bin:/bin";
        for (const auto& e : m_env)
            if (e.rfind("PATH=", 0) == 0)
                path = e.substr(5);
        std::istringstream dirs(path);
        for (std::string dir; std::getline(dirs, dir, ':');) {
            std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + m_args[0];
            if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) {
                m_path = candidate;
                break;
            }
        }
    }
    for (auto& a : m_args)
        m_argv.push_back(a.data());
    m_argv.push_back(nullptr);
    for (auto& e : m_env)
        m_envp.push_back(e.data());
    m_envp.push_back(nullptr);
}

void Exec::replace_process() const {
    ::execve(m_path.c_str(), m_argv.data(), m_envp.data());
    ::_exit(127);
}

RunResult run(const std::vector<std::string>& argv, const std::string& input,
              const std::vector<std::string>& env) {
    TempDir io;
    fs::path in_path = io / "stdin", out_path = io / "stdout", err_path = io / "stderr";
    spit(in_path, input);
    Exec program(argv, env);
    pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::setsid();
        int in = ::open(in_path.c_str(), O_RDONLY);
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        program.replace_process();
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

std::string issue_bin() {
    return KEYSAT_ISSUE_BIN;
}
std::string migrate_bin() {
    return KEYSAT_MIGRATE_BIN;
}
std::string verify_bin() {
    return KEYSAT_VERIFY_BIN;
}
std::string docgen_bin() {
    return KEYSAT_DOCGEN_BIN;
}
std::string source_dir() {
    return KEYSAT_SOURCE_DIR;
}

bool have_program(const std::string& name) {
    return run({"sh", "-c", "command -v " + name}).exit_code == 0;
}

} // namespace keysat::test
