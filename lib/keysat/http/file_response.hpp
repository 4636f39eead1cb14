#pragma once
// Inside the http module: how a Response::file is answered (conditional requests and ranges).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "keysat/http/server.hpp"

namespace keysat::http {

// The answer to a request for a file body: 200, 206, 304 or 416, the headers to send (ETag,
// Last-Modified, Accept-Ranges, Content-Range), and the bytes of the file to send.
struct FilePlan {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::uint64_t first = 0, length = 0;
};

// If-None-Match or If-Modified-Since give 304; a single Range (honouring If-Range) gives 206 or
// 416; anything else the whole file. A whole_only file is always sent whole.
FilePlan plan_file(const Request& req, const FileBody& file);

} // namespace keysat::http
