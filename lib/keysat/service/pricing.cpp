#include "keysat/service/pricing.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace keysat::service {

namespace {

// The ids a code's scope column lists; an unreadable list names nothing.
std::vector<std::string> ids_of(const std::string& json_text) {
    auto j = nlohmann::json::parse(json_text, nullptr, false);
    std::vector<std::string> ids;
    if (!j.is_array())
        return ids;
    for (const auto& v : j)
        if (v.is_string())
            ids.push_back(v.get<std::string>());
    return ids;
}

bool contains(const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

} // namespace

std::string normalized_code(std::string code) {
    auto not_space = [](unsigned char c) { return !std::isspace(c); };
    code.erase(code.begin(), std::find_if(code.begin(), code.end(), not_space));
    code.erase(std::find_if(code.rbegin(), code.rend(), not_space).base(), code.end());
    std::transform(code.begin(), code.end(), code.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return code;
}

std::int64_t discount_for(const std::string& kind, std::int64_t value, std::int64_t base) {
    if (base <= 0)
        return 0;
    std::int64_t off = 0;
    if (kind == "percent") // 128-bit product: no overflow for any price
        off = static_cast<std::int64_t>(static_cast<__int128>(base) *
                                        std::clamp<std::int64_t>(value, 0, 10000) / 10000);
    else if (kind == "fixed_sats")
        off = value;
    else if (kind == "set_price")
        off = base - value;
    else if (kind == "free_license")
        off = base;
    return std::clamp<std::int64_t>(off, 0, base);
}

CodeScope code_scope(const store::DiscountCodeRow& code, const store::ProductRow& product,
                     const store::PolicyRow& policy, std::int64_t now) {
    if (!code.active || (code.expires_at && *code.expires_at <= now) ||
        (code.max_uses && code.uses >= *code.max_uses))
        return CodeScope::none;
    bool amount_kind = code.kind == "fixed_sats" || code.kind == "set_price";
    if (amount_kind && code.currency != product.currency)
        return CodeScope::none;
    auto products = ids_of(code.product_ids_json);
    auto policies = ids_of(code.policy_ids_json);
    if (!products.empty() && !contains(products, product.id))
        return CodeScope::none;
    if (!policies.empty())
        return contains(policies, policy.id) ? CodeScope::policy : CodeScope::none;
    return products.empty() ? CodeScope::global : CodeScope::product;
}

std::optional<FeaturedDiscount> featured_discount(const std::vector<store::DiscountCodeRow>& codes,
                                                  const store::ProductRow& product,
                                                  const store::PolicyRow& policy,
                                                  std::int64_t base_price, std::int64_t now) {
    const store::DiscountCodeRow* best = nullptr;
    CodeScope best_scope = CodeScope::none;
    for (const auto& c : codes) {
        if (!c.featured)
            continue;
        CodeScope scope = code_scope(c, product, policy, now);
        if (scope == CodeScope::none)
            continue;
        bool better =
            best == nullptr || scope < best_scope ||
            (scope == best_scope && (c.created_at < best->created_at ||
                                     (c.created_at == best->created_at && c.id < best->id)));
        if (better) {
            best = &c;
            best_scope = scope;
        }
    }
    if (best == nullptr)
        return std::nullopt;
    std::int64_t off = discount_for(best->kind, best->value, base_price);
    return FeaturedDiscount{*best, base_price, off, base_price - off};
}

} // namespace keysat::service
