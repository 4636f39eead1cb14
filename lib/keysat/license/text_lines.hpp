#pragma once
// Line handling shared by the text file formats: CRLF or LF line ends, PEM bodies.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keysat::license {

// Splits text into lines on LF, dropping a CR before each LF; a missing final newline is fine.
std::vector<std::string_view> split_lines(std::string_view text);

// The base64 body between "-----BEGIN <label>-----" and "-----END <label>-----", with line
// breaks removed.
std::optional<std::string> pem_body(std::string_view text, std::string_view label);

} // namespace keysat::license
