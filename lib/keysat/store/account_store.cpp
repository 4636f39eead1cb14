#include "keysat/store/account_store.hpp"

#include <fmt/format.h>

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

constexpr const char* k_provider_columns = "id, kind, merchant_profile_id, base_url, store_id, "
                                           "api_key, webhook_id, webhook_secret, status, "
                                           "created_at, updated_at, label";

PaymentProviderRow read_provider(const db::Statement& s) {
    return PaymentProviderRow{s.column_text(0), s.column_text(1), opt_text(s, 2),
                              s.column_text(3), opt_text(s, 4),   opt_text(s, 5),
                              opt_text(s, 6),   opt_text(s, 7),   s.column_text(8),
                              s.column_int(9),  s.column_int(10), s.column_text(11)};
}

} // namespace

namespace {

constexpr const char* k_merchant_columns =
    "id, name, contact_email, created_at, legal_name, support_url, support_email, brand_color, "
    "post_purchase_redirect_url, is_default, updated_at";
constexpr std::int64_t k_connect_state_life = 30 * 60;

MerchantProfileRow read_merchant(const db::Statement& r) {
    return MerchantProfileRow{r.column_text(0),     r.column_text(1), opt_text(r, 2),
                              r.column_int(3),      opt_text(r, 4),   opt_text(r, 5),
                              opt_text(r, 6),       opt_text(r, 7),   opt_text(r, 8),
                              r.column_int(9) != 0, r.column_int(10)};
}

} // namespace

Expected<void> AccountStore::create_merchant(const MerchantProfileRow& m) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("INSERT INTO merchant_profiles ({}) VALUES "
                                                   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                                   k_merchant_columns)));
    s.bind(1, m.id)
        .bind(2, m.name)
        .bind(3, m.contact_email)
        .bind(4, m.created_at)
        .bind(5, m.legal_name)
        .bind(6, m.support_url)
        .bind(7, m.support_email)
        .bind(8, m.brand_color)
        .bind(9, m.post_purchase_redirect_url)
        .bind(10, std::int64_t{m.is_default})
        .bind(11, m.updated_at == 0 ? m.created_at : m.updated_at);
    return s.run();
}

Expected<bool> AccountStore::update_merchant(const MerchantProfileRow& m) {
    KEYSAT_TRY_ASSIGN(s,
                      m_db->prepare("UPDATE merchant_profiles SET name = ?, legal_name = ?, "
                                    "support_url = ?, support_email = ?, brand_color = ?, "
                                    "post_purchase_redirect_url = ?, updated_at = ? WHERE id = ?"));
    s.bind(1, m.name)
        .bind(2, m.legal_name)
        .bind(3, m.support_url)
        .bind(4, m.support_email)
        .bind(5, m.brand_color)
        .bind(6, m.post_purchase_redirect_url)
        .bind(7, m.updated_at)
        .bind(8, m.id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::optional<MerchantProfileRow>> AccountStore::find_merchant(const std::string& id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM merchant_profiles WHERE id = ?",
                                                   k_merchant_columns)));
    s.bind(1, id);
    return read_first<MerchantProfileRow>(s, read_merchant);
}

Expected<std::optional<MerchantProfileRow>> AccountStore::default_merchant() {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("SELECT {} FROM merchant_profiles WHERE is_default = 1",
                                     k_merchant_columns)));
    return read_first<MerchantProfileRow>(s, read_merchant);
}

Expected<bool> AccountStore::set_default_merchant(const std::string& id) {
    KEYSAT_TRY_ASSIGN(exists, find_merchant(id));
    if (!exists)
        return false;
    KEYSAT_TRY(m_db->exec("UPDATE merchant_profiles SET is_default = 0 WHERE is_default = 1"));
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE merchant_profiles SET is_default = 1 WHERE id = ?"));
    s.bind(1, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> AccountStore::delete_merchant(const std::string& id) {
    for (const char* sql : {"DELETE FROM merchant_rail_preferences WHERE merchant_profile_id = ?",
                            "DELETE FROM provider_connect_states WHERE merchant_profile_id = ?",
                            "UPDATE payment_providers SET merchant_profile_id = NULL WHERE "
                            "merchant_profile_id = ?"}) {
        KEYSAT_TRY_ASSIGN(s, m_db->prepare(sql));
        s.bind(1, id);
        KEYSAT_TRY(s.run());
    }
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM merchant_profiles WHERE id = ?"));
    s.bind(1, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::vector<MerchantProfileRow>> AccountStore::list_merchants() {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM merchant_profiles ORDER BY "
                                                   "created_at DESC, id",
                                                   k_merchant_columns)));
    return read_all<MerchantProfileRow>(s, read_merchant);
}

Expected<std::int64_t> AccountStore::merchant_product_count(const std::string& id) {
    KEYSAT_TRY_ASSIGN(s,
                      m_db->prepare("SELECT count(*) FROM products WHERE merchant_profile_id = ?"));
    s.bind(1, id);
    auto n = read_first<std::int64_t>(s, [](const db::Statement& r) { return r.column_int(0); });
    if (!n)
        return std::unexpected(n.error());
    return n->value_or(0);
}

Expected<std::vector<std::pair<std::string, std::string>>>
AccountStore::rail_preferences(const std::string& profile_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("SELECT rail, payment_provider_id FROM "
                                       "merchant_rail_preferences WHERE merchant_profile_id = ? "
                                       "ORDER BY rail"));
    s.bind(1, profile_id);
    return read_all<std::pair<std::string, std::string>>(s, [](const db::Statement& r) {
        return std::pair{r.column_text(0), r.column_text(1)};
    });
}

