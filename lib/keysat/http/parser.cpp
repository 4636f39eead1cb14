#include "keysat/http/parser.hpp"

#include <algorithm>
#include <charconv>

namespace keysat::http::detail {

namespace {

// RFC 9110 token characters (method names, field names).
bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// True when a comma-separated header value lists `token` (case-insensitive).
bool lists(std::string_view value, std::string_view token) {
    std::string v = lower(value);
    std::size_t pos = 0;
    while (pos <= v.size()) {
        auto comma = v.find(',', pos);
        auto item = trim(std::string_view(v).substr(
            pos, comma == std::string::npos ? std::string::npos : comma - pos));
        if (item == token)
            return true;
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return false;
}

ParseResult fail(int status) {
    return {Parse::error, status};
}

// A header field, size line or trailer: no control characters but HTAB (RFC 9110 5.5; a bare LF
// or CR would be read as a line end by some proxies, which is request smuggling; NUL and DEL
// are refused too).
bool clean_line(std::string_view line) {
    for (unsigned char c : line)
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    return true;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// The origin-form part ("/path?query") of a request target: the target itself, or for the
// absolute form ("http://host:port/path?query", RFC 9112 3.2.2) what follows the authority.
// Empty for any other form.
std::string_view origin_part(std::string_view target) {
    if (!target.empty() && target.front() == '/')
        return target;
    std::size_t scheme = starts_with_nocase(target, "http://")    ? 7
                         : starts_with_nocase(target, "https://") ? 8
                                                                  : 0;
    if (scheme == 0)
        return {};
    auto rest = target.substr(scheme);
    auto slash = rest.find_first_of("/?#");
    if (slash == 0 || rest.find('@') < slash)
        return {}; // no host, or user information (RFC 9110 4.2.4 forbids it for http)
    if (slash == std::string_view::npos || rest[slash] == '#')
        return "/";
    return rest.substr(slash);
}

} // namespace

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
            hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

void parse_query(std::string_view text, std::multimap<std::string, std::string>& out) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto amp = text.find('&', pos);
        auto pair = text.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
        if (!pair.empty()) {
            auto eq = pair.find('=');
            if (eq == std::string_view::npos)
                out.emplace(percent_decode(pair, true), std::string());
            else
                out.emplace(percent_decode(pair.substr(0, eq), true),
                            percent_decode(pair.substr(eq + 1), true));
        }
        if (amp == std::string_view::npos)
            break;
        pos = amp + 1;
    }
}

ParseResult parse_head(std::string_view buffer, const Limits& limits, Request& req, Head& head) {
    // The request line first, so that an over-long target is a 414 even before the head ends.
    // Before its line end arrives, a line is refused only for what more bytes cannot mend: a
    // target already longer than the limit, or more bytes than a whole head may have. (A long
    // method or version is judged once the line is whole, as it would be in one read.)
    auto line_end = buffer.find("\r\n");
    if (line_end == std::string_view::npos) {
        if (auto sp1 = buffer.find(' '); sp1 != std::string_view::npos) {
            auto so_far = buffer.substr(sp1 + 1);
            so_far = so_far.substr(0, so_far.find(' '));
            if (so_far.ends_with('\r') && so_far.size() == buffer.size() - sp1 - 1)
                so_far.remove_suffix(1); // the first half of the line end
            if (so_far.size() > limits.max_target)
                return fail(414);
        }
        return buffer.size() > limits.max_head ? fail(431) : ParseResult{};
    }
    auto end = buffer.find("\r\n\r\n");
    std::string_view line = buffer.substr(0, line_end);
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return line.size() > limits.max_target + 32 ? fail(414) : fail(400);
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (target.size() > limits.max_target)
        return fail(414);
    if (end == std::string_view::npos)
        return buffer.size() > limits.max_head ? fail(431) : ParseResult{};
    if (end + 4 > limits.max_head)
        return fail(431);
    if (!is_token(method))
        return fail(400);
    if (!version.starts_with("HTTP/1."))
        return fail(version.starts_with("HTTP/") ? 505 : 400);
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return fail(505);
    // Origin form ("/path?query") or absolute form, routed on its path; control characters and
    // bytes outside ASCII are refused.
    for (unsigned char c : target)
        if (c <= 0x20 || c >= 0x7f)
            return fail(400);
    target = origin_part(target);
    if (target.empty())
        return fail(400);
    if (auto hash = target.find('#'); hash != std::string_view::npos)
        target = target.substr(0, hash);
    auto q = target.find('?');
    req.method = std::string(method);
    // "http://host?q": the absolute form's empty path is "/".
    req.path = q == 0 ? std::string(1, '/') : percent_decode(target.substr(0, q), false);
    req.query.clear();
    if (q != std::string_view::npos)
        parse_query(target.substr(q + 1), req.query);

    req.headers.clear();
    std::size_t lines = 0;
    std::size_t pos = line_end + 2;
    while (pos < end + 2) {
        auto eol = buffer.find("\r\n", pos);
        std::string_view field = buffer.substr(pos, eol - pos);
        pos = eol + 2;
        if (++lines > limits.max_header_lines)
            return fail(431);
        // No obsolete line folding, no control characters but HTAB inside a field (request
        // smuggling and header injection both start there).
        if (field.front() == ' ' || field.front() == '\t')
            return fail(400);
        if (!clean_line(field))
            return fail(400);
        auto colon = field.find(':');
        if (colon == std::string_view::npos || !is_token(field.substr(0, colon)))
            return fail(400);
        std::string name = lower(field.substr(0, colon));
        std::string_view value = trim(field.substr(colon + 1));
        // Repeated fields are one comma-separated list (RFC 9110), in arrival order: a proxy's
        // X-Forwarded-For line after a client's must not be lost.
        auto [it, fresh] = req.headers.emplace(name, std::string(value));
        if (!fresh) {
            if (name == "content-length" || name == "host")
                return fail(400); // two lengths: which one a proxy used is anybody's guess
            it->second += ", ";
            it->second += value;
        }
    }

    head = Head{};
    head.bytes = end + 4;
    auto te = req.headers.find("transfer-encoding");
    auto cl = req.headers.find("content-length");
    if (te != req.headers.end()) {
        if (cl != req.headers.end())
            return fail(400);
        if (lower(te->second) != "chunked")
            return fail(501);
        head.chunked = true;
    } else if (cl != req.headers.end()) {
        const std::string& v = cl->second;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), head.content_length);
        if (v.empty() || ec != std::errc() || p != v.data() + v.size())
            return fail(400);
        if (head.content_length > limits.max_body)
            return fail(413);
    }
    auto connection = req.headers.find("connection");
    head.http10 = version == "HTTP/1.0";
    if (!head.http10)
        head.keep_alive = connection == req.headers.end() || !lists(connection->second, "close");
    else // and a chunked HTTP/1.0 request ends its connection (RFC 9112 6.1)
        head.keep_alive = connection != req.headers.end() &&
                          lists(connection->second, "keep-alive") && !head.chunked;
    if (auto expect = req.headers.find("expect"); expect != req.headers.end()) {
        if (lower(expect->second) != "100-continue")
            return fail(417);
        head.expect_continue = !head.http10; // an HTTP/1.0 client does not wait for a 100
    }
    // RFC 9112 3.2: an HTTP/1.1 request without Host is a 400 (checked last, so that a request
    // with a worse fault gets that fault's answer).
    auto host = req.headers.find("host");
    if (!head.http10 && host == req.headers.end())
        return fail(400);
    // A Host value is a host name or address and an optional port (RFC 9110 7.2): no spaces,
    // slashes or user information.
    if (host != req.headers.end() &&
        !std::all_of(host->second.begin(), host->second.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) ||
                   std::string_view("-._~!$&'()*+,;=:[]%").find(c) != std::string_view::npos;
        }))
        return fail(400);
    return {Parse::complete, 0};
}

