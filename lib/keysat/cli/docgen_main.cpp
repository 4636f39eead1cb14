// keysat-docgen: writes man/<tool>.1 (from man/<tool>.1.in plus generated sections) and
// completions/ for every tool, or with --check lists the files that are out of date.

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "keysat/cli/docgen.hpp"
#include "keysat/cli/issue_cli.hpp"
#include "keysat/cli/migrate_cli.hpp"
#include "keysat/cli/serve_cli.hpp"
#include "keysat/cli/verify_cli.hpp"
#include "keysat/util/file.hpp"

namespace keysat::cli {

namespace {
constexpr std::string_view k_marker = "@GENERATED@\n";

struct Output {
    std::filesystem::path path;
    std::string content;
};

Expected<std::vector<Output>> outputs_for(const std::filesystem::path& root, const CLI::App& app) {
    const std::string& name = app.get_name();
    KEYSAT_TRY_ASSIGN(tmpl, read_small_file(root / "man" / (name + ".1.in")));
    auto at = tmpl.find(k_marker);
    if (at == std::string::npos)
        return usage_error("man/" + name + ".1.in has no @GENERATED@ line");
    tmpl.replace(at, k_marker.size(), man_generated_sections(app));
    return std::vector<Output>{
        {root / "man" / (name + ".1"), tmpl},
        {root / "completions" / (name + ".bash"), bash_completion(app)},
        {root / "completions" / ("_" + name), zsh_completion(app)},
        {root / "completions" / (name + ".fish"), fish_completion(app)},
    };
}
} // namespace

int docgen_main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    bool check = !args.empty() && args[0] == "--check";
    if (check)
        args.erase(args.begin());
    if (args.size() != 1) {
        std::cerr << "usage: keysat-docgen [--check] SOURCE_DIR\n";
        return 2;
    }
    IssueOptions issue_opts;
    VerifyOptions verify_opts;
    MigrateOptions migrate_opts;
    ServeOptions serve_opts;
    auto issue = make_issue_app(issue_opts);
    auto verify = make_verify_app(verify_opts);
    auto migrate = make_migrate_app(migrate_opts);
    auto serve = make_serve_app(serve_opts);
    int stale = 0;
    for (const CLI::App* app : {issue.get(), verify.get(), migrate.get(), serve.get()}) {
        auto outs = outputs_for(args[0], *app);
        if (!outs) {
            std::cerr << "keysat-docgen: " << outs.error().message << '\n';
            return 2;
        }
        for (const auto& out : *outs) {
            auto current = read_small_file(out.path);
            if (current && *current == out.content)
                continue;
            if (check) {
                std::cerr << "out of date: " << out.path.string() << '\n';
                ++stale;
                continue;
            }
            if (auto ok = write_file_atomic(out.path, out.content); !ok) {
                std::cerr << "keysat-docgen: " << ok.error().message << '\n';
                return 2;
            }
            std::cerr << "wrote " << out.path.string() << '\n';
        }
    }
    if (stale > 0)
        std::cerr << "run: keysat-docgen " << args[0]
                  << " (or cmake --build BUILD --target docs)\n";
    return stale > 0 ? 1 : 0;
}

} // namespace keysat::cli
