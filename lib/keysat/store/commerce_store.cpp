#include "keysat/store/commerce_store.hpp"

#include <fmt/format.h>

#include "keysat/store/rows.hpp"

namespace keysat::store {

namespace {

constexpr const char* k_invoice_columns =
    "id, provider_id, provider_invoice_id, product_id, policy_id, status, base_amount, "
    "discount_amount, amount, currency, buyer_email, buyer_note, discount_code_id, checkout_url, "
    "redirect_url, created_at, updated_at, settled_at, purpose, license_id, period_end";

constexpr const char* k_code_columns = "id, code, kind, value, max_uses, uses, expires_at, "
                                       "product_ids, policy_ids, featured, active, created_at, "
                                       "updated_at, description, referrer_label, currency";

InvoiceRow read_invoice(const db::Statement& s) {
    return InvoiceRow{s.column_text(0), opt_text(s, 1),   opt_text(s, 2),    s.column_text(3),
                      opt_text(s, 4),   s.column_text(5), s.column_int(6),   s.column_int(7),
                      s.column_int(8),  s.column_text(9), opt_text(s, 10),   opt_text(s, 11),
                      opt_text(s, 12),  opt_text(s, 13),  opt_text(s, 14),   s.column_int(15),
                      s.column_int(16), opt_int(s, 17),   s.column_text(18), opt_text(s, 19),
                      opt_int(s, 20)};
}

DiscountCodeRow read_code(const db::Statement& s) {
    return DiscountCodeRow{
        s.column_text(0), s.column_text(1),     s.column_text(2),      s.column_int(3),
        opt_int(s, 4),    s.column_int(5),      opt_int(s, 6),         s.column_text(7),
        s.column_text(8), s.column_int(9) != 0, s.column_int(10) != 0, s.column_int(11),
        s.column_int(12), s.column_text(13),    opt_text(s, 14),       s.column_text(15)};
}

// Which states an invoice may be in before moving to `to`.
const char* allowed_from(const std::string& to) {
    if (to == "processing")
        return "'new'";
    if (to == "settled")
        return "'new', 'processing'";
    if (to == "expired" || to == "invalid")
        return "'new', 'processing'";
    return nullptr;
}

} // namespace

Expected<void> CommerceStore::create_invoice(const InvoiceRow& i) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("INSERT INTO invoices ({}) VALUES (?, ?, ?, ?, "
                                     "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     k_invoice_columns)));
    s.bind(1, i.id)
        .bind(2, i.provider_id)
        .bind(3, i.provider_invoice_id)
        .bind(4, i.product_id)
        .bind(5, i.policy_id)
        .bind(6, i.status)
        .bind(7, i.base_amount)
        .bind(8, i.discount_amount)
        .bind(9, i.amount)
        .bind(10, i.currency)
        .bind(11, i.buyer_email)
        .bind(12, i.buyer_note)
        .bind(13, i.discount_code_id)
        .bind(14, i.checkout_url)
        .bind(15, i.redirect_url)
        .bind(16, i.created_at)
        .bind(17, i.updated_at)
        .bind(18, i.settled_at)
        .bind(19, i.purpose)
        .bind(20, i.license_id)
        .bind(21, i.period_end);
    return s.run();
}

Expected<std::optional<InvoiceRow>> CommerceStore::find_invoice(const std::string& id) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare(fmt::format("SELECT {} FROM invoices WHERE id = ?", k_invoice_columns)));
    s.bind(1, id);
    return read_first<InvoiceRow>(s, read_invoice);
}

Expected<std::optional<InvoiceRow>>
CommerceStore::find_by_provider_invoice(const std::string& provider_id,
                                        const std::string& provider_invoice_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM invoices WHERE provider_id = ? "
                                                   "AND provider_invoice_id = ?",
                                                   k_invoice_columns)));
    s.bind(1, provider_id).bind(2, provider_invoice_id);
    return read_first<InvoiceRow>(s, read_invoice);
}

Expected<bool> CommerceStore::attach_provider_invoice(const std::string& id,
                                                      const std::string& provider_id,
                                                      const std::string& provider_invoice_id,
                                                      const std::string& checkout_url,
                                                      std::int64_t now) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare("UPDATE invoices SET provider_id = ?, provider_invoice_id = "
                         "?, checkout_url = ?, updated_at = ? WHERE id = ? AND status = 'new' AND "
                         "provider_invoice_id IS NULL"));
    s.bind(1, provider_id)
        .bind(2, provider_invoice_id)
        .bind(3, checkout_url)
        .bind(4, now)
        .bind(5, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> CommerceStore::transition(const std::string& id, const std::string& status,
                                         std::int64_t now) {
    const char* from = allowed_from(status);
    if (from == nullptr)
        return usage_error(fmt::format("invoice status '{}' is not a transition target", status));
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format(
                             "UPDATE invoices SET status = ?, updated_at = ?, settled_at = CASE "
                             "WHEN ? = 'settled' THEN ? ELSE settled_at END WHERE id = ? AND "
                             "status IN ({})",
                             from)));
    s.bind(1, status).bind(2, now).bind(3, status).bind(4, now).bind(5, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::vector<InvoiceRow>> CommerceStore::pending_since(std::int64_t since) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM invoices WHERE status IN "
                                                   "('new', 'processing') AND (created_at >= ?1 "
                                                   "OR (purpose <> 'purchase' AND created_at >= "
                                                   "?1 - 3456000)) ORDER BY created_at, id",
                                                   k_invoice_columns)));
    s.bind(1, since);
    return read_all<InvoiceRow>(s, read_invoice);
}

