#pragma once
// The frame of keysat-serve's HTML pages (page_routes.cpp): escaping, the Content-Security-
// Policy and headers, the seller's name and colour. For routes outside page_routes.cpp that
// answer a browser (BTCPay's connect callback).

#include <map>
#include <string>

#include "keysat/api/app.hpp"

namespace keysat::api {

// A form body (application/x-www-form-urlencoded) as a map of each name's first value.
std::map<std::string, std::string> form_fields(const http::Request& req);

// A 303 to `location` (not cached).
http::Response redirect(const std::string& location);

// A page whose <main> is `main_html` (already escaped by the caller), titled `title`.
http::Response html_page(const App& app, db::Database& db, int status, const std::string& title,
                         const std::string& main_html);

// A page with a heading and one paragraph of text (both escaped here).
http::Response message_page(const App& app, db::Database& db, int status,
                            const std::string& heading, const std::string& text);

} // namespace keysat::api
