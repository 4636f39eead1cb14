// The request parser on its own: every prefix of a valid request is "incomplete" (never an
// error, never a wrong answer), decoding rules, and hostile heads.

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "keysat/http/parser.hpp"

using namespace keysat;
using namespace keysat::http::detail;

namespace {

ParseResult head_of(const std::string& text, http::Request& req, Head& head,
                    const Limits& limits = {}) {
    return parse_head(text, limits, req, head);
}

int status_of(const std::string& text, const Limits& limits = {}) {
    http::Request req;
    Head head;
    auto r = head_of(text, req, head, limits);
    return r.state == Parse::error ? r.status : r.state == Parse::complete ? 200 : 0;
}

} // namespace

TEST_CASE("parser: a request head and every prefix of it", "[http][parser]") {
    const std::string text = "POST /v1/a%2Fb/c?x=1+2&y=%41&flag&x=3 HTTP/1.1\r\n"
                             "Host: example\r\n"
                             "X-Forwarded-For: 10.0.0.1\r\n"
                             "Content-Length: 11\r\n"
                             "x-forwarded-for:  10.0.0.2 \r\n"
                             "\r\n"
                             "hello world";
    for (std::size_t n = 0; n < text.find("\r\n\r\n") + 4; ++n) {
        INFO(n);
        http::Request req;
        Head head;
        CHECK(head_of(text.substr(0, n), req, head).state == Parse::incomplete);
    }
    http::Request req;
    Head head;
    REQUIRE(head_of(text, req, head).state == Parse::complete);
    CHECK(req.method == "POST");
    CHECK(req.path == "/v1/a/b/c"); // decoded; '+' stays in a path
    CHECK(head.bytes == text.size() - 11);
    CHECK(head.content_length == 11);
    CHECK(head.keep_alive);
    CHECK_FALSE(head.chunked);
    CHECK(req.header("host") == "example");
    // Repeated fields join in arrival order; names are lower-case, values trimmed.
    CHECK(req.header("x-forwarded-for") == "10.0.0.1, 10.0.0.2");
    CHECK(req.query.count("x") == 2);
    CHECK(req.query_value("x") == "1 2");
    CHECK(req.query_value("y") == "A");
    CHECK(req.query_value("flag") == "");
    CHECK_FALSE(req.query_value("z"));
}

TEST_CASE("parser: connection persistence by version and Connection", "[http][parser]") {
    auto keep = [](const std::string& version, const std::string& connection) {
        http::Request req;
        Head head;
        std::string text = "GET / " + version + "\r\nHost: h\r\n" +
                           (connection.empty() ? "" : "Connection: " + connection + "\r\n") +
                           "\r\n";
        REQUIRE(head_of(text, req, head).state == Parse::complete);
        return head.keep_alive;
    };
    CHECK(keep("HTTP/1.1", ""));
    CHECK_FALSE(keep("HTTP/1.1", "close"));
    CHECK_FALSE(keep("HTTP/1.1", "Upgrade, Close"));
    CHECK_FALSE(keep("HTTP/1.0", ""));
    CHECK(keep("HTTP/1.0", "Keep-Alive"));
}

