#pragma once
// The one outbound HTTP client (webhook deliveries, payment providers). Every request goes
// through the outbound policy (outbound.hpp): the host is resolved once and the connection goes
// to the address that was checked. A request has one total deadline (lookup, connect, send,
// first byte and reading), the reply is read up to a cap and the rest dropped, and nothing is
// decompressed.

#include <chrono>
#include <cstddef>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "keysat/http/outbound.hpp"

namespace keysat::http {

enum class Outcome {
    answered,  // an HTTP status came back (any status)
    refused,   // the outbound policy refused the URL's address; nothing was sent
    timed_out, // the deadline passed first
    failed,    // no answer: bad URL, lookup failure, connection or TLS error, cancelled
};

// The word for an outcome (answered, refused, timed out, failed).
const char* to_string(Outcome o);

struct ClientRequest {
    std::string method = "POST";
    std::string url;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds deadline{10000}; // the whole exchange
    std::size_t max_reply_bytes = 64 * 1024;   // the rest of a longer reply is dropped
    const OutboundPolicy* policy = nullptr;    // required
};

struct ClientResult {
    Outcome outcome = Outcome::failed;
    int status = 0;         // when answered
    std::string body;       // at most max_reply_bytes of the reply's body
    bool truncated = false; // the reply was longer than max_reply_bytes
    std::string error;      // what happened, when not answered
};

// Sends the request. `stop` cancels it (outcome failed, "cancelled").
ClientResult send(const ClientRequest& request, std::stop_token stop = {});

} // namespace keysat::http
