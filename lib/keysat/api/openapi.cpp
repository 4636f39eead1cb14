// The OpenAPI document, generated from the registered routes.

#include <algorithm>
#include <cctype>
#include <regex>

#include "keysat/api/app.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

// Turns a route's regular expression into an OpenAPI path: each capture group becomes a
// parameter, named {slug} for slugs and {id} for UUIDs.
std::pair<std::string, std::vector<std::string>> openapi_path(const std::string& pattern) {
    std::string out;
    std::vector<std::string> params;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '(') {
            out += pattern[i];
            continue;
        }
        int depth = 1;
        std::size_t j = i + 1;
        for (; j < pattern.size() && depth > 0; ++j)
            depth += pattern[j] == '(' ? 1 : pattern[j] == ')' ? -1 : 0;
        std::string group = pattern.substr(i, j - i);
        std::string name = group.find("0-9a-f-") != std::string::npos ? "id" : "slug";
        // Names must be unique within a path (OpenAPI 3.1): slug, slug2, slug3...
        int seen = static_cast<int>(std::count(params.begin(), params.end(), name)) +
                   static_cast<int>(std::count_if(params.begin(), params.end(), [&](const auto& p) {
                       return p.starts_with(name) && p.size() > name.size() &&
                              std::isdigit(static_cast<unsigned char>(p[name.size()]));
                   }));
        if (seen > 0)
            name += std::to_string(seen + 1);
        params.push_back(name);
        out += "{" + name + "}";
        i = j - 1;
    }
    return {out, params};
}

} // namespace

json openapi_document(const http::Server& server, const App& app) {
    json paths = json::object();
    for (const auto& [method, pattern] : server.routes()) {
        if (pattern.starts_with("/assets/") || pattern.starts_with("/admin"))
            continue; // the pages' stylesheet and scripts; the operator's console
        auto [path, params] = openapi_path(pattern);
        json op{{"responses",
                 {{"200", {{"description", "success"}}},
                  {"400", {{"description", "malformed request: {ok:false, error, message}"}}}}}};
        // The buyer's pages answer HTML.
        if (path.starts_with("/buy/") || path == "/thank-you" || path == "/recover")
            op["responses"] = {
                {"200",
                 {{"description", "an HTML page"}, {"content", {{"text/html", json::object()}}}}},
                {"404", {{"description", "an HTML page: not found"}}}};
        json parameters = json::array();
        for (const auto& p : params)
            parameters.push_back({{"name", p},
                                  {"in", "path"},
                                  {"required", true},
                                  {"schema", {{"type", "string"}}}});
        if (!parameters.empty())
            op["parameters"] = parameters;
        if (path.starts_with("/v1/admin/")) {
            op["security"] = json::array({{{"bearer", json::array()}}});
            op["responses"]["401"] = {{"description", "missing or malformed credential"}};
            op["responses"]["403"] = {{"description", "unknown, revoked or under-scoped key"}};
        }
        std::string m = method;
        for (auto& c : m)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        paths[path][m] = op;
    }
    return {{"openapi", "3.1.0"},
            {"info", {{"title", "Keysat"}, {"version", app.version}}},
            {"components",
             {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
            {"paths", paths}};
}

void register_openapi_route(http::Server& server, const App& app) {
    server.route("GET", "/v1/openapi.json", [&server, &app](const http::Request&) {
        return json_response(200, openapi_document(server, app));
    });
}

} // namespace keysat::api