namespace {
constexpr std::size_t k_max_chunk_line = 1024;
} // namespace

ParseResult decode_chunked(std::string_view buffer, std::size_t max_body, ChunkState& st) {
    std::size_t& pos = st.pos;
    while (!st.trailers) {
        auto eol = buffer.find("\r\n", pos);
        if (eol == std::string_view::npos)
            return buffer.size() - pos > k_max_chunk_line ? fail(400) : ParseResult{};
        std::string_view size_line = buffer.substr(pos, eol - pos);
        if (size_line.size() > k_max_chunk_line || !clean_line(size_line))
            return fail(400);
        auto semi = size_line.find(';'); // chunk extensions are ignored
        std::string_view digits = trim(size_line.substr(0, semi));
        std::uint64_t size = 0;
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
        if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size())
            return fail(ec == std::errc::result_out_of_range ? 413 : 400);
        if (size == 0) {
            pos = eol + 2;
            st.trailers = true;
            break;
        }
        if (size > max_body || st.body.size() + size > max_body)
            return fail(413);
        std::size_t data = eol + 2;
        if (buffer.size() < data + size + 2)
            return {};
        if (buffer.substr(data + size, 2) != "\r\n")
            return fail(400);
        st.body.append(buffer.substr(data, size));
        pos = data + size + 2;
    }
    // Trailer fields, then the empty line; trailers are checked and dropped.
    for (;;) {
        auto t = buffer.find("\r\n", pos);
        if (t == std::string_view::npos)
            return buffer.size() - pos > 8192 ? fail(431) : ParseResult{};
        if (t == pos) {
            pos += 2;
            return {Parse::complete, 0};
        }
        if (st.trailer_lines >= 100 || t - pos > 8192)
            return fail(431);
        std::string_view field = buffer.substr(pos, t - pos);
        if (!clean_line(field) || field.find(':') == std::string_view::npos)
            return fail(400);
        ++st.trailer_lines;
        pos = t + 2;
    }
}

} // namespace keysat::http::detail
