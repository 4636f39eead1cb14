#pragma once
// Repository of products and their policies (tiers).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::store {

struct ProductRow {
    std::string id;
    std::string slug;
    std::string name;
    std::string description;
    std::int64_t price_amount = 0;
    std::string currency = "SAT";
    std::string entitlements_json = "[]";
    bool active = true;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::string> merchant_profile_id; // who sells it; nullopt: the default profile
};

struct PolicyRow {
    std::string id;
    std::string product_id;
    std::string slug;
    std::string name;
    std::optional<std::int64_t> duration_days; // nullopt: perpetual
    std::int64_t grace_days = 0;
    std::int64_t max_machines = 0; // 0: unlimited
    std::string entitlements_json = "[]";
    std::string hidden_entitlements_json = "[]";
    bool is_trial = false;
    std::optional<std::int64_t> trial_days;
    std::optional<std::string> recurring_period; // month, year: the label of a common period
    std::optional<std::int64_t> price_override;
    std::int64_t tier_rank = 0;
    bool is_public = true;
    bool active = true;
    bool archived = false;
    std::string marketing_bullets_json = "[]";
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    // The buy page's words for the tier (Keysat keeps them in the policy's metadata).
    std::string description;
    bool highlighted = false;
    std::string marketing_bullets_position = "above"; // above, below
    std::string metadata_json = "{}";                 // the rest of the metadata object, as sent
    std::int64_t grace_period_days = 7;               // a lapsed subscription's grace
    std::optional<std::int64_t> archived_at;          // set while archived
    // Set: the policy is sold as a subscription renewed every so many days (1 to 1830).
    std::optional<std::int64_t> renewal_period_days;
};

class CatalogStore {
  public:
    explicit CatalogStore(db::Database& db) : m_db(&db) {}

    // Inserts a product; a taken id or slug is an error naming it.
    Expected<void> create_product(const ProductRow& p);
    // Replaces every field but id and created_at; false when the product does not exist.
    Expected<bool> update_product(const ProductRow& p);
    Expected<std::optional<ProductRow>> find_product(const std::string& id);
    Expected<std::optional<ProductRow>> find_product_by_slug(const std::string& slug);
    // Rows that name the product (policies, licenses, invoices, discount codes): a product
    // with any cannot be deleted, only deactivated.
    Expected<std::int64_t> product_references(const std::string& id);
    // Deletes an unreferenced product; false when it does not exist.
    Expected<bool> delete_product(const std::string& id);
    // Ordered by slug.
    Expected<std::vector<ProductRow>> list_products(bool active_only);

    Expected<void> create_policy(const PolicyRow& p);
    Expected<bool> update_policy(const PolicyRow& p);
    Expected<std::optional<PolicyRow>> find_policy(const std::string& id);
    // Rows that name the policy (licenses, invoices, subscriptions, tier changes, discount
    // codes): a policy with any cannot be deleted, only archived.
    Expected<std::int64_t> policy_references(const std::string& id);
    Expected<bool> delete_policy(const std::string& id);
    Expected<std::optional<PolicyRow>> find_policy_by_slug(const std::string& product_id,
                                                           const std::string& slug);
    // A product's policies by tier rank then slug; `storefront` keeps active, public,
    // unarchived ones.
    Expected<std::vector<PolicyRow>> list_policies(const std::string& product_id, bool storefront);

  private:
    db::Database* m_db;
};

} // namespace keysat::store
