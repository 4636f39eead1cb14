#include "keysat/cli/common.hpp"

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "keysat/crypto/secure.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/file.hpp"
#include "keysat/util/terminal.hpp"

namespace keysat::cli {

int run_program(CLI::App& app, int argc, char** argv, const std::function<Expected<int>()>& body) {
    // `tool --version` without CLI11's exception: the first exception a static program throws
    // sorts its whole unwind table, which would make keysat-verify --version slow.
    if (argc == 2 && std::string_view(argv[1]) == "--version") {
        std::cout << version_text() << '\n';
        return k_exit_ok;
    }
    try {
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp& e) {
            return app.exit(e) == 0 ? k_exit_ok : k_exit_usage;
        } catch (const CLI::CallForAllHelp& e) {
            return app.exit(e) == 0 ? k_exit_ok : k_exit_usage;
        } catch (const CLI::CallForVersion& e) {
            app.exit(e);
            return k_exit_ok;
        } catch (const CLI::ParseError& e) {
            app.exit(e);
            return k_exit_usage;
        }
        auto result = body();
        if (result)
            return *result;
        std::cerr << app.get_name() << ": " << result.error().message << '\n';
        return static_cast<int>(result.error().code);
    } catch (const std::bad_alloc&) {
        std::cerr << app.get_name() << ": out of memory\n";
    } catch (const std::exception& e) {
        std::cerr << app.get_name() << ": " << e.what() << '\n';
    }
    return k_exit_usage;
}

Expected<std::string> read_argument(const std::string& arg, bool maybe_file) {
    if (arg == "-")
        return read_stdin(16 << 20);
    std::error_code ec;
    if (maybe_file && std::filesystem::is_regular_file(arg, ec))
        return read_small_file(arg, 16 << 20);
    return arg;
}

Expected<std::string> read_passphrase(const std::string& passphrase_file, std::string_view prompt) {
    if (!passphrase_file.empty()) {
        KEYSAT_TRY_ASSIGN(text, read_small_file(passphrase_file, 4096));
        // The first line only, without its newline, as minisign reads a passphrase.
        auto nl = text.find_first_of("\r\n");
        std::string pass = text.substr(0, nl);
        crypto::wipe(text.data(), text.size());
        return pass;
    }
    if (const char* env = std::getenv("KEYSAT_PASSPHRASE"))
        return std::string(env);
    if (auto typed = prompt_passphrase(prompt))
        return std::move(*typed);
    return usage_error("the key is encrypted and no passphrase is available (use "
                       "--passphrase-file, KEYSAT_PASSPHRASE, or run on a terminal)");
}

Expected<std::string> new_passphrase(const std::string& passphrase_file, std::string_view instead) {
    if (!passphrase_file.empty() || std::getenv("KEYSAT_PASSPHRASE") != nullptr)
        return read_passphrase(passphrase_file, "");
    auto first = prompt_passphrase("Passphrase for the new key: ");
    if (!first)
        return usage_error(fmt::format("no passphrase available for the new key (use "
                                       "--passphrase-file, KEYSAT_PASSPHRASE, a terminal, or {})",
                                       instead));
    auto again = prompt_passphrase("Passphrase again: ");
    if (!again || *again != *first)
        return usage_error("the passphrases do not match; nothing was written");
    return std::move(*first);
}

Expected<Uuid> parse_uuid_arg(std::string_view option, const std::string& value) {
    if (auto u = Uuid::parse(value))
        return *u;
    return usage_error(fmt::format("{}: '{}' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                                   option, value));
}

std::string version_text() {
    return std::string("keysat ") + KEYSAT_VERSION;
}

void add_version_flag(CLI::App& app) {
    app.set_version_flag("--version", version_text());
}

} // namespace keysat::cli
