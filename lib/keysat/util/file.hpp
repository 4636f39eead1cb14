#pragma once
// File I/O: bounded reads and atomic writes (temp file in the same directory, fsync, rename).

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "keysat/util/error.hpp"

namespace keysat {

// Reads a whole small file (keys, signatures, lists). Refuses files over `max_bytes`.
Expected<std::string> read_small_file(const std::filesystem::path& path,
                                      std::size_t max_bytes = 1 << 20);

enum class Overwrite { yes, no };

// Writes `content` to `path` atomically with the given permission bits. With Overwrite::no an
// existing `path` is an error and nothing is written.
Expected<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                 unsigned mode = 0644, Overwrite overwrite = Overwrite::yes);

// Reads standard input to its end, refusing more than `max_bytes`.
Expected<std::string> read_stdin(std::size_t max_bytes = 1 << 20);

} // namespace keysat

namespace keysat {
// Appends `line` plus a newline to `path` (created 0600 if missing) with one write, so
// concurrent appenders never interleave within a line.
Expected<void> append_line(const std::filesystem::path& path, std::string_view line);
} // namespace keysat
