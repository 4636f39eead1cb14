#include "keysat/license/text_lines.hpp"

#include "keysat/util/encoding.hpp"

namespace keysat::license {

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        lines.push_back(line);
        if (nl == std::string_view::npos)
            break;
        text.remove_prefix(nl + 1);
    }
    return lines;
}

std::optional<std::string> pem_body(std::string_view text, std::string_view label) {
    std::string begin = "-----BEGIN " + std::string(label) + "-----";
    std::string end = "-----END " + std::string(label) + "-----";
    auto b = text.find(begin);
    if (b == std::string_view::npos)
        return std::nullopt;
    auto e = text.find(end, b + begin.size());
    if (e == std::string_view::npos)
        return std::nullopt;
    std::string body;
    for (char c : text.substr(b + begin.size(), e - b - begin.size()))
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t')
            body += c;
    return body;
}

} // namespace keysat::license