Expected<std::vector<InvoiceRow>>
CommerceStore::invoices_of_license(const std::string& license_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM invoices WHERE license_id = ? "
                                                   "ORDER BY created_at DESC, id DESC",
                                                   k_invoice_columns)));
    s.bind(1, license_id);
    return read_all<InvoiceRow>(s, read_invoice);
}

Expected<std::vector<InvoiceRow>>
CommerceStore::newest_invoices(const std::optional<std::string>& status, int limit) {
    // Two statements, so each has its index (invoices_status, invoices_created); rowid breaks
    // ties, being in both, so neither order needs a sort.
    KEYSAT_TRY_ASSIGN(s,
                      m_db->prepare(fmt::format(
                          "SELECT {} FROM invoices {} ORDER BY created_at DESC, rowid DESC LIMIT ?",
                          k_invoice_columns, status ? "WHERE status = ?" : "")));
    int i = 1;
    if (status)
        s.bind(i++, *status);
    s.bind(i, limit);
    return read_all<InvoiceRow>(s, read_invoice);
}

Expected<std::vector<InvoiceRow>> CommerceStore::unattached_before(std::int64_t before, int limit) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM invoices WHERE status = 'new' "
                                                   "AND purpose <> 'purchase' AND "
                                                   "provider_invoice_id IS NULL AND amount > 0 "
                                                   "AND updated_at < ? ORDER BY updated_at, id "
                                                   "LIMIT ?",
                                                   k_invoice_columns)));
    s.bind(1, before).bind(2, static_cast<std::int64_t>(limit));
    return read_all<InvoiceRow>(s, read_invoice);
}

Expected<bool> CommerceStore::claim(const std::string& id, std::int64_t seen, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE invoices SET updated_at = ? WHERE id = ? AND "
                                       "updated_at = ? AND status = 'new' AND "
                                       "provider_invoice_id IS NULL"));
    s.bind(1, now).bind(2, id).bind(3, seen);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<void> CommerceStore::create_code(const DiscountCodeRow& c) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("INSERT INTO discount_codes ({}) VALUES (?, ?, "
                                                   "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                                   k_code_columns)));
    s.bind(1, c.id)
        .bind(2, c.code)
        .bind(3, c.kind)
        .bind(4, c.value)
        .bind(5, c.max_uses)
        .bind(6, c.uses)
        .bind(7, c.expires_at)
        .bind(8, c.product_ids_json)
        .bind(9, c.policy_ids_json)
        .bind(10, std::int64_t{c.featured})
        .bind(11, std::int64_t{c.active})
        .bind(12, c.created_at)
        .bind(13, c.updated_at)
        .bind(14, c.description)
        .bind(15, c.referrer_label)
        .bind(16, c.currency);
    auto ok = s.run();
    s.reset();
    return ok;
}

Expected<std::optional<DiscountCodeRow>> CommerceStore::find_code(const std::string& code) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM discount_codes WHERE code = ?",
                                                   k_code_columns)));
    s.bind(1, code);
    return read_first<DiscountCodeRow>(s, read_code);
}

Expected<std::optional<DiscountCodeRow>> CommerceStore::find_code_by_id(const std::string& id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM discount_codes WHERE id = ?",
                                                   k_code_columns)));
    s.bind(1, id);
    return read_first<DiscountCodeRow>(s, read_code);
}

Expected<bool> CommerceStore::update_code(const DiscountCodeRow& c) {
    KEYSAT_TRY_ASSIGN(s,
                      m_db->prepare("UPDATE discount_codes SET value = ?2, max_uses = ?3, "
                                    "expires_at = ?4, product_ids = ?5, policy_ids = ?6, "
                                    "featured = ?7, active = ?8, updated_at = ?9, description "
                                    "= ?10, referrer_label = ?11, currency = ?12 WHERE id = ?1"));
    s.bind(1, c.id)
        .bind(2, c.value)
        .bind(3, c.max_uses)
        .bind(4, c.expires_at)
        .bind(5, c.product_ids_json)
        .bind(6, c.policy_ids_json)
        .bind(7, std::int64_t{c.featured})
        .bind(8, std::int64_t{c.active})
        .bind(9, c.updated_at)
        .bind(10, c.description)
        .bind(11, c.referrer_label)
        .bind(12, c.currency);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> CommerceStore::delete_unredeemed_code(const std::string& id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("DELETE FROM discount_codes WHERE id = ? AND NOT EXISTS "
                                       "(SELECT 1 FROM discount_redemptions WHERE "
                                       "discount_code_id = discount_codes.id)"));
    s.bind(1, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<std::vector<RedemptionRow>> CommerceStore::redemptions(const std::string& code_id) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("SELECT id, discount_code_id, invoice_id, status, "
                                       "created_at, updated_at FROM discount_redemptions WHERE "
                                       "discount_code_id = ? ORDER BY created_at, id"));
    s.bind(1, code_id);
    return read_all<RedemptionRow>(s, [](const db::Statement& r) {
        return RedemptionRow{r.column_text(0), r.column_text(1), r.column_text(2),
                             r.column_text(3), r.column_int(4),  r.column_int(5)};
    });
}

