#pragma once
// keysat-serve: the licensing API and admin API over one SQLite file.

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace keysat::cli {

struct ServeOptions {
    std::string config_file;
    std::string bind;
    std::string data_dir;
    std::string db;
    std::string log_format;
    bool migrate = false;
};

// Builds the command line of keysat-serve into `opts` (also used to generate docs).
std::unique_ptr<CLI::App> make_serve_app(ServeOptions& opts);

// The whole program.
int serve_main(int argc, char** argv);

} // namespace keysat::cli
