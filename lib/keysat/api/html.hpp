#pragma once
// Escaping for the pages keysat-serve renders: every operator- and buyer-supplied string goes
// through one of these for the context it lands in. Nothing else writes such a string into HTML.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace keysat::api::html {

// Text between tags and the value of a double- or single-quoted attribute: & < > " ' escaped.
std::string text(std::string_view s);

// A JSON value for a <script type="application/json"> block: serialized, with <, >, & and the
// line separators U+2028/U+2029 written as \u escapes, so that no string can close the element
// or open a comment. Invalid UTF-8 is replaced.
std::string script_json(const nlohmann::json& value);

// A query-string or path component: everything but unreserved characters percent-encoded.
std::string url_component(std::string_view s);

// Whether `url` may be an href or a redirect target: an absolute http(s) URL without control
// characters, whitespace, quotes or angle brackets (javascript:, data: and relative URLs are not).
bool is_safe_link(std::string_view url);

// The origin (scheme://host[:port]) of an http(s) URL, without any user or password; empty when
// the host holds anything but letters, digits, '.', '-', ':' and brackets.
std::string origin_of(std::string_view url);

// Whether `colour` is a brand colour we render: #rrggbb.
bool is_hex_colour(std::string_view colour);

// A price for people: "21,000 sats" for SAT, "$12.50" and "€12.50" for USD and EUR (amounts in
// cents).
std::string price(std::int64_t amount, std::string_view currency);

} // namespace keysat::api::html
