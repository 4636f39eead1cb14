#pragma once
// Man page option sections and shell completions generated from CLI11 definitions, so that the
// docs cannot drift from --help.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace keysat::cli {

// roff for the SYNOPSIS and OPTIONS sections of a man page, one subsection per subcommand.
std::string man_generated_sections(const CLI::App& app);

// Long option names that every subcommand of `app` has but `app` itself lacks: such an option
// must be accepted before the subcommand too (as git does), so each one is a defect.
std::vector<std::string> shared_options_missing_on_tool(const CLI::App& app);

// Completion scripts.
std::string bash_completion(const CLI::App& app);
std::string zsh_completion(const CLI::App& app);
std::string fish_completion(const CLI::App& app);

} // namespace keysat::cli

namespace keysat::cli {
// The keysat-docgen program: [--check] SOURCE_DIR.
int docgen_main(int argc, char** argv);
} // namespace keysat::cli
