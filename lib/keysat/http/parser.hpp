#pragma once
// HTTP/1.1 request parsing for the server's event loop: a request head (request line and header
// fields, RFC 9112), chunked bodies, and percent-decoding. Pure functions over bytes received so
// far; they answer "incomplete" until enough has arrived and never read past what they are given.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "keysat/http/server.hpp"

namespace keysat::http::detail {

struct Limits {
    std::size_t max_target = 8192;      // longer request target: 414
    std::size_t max_head = 64 * 1024;   // request line plus header fields: 431
    std::size_t max_header_lines = 100; // 431
    std::size_t max_body = 1 << 20;     // 413
};

// What the head says about the rest of the request and the connection.
struct Head {
    std::size_t bytes = 0; // the head's length, final CRLF included
    bool chunked = false;
    std::uint64_t content_length = 0;
    bool keep_alive = true;
    bool http10 = false; // an HTTP/1.0 request: a kept connection is announced
    bool expect_continue = false;
};

enum class Parse { incomplete, complete, error };

struct ParseResult {
    Parse state = Parse::incomplete;
    int status = 0; // the answer when state is error: 400, 413, 414, 417, 431, 501 or 505
};

// Parses the head at the start of `buffer` into `req` (method, path, query, lower-case headers)
// and `head`. A Content-Length over the body limit is an error (413) as soon as the head is in.
ParseResult parse_head(std::string_view buffer, const Limits& limits, Request& req, Head& head);

// Where the decoding of a chunked body stands.
struct ChunkState {
    std::string body;      // the chunks decoded so far
    std::size_t pos = 0;   // where decoding resumes; once complete, the bytes taken
    bool trailers = false; // past the last chunk, reading trailer fields
    std::size_t trailer_lines = 0;
};

// Decodes a chunked body at the start of `buffer`. Resumable: start from a fresh state; after
// "incomplete", call again with the same state once more bytes are in (each complete line and
// chunk is read once). 413 when the decoded body would exceed `max_body`; 400 for a malformed
// size line, chunk or trailer (no control characters; size lines of at most 1 KiB); 431 for
// more than 100 trailer fields or one over 8 KiB.
ParseResult decode_chunked(std::string_view buffer, std::size_t max_body, ChunkState& state);

// %XX decoding (a '%' not followed by two hex digits stays as it is); '+' becomes a space only
// when `plus_is_space` (query strings).
std::string percent_decode(std::string_view text, bool plus_is_space);

// True for an RFC 9110 token (a method or a field name).
bool is_token(std::string_view s);

// "a=1&b=2" into `out`, names and values decoded.
void parse_query(std::string_view text, std::multimap<std::string, std::string>& out);

} // namespace keysat::http::detail