Expected<std::vector<RedemptionDetail>>
CommerceStore::redemption_details(const std::string& code_id) {
    KEYSAT_TRY_ASSIGN(
        s, m_db->prepare("SELECT r.id, r.discount_code_id, r.invoice_id, r.status, r.created_at, "
                         "r.updated_at, (SELECT l.id FROM licenses l WHERE l.invoice_id = "
                         "r.invoice_id ORDER BY l.issued_at, l.id LIMIT 1), i.base_amount, "
                         "i.discount_amount, i.amount FROM discount_redemptions r JOIN invoices i "
                         "ON i.id = r.invoice_id WHERE r.discount_code_id = ? ORDER BY "
                         "r.created_at, r.id"));
    s.bind(1, code_id);
    return read_all<RedemptionDetail>(s, [](const db::Statement& r) {
        return RedemptionDetail{RedemptionRow{r.column_text(0), r.column_text(1), r.column_text(2),
                                              r.column_text(3), r.column_int(4), r.column_int(5)},
                                opt_text(r, 6), r.column_int(7), r.column_int(8), r.column_int(9)};
    });
}

Expected<std::vector<DiscountCodeRow>> CommerceStore::list_codes() {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare(fmt::format("SELECT {} FROM discount_codes ORDER BY code",
                                                   k_code_columns)));
    return read_all<DiscountCodeRow>(s, read_code);
}

Expected<bool> CommerceStore::set_code_active(const std::string& id, bool active,
                                              std::int64_t now) {
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE discount_codes SET active = ?, updated_at = ? WHERE "
                                       "id = ?"));
    s.bind(1, std::int64_t{active}).bind(2, now).bind(3, id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    return n == 1;
}

Expected<bool> CommerceStore::reserve_use(const std::string& code_id, const std::string& invoice_id,
                                          const std::string& redemption_id, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(*m_db));
    // One statement decides: concurrent buyers of the last use cannot both get it.
    KEYSAT_TRY_ASSIGN(take, m_db->prepare("UPDATE discount_codes SET uses = uses + 1, updated_at = "
                                          "? WHERE id = ? AND active = 1 AND (max_uses IS NULL OR "
                                          "uses < max_uses) AND (expires_at IS NULL OR expires_at "
                                          "> ?)"));
    take.bind(1, now).bind(2, code_id).bind(3, now);
    KEYSAT_TRY_ASSIGN(taken, run_changes(*m_db, take));
    if (taken != 1)
        return false;
    KEYSAT_TRY_ASSIGN(ins, m_db->prepare("INSERT INTO discount_redemptions (id, discount_code_id, "
                                         "invoice_id, status, created_at, updated_at) VALUES (?, "
                                         "?, ?, 'reserved', ?, ?) ON CONFLICT DO NOTHING"));
    ins.bind(1, redemption_id).bind(2, code_id).bind(3, invoice_id).bind(4, now).bind(5, now);
    KEYSAT_TRY_ASSIGN(inserted, run_changes(*m_db, ins));
    if (inserted != 1)
        return false; // the invoice already has a redemption: the rollback returns the use
    KEYSAT_TRY(tx.commit());
    return true;
}

Expected<bool> CommerceStore::finish_use(const std::string& invoice_id, bool used,
                                         std::int64_t now) {
    KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(*m_db));
    KEYSAT_TRY_ASSIGN(s, m_db->prepare("UPDATE discount_redemptions SET status = ?, updated_at = ? "
                                       "WHERE invoice_id = ? AND status = 'reserved'"));
    s.bind(1, used ? "used" : "released").bind(2, now).bind(3, invoice_id);
    KEYSAT_TRY_ASSIGN(n, run_changes(*m_db, s));
    if (n != 1)
        return false;
    if (!used) {
        KEYSAT_TRY_ASSIGN(back, m_db->prepare("UPDATE discount_codes SET uses = uses - 1, "
                                              "updated_at = ? WHERE id = (SELECT discount_code_id "
                                              "FROM discount_redemptions WHERE invoice_id = ?)"));
        back.bind(1, now).bind(2, invoice_id);
        KEYSAT_TRY(back.run());
    }
    KEYSAT_TRY(tx.commit());
    return true;
}

} // namespace keysat::store
