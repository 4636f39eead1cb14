#pragma once
// Interaction with a terminal: no-echo passphrase prompts and whether stderr is a terminal.

#include <optional>
#include <string>
#include <string_view>

namespace keysat {

// True when standard error is a terminal (progress output is shown only then).
bool stderr_is_terminal();

// Prompts on /dev/tty with echo off and reads one line. nullopt when there is no terminal.
std::optional<std::string> prompt_passphrase(std::string_view prompt);

} // namespace keysat
