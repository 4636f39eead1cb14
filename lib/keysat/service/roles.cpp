#include "keysat/service/roles.hpp"

#include <nlohmann/json.hpp>

namespace keysat::service {

namespace {

const std::vector<std::string> k_areas = {
    "products",       "policies", "licenses", "machines",          "subscriptions",    "webhooks",
    "discount_codes", "audit",    "settings", "payment_providers", "merchant_profiles"};

} // namespace

std::optional<std::vector<std::string>> role_scopes(const std::string& role) {
    std::vector<std::string> scopes;
    for (const auto& a : k_areas)
        scopes.push_back(a + ":read");
    std::vector<std::string> writes;
    if (role == "read-only")
        ;
    else if (role == "license-issuer")
        writes = {"licenses"};
    else if (role == "support")
        writes = {"licenses", "subscriptions", "machines"};
    else if (role == "merchant-onboard")
        writes = {"products", "policies", "licenses"};
    else if (role == "full-admin")
        writes = k_areas;
    else
        return std::nullopt;
    for (const auto& w : writes)
        scopes.push_back(w + ":write");
    return scopes;
}

std::string role_of(const std::string& scopes_json) {
    auto held = nlohmann::json::parse(scopes_json, nullptr, false);
    for (const char* role :
         {"read-only", "license-issuer", "support", "merchant-onboard", "full-admin"})
        if (held == nlohmann::json(*role_scopes(role)))
            return role;
    return "custom";
}

std::vector<std::string> known_scopes() {
    std::vector<std::string> out;
    for (const auto& a : k_areas)
        for (const char* action : {":read", ":write"})
            out.push_back(a + action);
    return out;
}

} // namespace keysat::service
