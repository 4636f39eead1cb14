#include "keysat/store/catalog_store.hpp"

#include <fmt/format.h>

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

constexpr const char* k_product_columns =
    "id, slug, name, description, price_amount, currency, entitlements, active, created_at, "
    "updated_at, merchant_profile_id";

constexpr const char* k_policy_columns =
    "id, product_id, slug, name, duration_days, grace_days, max_machines, entitlements, "
    "hidden_entitlements, is_trial, trial_days, recurring_period, price_override, tier_rank, "
    "public, active, archived, marketing_bullets, created_at, updated_at, description, "
    "highlighted, marketing_bullets_position, metadata, grace_period_days, archived_at, "
    "renewal_period_days";

ProductRow read_product(const db::Statement& s) {
    return ProductRow{s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3),
                      s.column_int(4),  s.column_text(5), s.column_text(6), s.column_int(7) != 0,
                      s.column_int(8),  s.column_int(9),  opt_text(s, 10)};
}

PolicyRow read_policy(const db::Statement& s) {
    PolicyRow p;
    p.id = s.column_text(0);
    p.product_id = s.column_text(1);
    p.slug = s.column_text(2);
    p.name = s.column_text(3);
    p.duration_days = opt_int(s, 4);
    p.grace_days = s.column_int(5);
    p.max_machines = s.column_int(6);
    p.entitlements_json = s.column_text(7);
    p.hidden_entitlements_json = s.column_text(8);
    p.is_trial = s.column_int(9) != 0;
    p.trial_days = opt_int(s, 10);
    p.recurring_period = opt_text(s, 11);
    p.price_override = opt_int(s, 12);
    p.tier_rank = s.column_int(13);
    p.is_public = s.column_int(14) != 0;
    p.active = s.column_int(15) != 0;
    p.archived = s.column_int(16) != 0;
    p.marketing_bullets_json = s.column_text(17);
    p.created_at = s.column_int(18);
    p.updated_at = s.column_int(19);
    p.description = s.column_text(20);
    p.highlighted = s.column_int(21) != 0;
    p.marketing_bullets_position = s.column_text(22);
    p.metadata_json = s.column_text(23);
    p.grace_period_days = s.column_int(24);
    p.archived_at = opt_int(s, 25);
    p.renewal_period_days = opt_int(s, 26);
    return p;
}

// Binds a product's fields from index 1: id, slug, ..., updated_at.
void bind_product(db::Statement& s, const ProductRow& p) {
    s.bind(1, p.id)
        .bind(2, p.slug)
        .bind(3, p.name)
        .bind(4, p.description)
        .bind(5, p.price_amount)
        .bind(6, p.currency)
        .bind(7, p.entitlements_json)
        .bind(8, std::int64_t{p.active})
        .bind(9, p.created_at)
        .bind(10, p.updated_at)
        .bind(11, p.merchant_profile_id);
}

void bind_policy(db::Statement& s, const PolicyRow& p) {
    s.bind(1, p.id)
        .bind(2, p.product_id)
        .bind(3, p.slug)
        .bind(4, p.name)
        .bind(5, p.duration_days)
        .bind(6, p.grace_days)
        .bind(7, p.max_machines)
        .bind(8, p.entitlements_json)
        .bind(9, p.hidden_entitlements_json)
        .bind(10, std::int64_t{p.is_trial})
        .bind(11, p.trial_days)
        .bind(12, p.recurring_period)
        .bind(13, p.price_override)
        .bind(14, p.tier_rank)
        .bind(15, std::int64_t{p.is_public})
        .bind(16, std::int64_t{p.active})
        .bind(17, std::int64_t{p.archived})
        .bind(18, p.marketing_bullets_json)
        .bind(19, p.created_at)
        .bind(20, p.updated_at)
        .bind(21, p.description)
        .bind(22, std::int64_t{p.highlighted})
        .bind(23, p.marketing_bullets_position)
        .bind(24, p.metadata_json)
        .bind(25, p.grace_period_days)
        .bind(26, p.archived_at)
        .bind(27, p.renewal_period_days);
}

Expected<void> insert_with_message(db::Statement& s, std::string_view what, std::string_view key) {
    auto ok = s.run();
    s.reset();
    if (!ok)
        return usage_error(fmt::format("{} '{}': {}", what, key, ok.error().message));
    return {};
}

} // namespace

Expected<void> CatalogStore::create_product(const ProductRow& p) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format(
                             "INSERT INTO products ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             k_product_columns)));
    bind_product(s, p);
    return insert_with_message(s, "product", p.slug);
}

Expected<bool> CatalogStore::update_product(const ProductRow& p) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare("UPDATE products SET slug = ?2, name = ?3, description = "
                         "?4, price_amount = ?5, currency = ?6, entitlements = ?7, "
                         "active = ?8, updated_at = ?10, merchant_profile_id = ?11 WHERE id = ?1"));
    bind_product(s, p);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::optional<ProductRow>> CatalogStore::find_product(const std::string& id) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("SELECT {} FROM products WHERE id = ?", k_product_columns)));
    s.bind(1, id);
    return read_first<ProductRow>(s, read_product);
}