Expected<void> AccountStore::set_rail_preference(const std::string& profile_id,
                                                 const std::string& rail,
                                                 const std::string& provider_id) {
    KEYSAT_TRY_ASSIGN(s,
                      m_db->prepare("INSERT INTO merchant_rail_preferences (merchant_profile_id, "
                                    "rail, payment_provider_id) VALUES (?, ?, ?) ON CONFLICT "
                                    "(merchant_profile_id, rail) DO UPDATE SET "
                                    "payment_provider_id = excluded.payment_provider_id"));
    s.bind(1, profile_id).bind(2, rail).bind(3, provider_id);
    return s.run();
}

Expected<bool> AccountStore::clear_rail_preference(const std::string& profile_id,
                                                   const std::string& rail) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM merchant_rail_preferences WHERE "
                                       "merchant_profile_id = ? AND rail = ?"));
    s.bind(1, profile_id).bind(2, rail);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<void> AccountStore::save_connect_state(const ConnectStateRow& c) {
    KEYSAT_TRY_ASSIGN(prune,
                      m_db->prepare("DELETE FROM provider_connect_states WHERE created_at < ?"));
    prune.bind(1, c.created_at - k_connect_state_life);
    KEYSAT_TRY(prune.run());
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("INSERT INTO provider_connect_states (state, kind, "
                                       "merchant_profile_id, label, actor_kind, actor_id, api_key, "
                                       "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    s.bind(1, c.state)
        .bind(2, c.kind)
        .bind(3, c.merchant_profile_id)
        .bind(4, c.label)
        .bind(5, c.actor_kind)
        .bind(6, c.actor_id)
        .bind(7, c.api_key)
        .bind(8, c.created_at);
    return s.run();
}

Expected<std::optional<ConnectStateRow>> AccountStore::take_connect_state(const std::string& state,
                                                                          std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM provider_connect_states WHERE state = ? "
                                       "RETURNING state, kind, merchant_profile_id, label, "
                                       "actor_kind, actor_id, api_key, created_at"));
    s.bind(1, state);
    KEYSAT_TRY_ASSIGN(row, read_first<ConnectStateRow>(s, [](const db::Statement& r) {
                          return ConnectStateRow{
                              r.column_text(0), r.column_text(1), opt_text(r, 2), r.column_text(3),
                              r.column_text(4), r.column_text(5), opt_text(r, 6), r.column_int(7)};
                      }));
    if (row && row->created_at < now - k_connect_state_life)
        return std::nullopt; // too old: taken all the same, so it cannot be tried again
    return row;
}

Expected<void> AccountStore::save_provider(const PaymentProviderRow& p) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format(
                             "INSERT INTO payment_providers ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                             "?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, "
                             "merchant_profile_id = excluded.merchant_profile_id, base_url = "
                             "excluded.base_url, store_id = excluded.store_id, api_key = "
                             "excluded.api_key, webhook_id = excluded.webhook_id, webhook_secret "
                             "= excluded.webhook_secret, status = excluded.status, updated_at = "
                             "excluded.updated_at, label = excluded.label",
                             k_provider_columns)));
    s.bind(1, p.id)
        .bind(2, p.kind)
        .bind(3, p.merchant_profile_id)
        .bind(4, p.base_url)
        .bind(5, p.store_id)
        .bind(6, p.api_key)
        .bind(7, p.webhook_id)
        .bind(8, p.webhook_secret)
        .bind(9, p.status)
        .bind(10, p.created_at)
        .bind(11, p.updated_at)
        .bind(12, p.label);
    return s.run();
}

Expected<std::optional<PaymentProviderRow>> AccountStore::find_provider(const std::string& id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM payment_providers WHERE id = ?",
                                                   k_provider_columns)));
    s.bind(1, id);
    return read_first<PaymentProviderRow>(s, read_provider);
}

Expected<std::vector<PaymentProviderRow>> AccountStore::list_providers() {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM payment_providers ORDER BY "
                                                   "created_at, id",
                                                   k_provider_columns)));
    return read_all<PaymentProviderRow>(s, read_provider);
}

Expected<bool> AccountStore::disconnect_provider(const std::string& id, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE payment_providers SET status = 'disconnected', "
                                       "api_key = NULL, webhook_secret = NULL, updated_at = ? "
                                       "WHERE id = ?"));
    s.bind(1, now).bind(2, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

} // namespace keysat::store
