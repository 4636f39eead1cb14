// The escaping the buyer's pages rely on (lib/keysat/api/html.hpp).

#include <catch2/catch.hpp>

#include "keysat/api/html.hpp"

using namespace keysat::api;

TEST_CASE("html::text escapes what could end text or an attribute", "[pages][security]") {
    CHECK(html::text("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
    CHECK(html::text("plain text") == "plain text");
    CHECK(html::text("&amp;") == "&amp;amp;"); // escaped again, never passed through
}

TEST_CASE("html::script_json cannot close its script element or open a comment",
          "[pages][security]") {
    nlohmann::json v = {{"name", "</script><script>alert(1)</script><!--"},
                        {"sep", "a\u2028b\u2029c"},
                        {"amp", "&"}};
    std::string out = html::script_json(v);
    CHECK(out.find('<') == std::string::npos);
    CHECK(out.find('>') == std::string::npos);
    CHECK(out.find('&') == std::string::npos);
    CHECK(out.find("\xE2\x80\xA8") == std::string::npos);
    CHECK(out.find("\xE2\x80\xA9") == std::string::npos);
    // What a browser's JSON.parse reads back is the same value.
    CHECK(nlohmann::json::parse(out) == v);
}

TEST_CASE("html::is_safe_link takes absolute http(s) URLs only", "[pages][security]") {
    CHECK(html::is_safe_link("https://pay.example.com/i/abc"));
    CHECK(html::is_safe_link("http://127.0.0.1:23000/i/abc?x=1"));
    for (const char* bad :
         {"javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "//evil.example",
          "/relative", "https:///path", "https://a.example/\"onmouseover=x", "https://a b",
          "https://a.example/<x>", " https://a.example", "https://a.example/\x01", ""})
        CHECK_FALSE(html::is_safe_link(bad));
    CHECK(html::origin_of("https://pay.example.com:8443/i/x?y#z") ==
          "https://pay.example.com:8443");
    CHECK(html::origin_of("javascript:alert(1)").empty());
    // Never a user or password (it would go to every buyer in the CSP), nor anything that could
    // end a CSP source.
    CHECK(html::origin_of("https://user:pw@btcpay.lan:23000/x") == "https://btcpay.lan:23000");
    CHECK(html::origin_of("https://x;sandbox").empty());
    CHECK(html::origin_of("https://x,y/").empty());
    CHECK(html::origin_of("http://[::1]:8080/i") == "http://[::1]:8080");
}

TEST_CASE("html::url_component, is_hex_colour and price", "[pages]") {
    CHECK(html::url_component("a b/&?=é") == "a%20b%2F%26%3F%3D%C3%A9");
    CHECK(html::is_hex_colour("#1d4ED8"));
    for (const char* bad : {"1d4ed8", "#1d4ed", "#1d4ed8;", "red", "#12345g", ""})
        CHECK_FALSE(html::is_hex_colour(bad));
    CHECK(html::price(1, "SAT") == "1 sat");
    CHECK(html::price(0, "SAT") == "0 sats");
    CHECK(html::price(1234567, "SAT") == "1,234,567 sats");
    CHECK(html::price(123456, "USD") == "$1,234.56");
    CHECK(html::price(5, "EUR") == "€0.05");
}