TEST_CASE("parser: hostile heads get the right refusal", "[http][parser][security]") {
    const std::string end = "\r\n\r\n";
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6" + end) ==
          400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5" + end) ==
          400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: -1" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999" +
                    end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000" + end) == 413);
    CHECK(
        status_of("GET /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3" +
                  end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked" + end) == 501);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: a\r\n folded" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost : a" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nno colon here" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\n: empty name" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\nX-Injected: 1" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\rb" + end) == 400);
    CHECK(status_of(std::string("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\0b", 34) + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\x7f" + end) == 400); // DEL
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\x1b[0m" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\x01" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\tb" + end) == 200); // HTAB is allowed
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nX-A: caf\xc3\xa9" + end) == 200); // obs-text
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: a\r\nHost: b" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nExpect: 200-ok" + end) == 417);
    CHECK(status_of("GET /x" + end) == 400);
    CHECK(status_of("GET  /x HTTP/1.1\r\nHost: h" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1 extra\r\nHost: h" + end) == 400);
    CHECK(status_of("G(T /x HTTP/1.1\r\nHost: h" + end) == 400);
    CHECK(status_of("GET x HTTP/1.1\r\nHost: h" + end) == 400);
    CHECK(status_of("GET ftp://host/x HTTP/1.1\r\nHost: h" + end) == 400);
    CHECK(status_of("GET http:///x HTTP/1.1\r\nHost: h" + end) == 400);
    CHECK(status_of("GET http://user@host/x HTTP/1.1\r\nHost: h" + end) == 400);
    CHECK(status_of("GET * HTTP/1.1\r\nHost: h" + end) == 400);
    CHECK(status_of("GET /x\x01y HTTP/1.1\r\nHost: h" + end) == 400);
    CHECK(status_of("GET /\xc3\xa9 HTTP/1.1\r\nHost: h" + end) == 400);
    CHECK(status_of("GET /x HTTP/2.0" + end) == 505);
    CHECK(status_of("GET /x HTTP/1.2" + end) == 505);
    CHECK(status_of("GET /x FTP/1.1" + end) == 400);
    // Limits: the target (414, even before the head is complete), the head, the line count.
    CHECK(status_of("GET /" + std::string(9000, 'a') + " HTTP/1.1" + end) == 414);
    CHECK(status_of("GET /" + std::string(9000, 'a')) == 414);
    CHECK(status_of("GET /" + std::string(8000, 'a') + " HTTP/1.1\r\nHost: h" + end) == 200);
    std::string many = "GET /x HTTP/1.1\r\n";
    for (int i = 0; i < 101; ++i)
        many += "X-" + std::to_string(i) + ": v\r\n";
    CHECK(status_of(many + "\r\n") == 431);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(70000, 'v') + end) ==
          431);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(70000, 'v')) == 431);
    // A long method is judged once its line is whole: every prefix of a head that parses is
    // incomplete, never 414, also when the split falls between the line end's CR and LF
    // (tests/fuzz/regressions/http_head/long-method-prefix-414, line-end-split-at-limit).
    const std::string long_method = std::string(9000, 'M') + " /x HTTP/1.1\r\nHost: h" + end;
    CHECK(status_of(long_method) == 200);
    for (std::size_t n :
         {std::size_t{100}, std::size_t{8300}, long_method.find('\r') + 1, long_method.size() - 1})
        CHECK(status_of(long_method.substr(0, n)) == 0);
    // Without a line end, a target already over the limit is a 414 and a line longer than a
    // whole head a 431; a CR at the end of what arrived is not counted as the target's.
    CHECK(status_of("GET /" + std::string(8191, 'a') + "\r") == 0);
    CHECK(status_of("GET /" + std::string(8192, 'a') + "\r") == 414);
    CHECK(status_of(std::string(70000, 'M')) == 431);
    CHECK(status_of("GET /x " + std::string(70000, 'H')) == 431);
    // Empty prefixes of all of these are merely incomplete.
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n") == 0);
}

TEST_CASE("parser: an HTTP/1.1 request needs Host, an HTTP/1.0 one does not", "[http][parser]") {
    const std::string end = "\r\n\r\n";
    CHECK(status_of("GET /x HTTP/1.1" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nX-Host: h" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: h" + end) == 200);
    CHECK(status_of("GET /x HTTP/1.1\r\nhOsT: h" + end) == 200);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost:" + end) == 200); // empty is allowed (RFC 9112 3.2)
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: [::1]:8080" + end) == 200);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: a b" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: a/b" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.1\r\nHost: user@a" + end) == 400);
    CHECK(status_of("GET /x HTTP/1.0" + end) == 200);
    // A worse fault keeps its own answer.
    CHECK(status_of("GET /x HTTP/1.1\r\nContent-Length: 2000000" + end) == 413);
    CHECK(status_of("GET /x HTTP/1.1\r\nTransfer-Encoding: gzip" + end) == 501);
}

TEST_CASE("parser: the absolute form routes on its path", "[http][parser]") {
    auto path_of = [](const std::string& target) {
        http::Request req;
        Head head;
        auto r = head_of("GET " + target + " HTTP/1.1\r\nHost: other\r\n\r\n", req, head);
        REQUIRE(r.state == Parse::complete);
        return req.path + (req.query.empty() ? "" : "?" + req.query.begin()->first);
    };
    CHECK(path_of("http://example.com/v1/pubkey") == "/v1/pubkey");
    CHECK(path_of("HTTP://Example.COM:8080/a%2Fb") == "/a/b");
    CHECK(path_of("https://example.com/x?flag") == "/x?flag");
    CHECK(path_of("http://example.com") == "/");
    CHECK(path_of("http://example.com?flag") == "/?flag");
    CHECK(path_of("http://[::1]:8080/healthz") == "/healthz");
    CHECK(path_of("http://a#/x") == "/"); // the fragment is not the path
}

