#pragma once
// keysat-verify: offline checks of license keys, download tokens and signed files.

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace keysat::cli {

struct VerifyOptions {
    std::vector<std::string> pubkeys;
    bool json = false;
    std::string at;
    std::string input;      // KEY, TOKEN, SIGFILE or "-"
    std::string product_id; // license
    std::string fingerprint;
    std::string product; // token
    std::string revoked_file;
    std::string file; // file
    std::string sig_file;
};

// Builds the command line of keysat-verify into `opts` (also used to generate docs).
std::unique_ptr<CLI::App> make_verify_app(VerifyOptions& opts);

// The whole program.
int verify_main(int argc, char** argv);

} // namespace keysat::cli
