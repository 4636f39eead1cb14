// JSON request bodies as keysat-serve's routes read them (api/app.cpp parse_body, with its
// nesting limit, and api/fields.cpp).
//
// Properties: a body is accepted only when it is a JSON object nested at most 32 deep (the
// parser and serializer recurse, so depth is what keeps a worker's stack safe); a refusal is a
// 400 with the spec's error shape; typed field reads never throw; an accepted body serializes.

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "keysat/api/app.hpp"
#include "keysat/api/fields.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

// The nesting depth of a parsed value, without recursing deeper than `limit` + 1.
std::size_t depth(const json& j, std::size_t limit) {
    if (!j.is_structured() || limit == 0)
        return j.is_structured() ? 1 : 0;
    std::size_t deepest = 0;
    for (const auto& child : j)
        deepest = std::max(deepest, depth(child, limit - 1));
    return deepest + 1;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    http::Request req;
    req.method = "POST";
    req.path = "/v1/validate";
    req.body.assign(reinterpret_cast<const char*>(data), size);
    http::Response error;
    auto body = api::parse_body(req, error);
    if (!body) {
        FUZZ_CHECK(error.status == 400);
        auto shape = json::parse(error.body, nullptr, false);
        FUZZ_CHECK(shape.is_object() && shape["error"] == "bad_request");
        return 0;
    }
    FUZZ_CHECK(body->is_object());
    FUZZ_CHECK(depth(*body, 40) <= 32);
    // The fields of the public routes (validate, machines) and of the admin routes.
    api::Fields f(*body);
    f.text("license_key", true, 4096);
    f.text("fingerprint", false, 256);
    f.text("product", false);
    f.integer("max_machines", 0, 1000000);
    f.integer("days", 1, 36500, true);
    f.boolean("active");
    f.strings("entitlements");
    FUZZ_CHECK(f.error().empty() || f.error().starts_with("bad request: "));
    auto response = api::json_response(200, *body);
    FUZZ_CHECK(response.status == 200 && !response.body.empty());
    return 0;
}
