#pragma once
// keysat-serve: the licensing API and admin API over one SQLite file.

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "keysat/util/clock.hpp"
#include "keysat/util/error.hpp"

namespace keysat::cli {

struct ServeOptions {
    std::string config_file;
    std::string bind;
    std::string data_dir;
    std::string db;
    std::string log_format;
    bool migrate = false;
    bool set_admin_password = false; // set the console password and exit
    std::string password_file;
};

// Builds the command line of keysat-serve into `opts` (also used to generate docs).
std::unique_ptr<CLI::App> make_serve_app(ServeOptions& opts);

} // namespace keysat::cli

namespace keysat::api {
struct App;
}

namespace keysat::cli {

// A keysat-serve built from its options (configuration file, environment, flags), its database
// prepared and its port bound, not yet serving: what the program runs, and what tests run in
// the same process with a clock they move.
class Serving {
  public:
    // `clock` must outlive the result.
    static Expected<std::unique_ptr<Serving>> open(const ServeOptions& options, const Clock& clock);
    ~Serving();
    Serving(const Serving&) = delete;
    Serving& operator=(const Serving&) = delete;

    int port() const;
    int metrics_port() const;    // 0 without metrics_bind
    std::string address() const; // http://host:port
    const api::App& app() const;
    // Serves until stop() (which returns at once and may be called from any thread; it does
    // nothing before run() has started).
    void run();
    void stop();
    // Whether run() has returned.
    bool finished() const;
    // Re-reads the release gate's revocation list (SIGHUP).
    void reload_revocations();

  private:
    struct Parts;
    explicit Serving(std::unique_ptr<Parts> parts);
    std::unique_ptr<Parts> m_parts;
};

// The whole program.
int serve_main(int argc, char** argv);

} // namespace keysat::cli
