#pragma once
// Prices and discount codes: what a code takes off a tier's price, whether a code applies to a
// tier now, and which featured code a storefront shows beside a tier. One function each, so the
// storefront routes, the purchase path and the tests price alike.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/store/catalog_store.hpp"
#include "keysat/store/commerce_store.hpp"

namespace keysat::service {

// What a code of `kind` with `value` takes off `base`, never more than `base` nor less than 0:
// percent (value in basis points, rounded down), fixed_sats (value), set_price (down to value),
// free_license (everything). Unknown kinds take nothing.
std::int64_t discount_for(const std::string& kind, std::int64_t value, std::int64_t base);

// A typed code as codes are stored: surrounding space removed, upper case.
std::string normalized_code(std::string code);

// Where a code's scope places it for a tier, best first; `none` when it does not apply.
enum class CodeScope { policy, product, global, none };

// Whether `code` can be used now for `policy` of `product`: active, not expired, uses left, the
// same currency as the product for amount kinds, and scoped to this product and tier (an empty
// product or policy list means every one).
CodeScope code_scope(const store::DiscountCodeRow& code, const store::ProductRow& product,
                     const store::PolicyRow& policy, std::int64_t now);

struct FeaturedDiscount {
    store::DiscountCodeRow code;
    std::int64_t base_price = 0;
    std::int64_t discount = 0;
    std::int64_t price = 0; // base_price - discount
};

// The featured code a storefront shows beside `policy`: among featured codes that apply (see
// code_scope), one naming the tier beats one scoped to the product, which beats a global one;
// ties go to the oldest code. Keysat's rule.
std::optional<FeaturedDiscount> featured_discount(const std::vector<store::DiscountCodeRow>& codes,
                                                  const store::ProductRow& product,
                                                  const store::PolicyRow& policy,
                                                  std::int64_t base_price, std::int64_t now);

} // namespace keysat::service
