#pragma once
// Repository of merchant profiles and payment providers: the seller's accounts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::store {

// Who sells: the name, contacts and brand colour buyers see, where they go after paying, and
// whether this is the default profile (products without one are sold under it).
struct MerchantProfileRow {
    std::string id;
    std::string name;
    std::optional<std::string> contact_email; // version 1's field; support_email supersedes it
    std::int64_t created_at = 0;
    std::optional<std::string> legal_name;
    std::optional<std::string> support_url;
    std::optional<std::string> support_email;
    std::optional<std::string> brand_color; // #rrggbb
    std::optional<std::string> post_purchase_redirect_url;
    bool is_default = false;
    std::int64_t updated_at = 0;
};

// A provider connect in progress (BTCPay's authorize round trip): single use, 30 minutes.
struct ConnectStateRow {
    std::string state;
    std::string kind; // btcpay
    std::optional<std::string> merchant_profile_id;
    std::string label;
    std::string actor_kind; // who started it
    std::string actor_id;
    std::optional<std::string> api_key; // while the operator picks one of several stores
    std::int64_t created_at = 0;
};

struct PaymentProviderRow {
    std::string id;
    std::string kind; // btcpay, zaprite
    std::optional<std::string> merchant_profile_id;
    std::string base_url;
    std::optional<std::string> store_id;
    std::optional<std::string> api_key;
    std::optional<std::string> webhook_id;
    std::optional<std::string> webhook_secret;
    std::string status = "connected"; // pending, connected, disconnected
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::string label; // what the operator sees ("BTCPay — Acme")
};

class AccountStore {
  public:
    explicit AccountStore(db::Database& db) : m_db(&db) {}

    Expected<void> create_merchant(const MerchantProfileRow& m);
    // Replaces every field but id, created_at and is_default; false when there is no such row.
    Expected<bool> update_merchant(const MerchantProfileRow& m);
    Expected<std::optional<MerchantProfileRow>> find_merchant(const std::string& id);
    Expected<std::optional<MerchantProfileRow>> default_merchant();
    // Makes `id` the default profile (and no other); false when there is no such row.
    Expected<bool> set_default_merchant(const std::string& id);
    // Deletes a profile with its rail preferences (the providers it had forget it); false when
    // there is no such row.
    Expected<bool> delete_merchant(const std::string& id);
    // Newest first.
    Expected<std::vector<MerchantProfileRow>> list_merchants();
    // Products sold under the profile.
    Expected<std::int64_t> merchant_product_count(const std::string& id);

    // A profile's rail preferences: rail -> provider id, ordered by rail.
    Expected<std::vector<std::pair<std::string, std::string>>>
    rail_preferences(const std::string& profile_id);
    Expected<void> set_rail_preference(const std::string& profile_id, const std::string& rail,
                                       const std::string& provider_id);
    // False when there was none.
    Expected<bool> clear_rail_preference(const std::string& profile_id, const std::string& rail);

    // Records a connect's state, forgetting states older than 30 minutes.
    Expected<void> save_connect_state(const ConnectStateRow& c);
    // Takes (and deletes) a state younger than 30 minutes; nullopt when there is none.
    Expected<std::optional<ConnectStateRow>> take_connect_state(const std::string& state,
                                                                std::int64_t now);

    // Inserts or replaces a provider by id (connect, reconnect).
    Expected<void> save_provider(const PaymentProviderRow& p);
    Expected<std::optional<PaymentProviderRow>> find_provider(const std::string& id);
    // Ordered by creation time then id.
    Expected<std::vector<PaymentProviderRow>> list_providers();
    // Forgets the credentials and marks the provider disconnected.
    Expected<bool> disconnect_provider(const std::string& id, std::int64_t now);

  private:
    db::Database* m_db;
};

} // namespace keysat::store
