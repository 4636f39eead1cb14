#pragma once
// Which payment provider takes a purchase: the product's merchant profile (the default one when
// the product names none), then the rail the buyer chose (lightning, onchain, card): the
// profile's preference for that rail, else the oldest connected provider that serves it. A
// provider on no profile (a store configured by hand) belongs to the default profile.

#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/store/catalog_store.hpp"

namespace keysat::service {

inline const std::vector<std::string> k_rails = {"lightning", "onchain", "card"};

// The rails a provider kind serves: BTCPay lightning and on-chain; Zaprite card too.
std::vector<std::string> rails_of(const std::string& kind);

// The profile a product is sold under: its own, else the default; nullopt when there is none.
Expected<std::optional<store::MerchantProfileRow>> profile_of(db::Database& db,
                                                              const store::ProductRow& product);

// The connected providers of a profile (nullopt: no profile), oldest first; those on no profile
// count for the default profile.
Expected<std::vector<store::PaymentProviderRow>>
providers_of(db::Database& db, const std::optional<store::MerchantProfileRow>& profile);

// The rails a profile's providers serve, in k_rails order.
std::vector<std::string> rails_served(const std::vector<store::PaymentProviderRow>& providers);

// The provider that takes a purchase of `product` on `rail` (empty: the first provider's first
// rail). Refused (bad_request) when the profile has no provider, or none for the rail.
Checked<store::PaymentProviderRow> provider_for(db::Database& db, const store::ProductRow& product,
                                                const std::string& rail);

} // namespace keysat::service
