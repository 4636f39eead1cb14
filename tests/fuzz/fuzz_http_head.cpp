// The HTTP request head parser (http/parser.cpp): request line, header fields, framing.
//
// Properties: an error carries one of the documented statuses; a complete head ends with the
// blank line and respects every limit; the answer does not depend on how the bytes were split
// into reads (a prefix that holds the whole head parses the same, a shorter one is never
// complete).

#include <set>

#include "fuzz_support.hpp"
#include "keysat/http/parser.hpp"

using namespace keysat;
using namespace keysat::http::detail;

namespace {

struct Outcome {
    ParseResult result;
    http::Request req;
    Head head;
};

Outcome parse(std::string_view in, const Limits& limits) {
    Outcome o;
    o.result = parse_head(in, limits, o.req, o.head);
    return o;
}

void check(std::string_view in, const Limits& limits) {
    static const std::set<int> k_statuses = {400, 413, 414, 417, 431, 501, 505};
    Outcome full = parse(in, limits);
    if (full.result.state == Parse::error) {
        FUZZ_CHECK(k_statuses.count(full.result.status) == 1);
        return;
    }
    if (full.result.state == Parse::incomplete) {
        FUZZ_CHECK(in.find("\r\n\r\n") == std::string_view::npos);
        FUZZ_CHECK(in.size() <= limits.max_head);
        return;
    }
    const Head& h = full.head;
    FUZZ_CHECK(h.bytes >= 4 && h.bytes <= in.size() && h.bytes <= limits.max_head);
    FUZZ_CHECK(in.substr(h.bytes - 4, 4) == "\r\n\r\n");
    FUZZ_CHECK(in.substr(0, h.bytes - 2).find("\r\n\r\n") == std::string_view::npos);
    FUZZ_CHECK(!(h.chunked && h.content_length != 0));
    FUZZ_CHECK(h.content_length <= limits.max_body);
    FUZZ_CHECK(is_token(full.req.method));
    FUZZ_CHECK(full.req.headers.size() <= limits.max_header_lines);
    for (const auto& [name, value] : full.req.headers) {
        FUZZ_CHECK(is_token(name));
        FUZZ_CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    }
    // The same head split into two reads: the prefix that ends where the head does parses the
    // same; a shorter one is incomplete (never complete, never refused where the whole is not).
    Outcome exact = parse(in.substr(0, h.bytes), limits);
    FUZZ_CHECK(exact.result.state == Parse::complete && exact.head.bytes == h.bytes);
    FUZZ_CHECK(exact.req.method == full.req.method && exact.req.path == full.req.path &&
               exact.req.headers == full.req.headers && exact.req.query == full.req.query);
    for (std::size_t cut : {h.bytes - 1, h.bytes / 2}) {
        Outcome part = parse(in.substr(0, cut), limits);
        FUZZ_CHECK(part.result.state != Parse::complete);
        if (part.result.state == Parse::error)
            std::fprintf(stderr, "prefix of %zu bytes refused with %d, the whole head is fine\n",
                         cut, part.result.status);
        FUZZ_CHECK(part.result.state == Parse::incomplete);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = fuzz::as_text(data, size);
    // Small limits, so that the fuzzer reaches every one of them; then the server's defaults.
    Limits small;
    small.max_target = 64;
    small.max_head = 512;
    small.max_header_lines = 8;
    small.max_body = 1000;
    check(in, small);
    check(in, Limits{});
    // The query and percent decoders on their own.
    std::multimap<std::string, std::string> query;
    parse_query(in, query);
    std::string decoded = percent_decode(in, false);
    FUZZ_CHECK(decoded.size() <= in.size());
    return 0;
}
