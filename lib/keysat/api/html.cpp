#include "keysat/api/html.hpp"

#include <cctype>

#include <fmt/format.h>

namespace keysat::api::html {

std::string text(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 16);
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string script_json(const nlohmann::json& value) {
    std::string dumped = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(dumped.size() + 16);
    for (std::size_t i = 0; i < dumped.size(); ++i) {
        char c = dumped[i];
        if (c == '<')
            out += "\\u003c";
        else if (c == '>')
            out += "\\u003e";
        else if (c == '&')
            out += "\\u0026";
        // U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
        else if (c == '\xE2' && i + 2 < dumped.size() && dumped[i + 1] == '\x80' &&
                 (dumped[i + 2] == '\xA8' || dumped[i + 2] == '\xA9')) {
            out += dumped[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
            i += 2;
        } else
            out += c;
    }
    return out;
}

std::string url_component(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

bool is_safe_link(std::string_view url) {
    if (!url.starts_with("https://") && !url.starts_with("http://"))
        return false;
    for (unsigned char c : url)
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' ||
            c == '`')
            return false;
    std::string_view rest = url.substr(url.find("//") + 2);
    return !rest.empty() && rest.front() != '/';
}

std::string origin_of(std::string_view url) {
    if (!is_safe_link(url))
        return {};
    auto scheme_end = url.find("//") + 2;
    auto end = url.find_first_of("/?#", scheme_end);
    std::string_view authority = url.substr(
        scheme_end, end == std::string_view::npos ? std::string_view::npos : end - scheme_end);
    // Never a user or password, and only what a host and port are made of.
    if (auto at = authority.rfind('@'); at != std::string_view::npos)
        authority = authority.substr(at + 1);
    if (authority.empty())
        return {};
    for (char c : authority)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
            c != '[' && c != ']')
            return {};
    return std::string(url.substr(0, scheme_end)) + std::string(authority);
}

bool is_hex_colour(std::string_view colour) {
    if (colour.size() != 7 || colour[0] != '#')
        return false;
    for (char c : colour.substr(1))
        if (!std::isxdigit(static_cast<unsigned char>(c)))
            return false;
    return true;
}

std::string price(std::int64_t amount, std::string_view currency) {
    auto grouped = [](std::int64_t v) {
        std::string digits = std::to_string(v < 0 ? -v : v), out;
        for (std::size_t i = 0; i < digits.size(); ++i) {
            if (i > 0 && (digits.size() - i) % 3 == 0)
                out += ',';
            out += digits[i];
        }
        return (v < 0 ? "-" : "") + out;
    };
    if (currency == "USD" || currency == "EUR")
        return fmt::format("{}{}.{:02}", currency == "USD" ? "$" : "€", grouped(amount / 100),
                           amount % 100);
    return amount == 1 ? "1 sat" : grouped(amount) + " sats";
}

} // namespace keysat::api::html