Expected<std::optional<ProductRow>> CatalogStore::find_product_by_slug(const std::string& slug) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("SELECT {} FROM products WHERE slug = ?", k_product_columns)));
    s.bind(1, slug);
    return read_first<ProductRow>(s, read_product);
}

Expected<std::vector<ProductRow>> CatalogStore::list_products(bool active_only) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM products WHERE active = 1 OR "
                                                   "? = 0 ORDER BY slug",
                                                   k_product_columns)));
    s.bind(1, std::int64_t{active_only});
    return read_all<ProductRow>(s, read_product);
}

Expected<void> CatalogStore::create_policy(const PolicyRow& p) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("INSERT INTO policies ({}) VALUES (?, ?, ?, ?, "
                                     "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                     "?, ?, ?, ?, ?)",
                                     k_policy_columns)));
    bind_policy(s, p);
    return insert_with_message(s, "policy", p.slug);
}

Expected<bool> CatalogStore::update_policy(const PolicyRow& p) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare("UPDATE policies SET product_id = ?2, slug = ?3, name = ?4, "
                         "duration_days = ?5, grace_days = ?6, max_machines = ?7, entitlements = "
                         "?8, hidden_entitlements = ?9, is_trial = ?10, trial_days = ?11, "
                         "recurring_period = ?12, price_override = ?13, tier_rank = ?14, public = "
                         "?15, active = ?16, archived = ?17, marketing_bullets = ?18, updated_at = "
                         "?20, description = ?21, highlighted = ?22, marketing_bullets_position = "
                         "?23, metadata = ?24, grace_period_days = ?25, archived_at = ?26, "
                         "renewal_period_days = ?27 WHERE id = ?1"));
    bind_policy(s, p);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::optional<PolicyRow>> CatalogStore::find_policy(const std::string& id) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("SELECT {} FROM policies WHERE id = ?", k_policy_columns)));
    s.bind(1, id);
    return read_first<PolicyRow>(s, read_policy);
}

Expected<std::optional<PolicyRow>> CatalogStore::find_policy_by_slug(const std::string& product_id,
                                                                     const std::string& slug) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM policies WHERE product_id = ? "
                                                   "AND slug = ?",
                                                   k_policy_columns)));
    s.bind(1, product_id).bind(2, slug);
    return read_first<PolicyRow>(s, read_policy);
}

Expected<std::vector<PolicyRow>> CatalogStore::list_policies(const std::string& product_id,
                                                             bool storefront) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format(
                             "SELECT {} FROM policies WHERE product_id = ? AND (? = 0 OR (active "
                             "= 1 AND public = 1 AND archived = 0)) ORDER BY tier_rank, slug",
                             k_policy_columns)));
    s.bind(1, product_id).bind(2, std::int64_t{storefront});
    return read_all<PolicyRow>(s, read_policy);
}

namespace {
Expected<std::int64_t> count_one(db::Database& db, std::string_view sql, const std::string& id) {
    KEYSAT_TRY_ASSIGN(s, db.prepare(sql));
    s.bind(1, id);
    auto n = read_first<std::int64_t>(s, [](const db::Statement& r) { return r.column_int(0); });
    if (!n)
        return std::unexpected(n.error());
    return n->value_or(0);
}
} // namespace

Expected<std::int64_t> CatalogStore::product_references(const std::string& id) {
    return count_one(*m_db,
                     "SELECT (SELECT count(*) FROM policies WHERE product_id = ?1) + (SELECT "
                     "count(*) FROM licenses WHERE product_id = ?1) + (SELECT count(*) FROM "
                     "invoices WHERE product_id = ?1) + (SELECT count(*) FROM discount_codes, "
                     "json_each(discount_codes.product_ids) WHERE json_each.value = ?1)",
                     id);
}

Expected<bool> CatalogStore::delete_product(const std::string& id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM products WHERE id = ?"));
    s.bind(1, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::int64_t> CatalogStore::policy_references(const std::string& id) {
    return count_one(*m_db,
                     "SELECT (SELECT count(*) FROM licenses WHERE policy_id = ?1) + (SELECT "
                     "count(*) FROM invoices WHERE policy_id = ?1) + (SELECT count(*) FROM "
                     "subscriptions WHERE policy_id = ?1) + (SELECT count(*) FROM tier_changes "
                     "WHERE from_policy_id = ?1 OR to_policy_id = ?1) + (SELECT count(*) FROM "
                     "discount_codes, json_each(discount_codes.policy_ids) WHERE json_each.value "
                     "= ?1)",
                     id);
}

Expected<bool> CatalogStore::delete_policy(const std::string& id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM policies WHERE id = ?"));
    s.bind(1, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

} // namespace keysat::store
