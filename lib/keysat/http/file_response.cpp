// File bodies: conditional requests, single byte ranges and streaming with pread (see
// Response::file).

#include "keysat/http/file_response.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <optional>
#include <unistd.h>

#include <fmt/format.h>

namespace keysat::http {

namespace {

// An HTTP date (RFC 9110 IMF-fixdate) of unix seconds.
std::string http_date(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

// One byte range of a file of `size` bytes, from a Range header.
struct ByteRange {
    enum class Kind { none, satisfiable, unsatisfiable } kind = Kind::none;
    std::uint64_t first = 0, last = 0; // inclusive
};

std::optional<std::uint64_t> parse_u64(std::string_view s) {
    std::uint64_t v = 0;
    if (s.empty())
        return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

// "bytes=a-b", "bytes=a-" or "bytes=-n". Anything else (other units, several ranges, bad
// syntax) is ignored and the whole file is sent, as RFC 9110 allows.
ByteRange parse_range(std::string_view header, std::uint64_t size) {
    ByteRange r;
    if (!header.starts_with("bytes="))
        return r;
    header.remove_prefix(6);
    while (!header.empty() && header.front() == ' ')
        header.remove_prefix(1);
    while (!header.empty() && header.back() == ' ')
        header.remove_suffix(1);
    auto dash = header.find('-');
    if (dash == std::string_view::npos || header.find(',') != std::string_view::npos)
        return r;
    auto a = header.substr(0, dash), b = header.substr(dash + 1);
    if (a.empty()) { // suffix: the last n bytes
        auto n = parse_u64(b);
        if (!n)
            return r;
        if (*n == 0 || size == 0)
            return {ByteRange::Kind::unsatisfiable};
        return {ByteRange::Kind::satisfiable, size - std::min(*n, size), size - 1};
    }
    auto first = parse_u64(a);
    auto last = b.empty() ? std::optional<std::uint64_t>(UINT64_MAX) : parse_u64(b);
    if (!first || !last || *last < *first)
        return r;
    if (*first >= size)
        return {ByteRange::Kind::unsatisfiable};
    return {ByteRange::Kind::satisfiable, *first, std::min(*last, size - 1)};
}

// True when an If-None-Match list names `etag` (weak comparison) or is "*".
bool etag_matches(const std::string& list, const std::string& etag) {
    if (list.find('*') != std::string::npos && list.find('"') == std::string::npos)
        return true;
    std::size_t pos = 0;
    while (pos < list.size()) {
        auto comma = list.find(',', pos);
        std::string item = list.substr(pos, comma == std::string::npos ? comma : comma - pos);
        auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
        if (b != std::string::npos) {
            item = item.substr(b, e - b + 1);
            if (item.starts_with("W/"))
                item = item.substr(2);
            if (item == etag)
                return true;
        }
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return false;
}

} // namespace

FileBody::FileBody(int fd_, std::uint64_t size_, std::int64_t mtime_ns_)
    : fd(fd_), size(size_), mtime_ns(mtime_ns_) {}

FileBody::~FileBody() {
    if (fd >= 0)
        ::close(fd);
}

std::string FileBody::etag() const {
    return fmt::format("\"{:x}-{:x}\"", size, static_cast<std::uint64_t>(mtime_ns));
}

FilePlan plan_file(const Request& req, const FileBody& file) {
    FilePlan plan;
    if (file.whole_only) {
        plan.headers = {{"Accept-Ranges", "none"}};
        plan.length = file.size;
        return plan;
    }
    std::string etag = file.etag();
    std::string modified = http_date(file.mtime_ns / 1000000000);
    plan.headers = {{"ETag", etag}, {"Last-Modified", modified}, {"Accept-Ranges", "bytes"}};
    // If-Modified-Since counts only when it echoes Last-Modified exactly (what clients send) and
    // no If-None-Match is given (RFC 9110 13.1.3).
    bool not_modified = req.headers.count("if-none-match")
                            ? etag_matches(req.header("if-none-match"), etag)
                            : req.header("if-modified-since") == modified;
    if (not_modified) {
        plan.status = 304;
        return plan;
    }
    plan.status = 200;
    plan.length = file.size;
    if (req.headers.count("range")) {
        // If-Range: the range applies only to this version of the file.
        bool current = !req.headers.count("if-range") || req.header("if-range") == etag ||
                       req.header("if-range") == modified;
        ByteRange r = current ? parse_range(req.header("range"), file.size) : ByteRange{};
        if (r.kind == ByteRange::Kind::unsatisfiable) {
            plan.status = 416;
            plan.length = 0;
            plan.headers.emplace_back("Content-Range", fmt::format("bytes */{}", file.size));
            return plan;
        }
        if (r.kind == ByteRange::Kind::satisfiable) {
            plan.status = 206;
            plan.first = r.first;
            plan.length = r.last - r.first + 1;
            plan.headers.emplace_back("Content-Range",
                                      fmt::format("bytes {}-{}/{}", r.first, r.last, file.size));
        }
    }
    return plan;
}

} // namespace keysat::http
