#pragma once
// Catalog rules every way of granting entitlements shares: a product with an entitlements
// catalog grants only the catalog's slugs (policies, direct issuance, ledger imports).

#include <optional>
#include <string>
#include <vector>

#include "keysat/store/catalog_store.hpp"

namespace keysat::service {

// The first of `entitlements` that `product`'s catalog does not list; nullopt when all are
// listed or the product has no catalog (an empty or unreadable one: every slug is allowed).
std::optional<std::string>
entitlement_outside_catalog(const store::ProductRow& product,
                            const std::vector<std::string>& entitlements);

// The error message for such an entitlement.
std::string outside_catalog_message(const std::string& entitlement,
                                    const store::ProductRow& product);

} // namespace keysat::service
