#pragma once
// Inside the http module only (it includes httplib.h): how a Response::file is sent.

#include <httplib.h>

#include "keysat/http/server.hpp"

namespace keysat::http {

// Sends `out.file` (status 200) with ETag, Last-Modified and Accept-Ranges, answering
// If-None-Match or If-Modified-Since with 304 and a single Range (honouring If-Range) with 206 or
// 416; the body is streamed by a content provider reading 256 KiB with pread at a time.
void send_file(const httplib::Request& req, httplib::Response& res, const Response& out);

} // namespace keysat::http
