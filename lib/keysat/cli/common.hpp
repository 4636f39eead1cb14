#pragma once
// What every keysat program's command line shares: the top-level error handler, exit codes,
// input arguments that may be "-" or a file, and version text.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "keysat/util/error.hpp"
#include "keysat/util/uuid.hpp"

namespace keysat::cli {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_invalid = 1;
inline constexpr int k_exit_usage = 2;

// Parses argv into `app` and runs `body`; the one place that turns errors and exceptions into a
// message on stderr and an exit code. --help and --version exit 0; parse errors exit 2.
int run_program(CLI::App& app, int argc, char** argv, const std::function<Expected<int>()>& body);

// Reads an argument that is "-" (standard input), or text; when `maybe_file` and the argument
// names an existing regular file, the file's content. Trailing whitespace is kept.
Expected<std::string> read_argument(const std::string& arg, bool maybe_file);

// Reads a passphrase for an existing key: --passphrase-file, then KEYSAT_PASSPHRASE, then a
// no-echo prompt on the terminal; none available is a usage error.
Expected<std::string> read_passphrase(const std::string& passphrase_file, std::string_view prompt);

// A passphrase for a new key file: --passphrase-file, KEYSAT_PASSPHRASE, or typed twice on the
// terminal. `instead` names the option that writes the key without one (for the error).
Expected<std::string> new_passphrase(const std::string& passphrase_file, std::string_view instead);

// Parses a UUID argument, naming the option on error.
Expected<Uuid> parse_uuid_arg(std::string_view option, const std::string& value);

// "keysat X.Y.Z", what --version prints.
std::string version_text();

// Adds --version to an app.
void add_version_flag(CLI::App& app);

} // namespace keysat::cli
