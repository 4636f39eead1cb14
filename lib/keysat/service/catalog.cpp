#include "keysat/service/catalog.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace keysat::service {

std::optional<std::string>
entitlement_outside_catalog(const store::ProductRow& product,
                            const std::vector<std::string>& entitlements) {
    auto catalog = nlohmann::json::parse(product.entitlements_json, nullptr, false);
    if (!catalog.is_array() || catalog.empty())
        return std::nullopt;
    for (const auto& e : entitlements)
        if (std::none_of(catalog.begin(), catalog.end(), [&](const nlohmann::json& c) {
                return c.is_object() && c.value("slug", "") == e;
            }))
            return e;
    return std::nullopt;
}

std::string outside_catalog_message(const std::string& entitlement,
                                    const store::ProductRow& product) {
    return fmt::format("entitlement '{}' is not in product '{}' catalog", entitlement,
                       product.slug);
}

} // namespace keysat::service