TEST_CASE("parser: percent-decoding and query strings", "[http][parser]") {
    CHECK(percent_decode("%2e%2E%2f%41", false) == "../A");
    CHECK(percent_decode("a+b", false) == "a+b");
    CHECK(percent_decode("a+b", true) == "a b");
    CHECK(percent_decode("%zz%4", false) == "%zz%4"); // not an escape: kept as it is
    CHECK(percent_decode("%", false) == "%");
    CHECK(percent_decode("%00", false) == std::string(1, '\0'));
    CHECK(percent_decode("%u002e", false) == "%u002e"); // no IIS-style escapes
    std::multimap<std::string, std::string> q;
    parse_query("a=1&&b=%26&a=2&c=x=y&=v", q);
    CHECK(q.count("a") == 2);
    CHECK(q.find("b")->second == "&");
    CHECK(q.find("c")->second == "x=y");
    CHECK(q.find("")->second == "v");
}

TEST_CASE("parser: chunked bodies, whole and in every prefix", "[http][parser]") {
    const std::string body = "5;ext=1\r\nHello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    for (std::size_t n = 0; n < body.size() - 4; ++n) {
        INFO(n);
        ChunkState fresh;
        CHECK(decode_chunked(std::string_view(body).substr(0, n), 1000, fresh).state ==
              Parse::incomplete);
    }
    ChunkState whole;
    REQUIRE(decode_chunked(body, 1000, whole).state == Parse::complete);
    CHECK(whole.body == "Hello, world");
    CHECK(whole.pos == body.size() - 4);

    auto state = [](const std::string& text, std::size_t max = 1000) {
        ChunkState st;
        auto r = decode_chunked(text, max, st);
        return r.state == Parse::error ? r.status : r.state == Parse::complete ? 200 : 0;
    };
    CHECK(state("zz\r\nabc\r\n0\r\n\r\n") == 400);
    CHECK(state("\r\n") == 400);
    CHECK(state("3\r\nabcX\r\n0\r\n\r\n") == 400); // chunk longer than it says
    CHECK(state("ffffffffffffffffffff\r\n") == 413);
    CHECK(state("400\r\n", 1000) == 413); // refused before the data arrives
    CHECK(state("3\r\nabc\r\n3\r\nabc\r\n0\r\n\r\n", 5) == 413);
    CHECK(state(std::string(2000, '1')) == 400); // a size line that never ends
    // Smuggling shapes: a bare LF or CR in a size line or extension, a trailer without a colon.
    CHECK(state("2;\nxx\r\nab\r\n0\r\n\r\n") == 400);
    CHECK(state("2\rx\r\nab\r\n0\r\n\r\n") == 400);
    CHECK(state("2;" + std::string(2000, 'e') + "\r\nab\r\n0\r\n\r\n") == 400);
    CHECK(state("0\r\nno colon\r\n\r\n") == 400);
    CHECK(state("0\r\nX: a\nb\r\n\r\n") == 400);
}

TEST_CASE("parser: a chunked body decoded as it arrives equals one decoded whole",
          "[http][parser]") {
    std::string text;
    std::string expected;
    for (int i = 1; i <= 50; ++i) {
        std::string chunk(static_cast<std::size_t>(i * 7), static_cast<char>('a' + i % 26));
        text += fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk);
        expected += chunk;
    }
    text += "0\r\nX-Trailer: 1\r\nY-Trailer: 2\r\n\r\n";
    for (std::size_t step : {1u, 3u, 64u, 1000u}) {
        INFO(step);
        ChunkState st;
        ParseResult r;
        std::size_t n = 0;
        do {
            n = std::min(text.size(), n + step);
            r = decode_chunked(std::string_view(text).substr(0, n), 100000, st);
        } while (r.state == Parse::incomplete && n < text.size());
        CHECK(r.state == Parse::complete);
        CHECK(st.body == expected);
        CHECK(st.pos == text.size());
        CHECK(st.trailer_lines == 2);
    }
}
