#include "keysat/service/checkout.hpp"
#include "keysat/service/providers.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/service/issuance.hpp"
#include "keysat/service/pricing.hpp"
#include "keysat/service/subscriptions.hpp"
#include "keysat/service/tier_changes.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/access_store.hpp"

namespace keysat::service {

using nlohmann::json;

namespace {

std::vector<std::string> ids_in(const std::string& json_text) {
    std::vector<std::string> out;
    json j = json::parse(json_text, nullptr, false);
    if (j.is_array())
        for (const auto& e : j)
            if (e.is_string())
                out.push_back(e.get<std::string>());
    return out;
}

bool listed(const std::vector<std::string>& ids, const std::string& id) {
    return ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end();
}

} // namespace

Expected<void> audit_row(db::Database& db, const std::string& actor, const std::string& action,
                         const std::string& target, const json& details, std::int64_t now) {
    return store::AccessStore(db).append_audit(
        {0, now, "system", actor, std::nullopt, action, target, std::nullopt, details.dump()});
}

std::optional<CodeProblem> code_problem(const store::DiscountCodeRow& code,
                                        const store::ProductRow& product,
                                        const store::PolicyRow* policy, std::int64_t now) {
    if (!code.active)
        return CodeProblem{"disabled", "discount code is disabled"};
    if (code.expires_at && *code.expires_at <= now)
        return CodeProblem{"expired", "discount code has expired"};
    bool amount_kind = code.kind == "fixed_sats" || code.kind == "set_price";
    if (!listed(ids_in(code.product_ids_json), product.id) ||
        (amount_kind && code.currency != product.currency))
        return CodeProblem{"wrong_product", "discount code does not apply to this product"};
    // A code for some tiers needs one of them: without a tier it would buy the product bare.
    if (!listed(ids_in(code.policy_ids_json), policy != nullptr ? policy->id : std::string()))
        return CodeProblem{"wrong_tier", "discount code does not apply to the selected tier"};
    if (code.max_uses && code.uses >= *code.max_uses)
        return CodeProblem{"exhausted",
                           "discount code is invalid, expired, or has no remaining uses"};
    return std::nullopt;
}

Checked<store::DiscountCodeRow> typed_code(db::Database& db, const std::string& text,
                                           const store::ProductRow& product,
                                           const store::PolicyRow* policy, std::int64_t now) {
    auto code = store::CommerceStore(db).find_code(normalized_code(text));
    if (!code)
        return internal("discount codes");
    if (!*code)
        return refuse("bad_request", "bad request: unknown discount code");
    if (auto problem = code_problem(**code, product, policy, now))
        return refuse("bad_request", "bad request: " + problem->message);
    return **code;
}

Checked<Quote> quote(db::Database& db, const PurchaseInput& in, std::int64_t now) {
    store::CatalogStore catalog(db);
    auto product = catalog.find_product_by_slug(in.product_slug);
    if (!product)
        return internal("products");
    if (!*product)
        return refuse("not_found", fmt::format("not found: product '{}'", in.product_slug));
    if (!(*product)->active)
        return refuse("bad_request", fmt::format("bad request: product '{}' is not available for "
                                                 "purchase",
                                                 in.product_slug));
    Quote q;
    q.product = **product;
    if (in.policy_slug && !in.policy_slug->empty()) {
        auto policy = catalog.find_policy_by_slug(q.product.id, *in.policy_slug);
        if (!policy)
            return internal("policies");
        if (!*policy || (*policy)->archived)
            return refuse("not_found", fmt::format("not found: policy '{}' for product '{}'",
                                                   *in.policy_slug, in.product_slug));
        if (!(*policy)->active)
            return refuse("bad_request",
                          fmt::format("bad request: policy '{}' is not active", *in.policy_slug));
        if (!(*policy)->is_public)
            return refuse("bad_request", fmt::format("bad request: policy '{}' is not available "
                                                     "on the public buy page",
                                                     *in.policy_slug));
        q.policy = **policy;
    } else {
        // A product sold in tiers is bought in one: its bare price may be 0 or stale, and a
        // license without a tier has none of a tier's terms.
        auto tiers = catalog.list_policies(q.product.id, true);
        if (!tiers)
            return internal("policies");
        if (!tiers->empty() && !in.bare_product)
            return refuse("bad_request",
                          fmt::format("bad request: 'policy_slug' is required: product '{}' is "
                                      "sold in tiers ({})",
                                      in.product_slug, tiers->front().slug));
    }
    q.base =
        q.policy && q.policy->price_override ? *q.policy->price_override : q.product.price_amount;
    store::CommerceStore commerce(db);
    bool trial = q.policy && q.policy->renewal_period_days && q.policy->trial_days &&
                 *q.policy->trial_days > 0;
    if (trial) {
        // A free trial starts without payment, so there is nothing for a code to take off.
        if (in.code && !normalized_code(*in.code).empty())
            return refuse("bad_request",
                          fmt::format("bad request: tier '{}' starts with a {}-day free trial; "
                                      "discount codes apply to paid purchases",
                                      q.policy->slug, *q.policy->trial_days));
        q.trial_days = *q.policy->trial_days;
        return q; // price 0: the trial is issued at once
    }
    if (in.code && !normalized_code(*in.code).empty()) {
        auto code = typed_code(db, *in.code, q.product, q.policy ? &*q.policy : nullptr, now);
        if (!code)
            return std::unexpected(code.error());
        q.code = std::move(*code);
    } else if (q.policy) {
        // The featured code of the tier applies itself when the buyer types none.
        auto codes = commerce.list_codes();
        if (!codes)
            return internal("discount codes");
        if (auto featured = featured_discount(*codes, q.product, *q.policy, q.base, now))
            q.code = featured->code;
    }
    if (q.code)
        q.discount = q.code->kind == "free_license"
                         ? q.base
                         : discount_for(q.code->kind, q.code->value, q.base);
    q.price = q.base - q.discount;
    return q;
}

Expected<std::optional<store::LicenseRow>> license_of_invoice(db::Database& db,
                                                              const std::string& invoice_id) {
    KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
    KEYSAT_TRY_ASSIGN(found, licenses.search(std::nullopt, invoice_id, 1));
    if (found.empty())
        return std::optional<store::LicenseRow>();
    return std::optional<store::LicenseRow>(found.front());
}

Checked<Settlement> settle_invoice(db::Database& db, const crypto::SecretKey& signer,
                                   const std::string& invoice_id, const std::string& actor,
                                   std::int64_t now) {
    // BEGIN IMMEDIATE: settlements of one invoice from other connections wait here, then find
    // it settled and return its license.
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return refuse("internal_error", "internal error: database busy");
    store::CommerceStore commerce(db);
    auto found = commerce.find_invoice(invoice_id);
    if (!found)
        return internal("invoices");
    if (!*found)
        return refuse("not_found", fmt::format("not found: invoice '{}'", invoice_id));
    const store::InvoiceRow& invoice = **found;
    if (invoice.status == "settled") {
        auto existing = license_for_invoice(db, invoice);
        if (!existing)
            return internal("licenses");
        if (*existing)
            return Settlement{**existing, false};
        return internal("invoice " + invoice_id + " is settled without a license");
    }
    if (invoice.status == "expired" || invoice.status == "invalid")
        return refuse("conflict",
                      fmt::format("conflict: invoice {} is {}", invoice_id, invoice.status));
    auto moved = commerce.transition(invoice_id, "settled", now);
    if (!moved || !*moved)
        return internal("could not settle invoice " + invoice_id);

    Expected<store::LicenseRow> license = invalid("unknown invoice purpose " + invoice.purpose);
    if (invoice.purpose == "renewal") {
        license = apply_renewal(db, signer, invoice, now);
    } else if (invoice.purpose == "upgrade") {
        license = apply_paid_tier_change(db, signer, invoice, now);
    } else {
        store::CatalogStore catalog(db);
        auto product = catalog.find_product(invoice.product_id);
        if (!product || !*product)
            return internal("the invoice's product cannot be read");
        IssueRequest request;
        request.product = **product;
        if (invoice.policy_id) {
            auto policy = catalog.find_policy(*invoice.policy_id);
            if (!policy || !*policy)
                return internal("the invoice's policy cannot be read");
            request.policy = **policy;
        }
        request.buyer_email = invoice.buyer_email;
        request.invoice_id = invoice.id;
        // A recurring tier's license runs to the plan's period end, with the plan's grace.
        std::optional<PlanStart> plan;
        if (request.policy)
            plan = plan_start(*request.policy, now);
        if (plan) {
            request.expires_at = plan->period_end;
            request.grace_days = request.policy->grace_period_days;
        }
        license = issue_and_record(db, signer, request, now);
        if (license && plan &&
            !start_subscription(db, *license, request.product, *request.policy, *plan,
                                invoice.provider_id, now))
            return internal("could not start the subscription");
    }
    if (!license)
        return internal("could not issue the license: " + license.error().message);

    json settled = {{"invoice_id", invoice.id},         {"purpose", invoice.purpose},
                    {"product_id", invoice.product_id}, {"amount", invoice.amount},
                    {"currency", invoice.currency},     {"license_id", license->id}};
    if (invoice.policy_id)
        settled["policy_id"] = *invoice.policy_id;
    if (!emit_event(db, "invoice.settled", settled, now))
        return internal("could not queue invoice.settled");
    if (invoice.discount_code_id) {
        auto used = commerce.finish_use(invoice.id, true, now);
        auto code = commerce.find_code_by_id(*invoice.discount_code_id);
        if (!used || !code || !*code ||
            !emit_event(db, "code.redeemed",
                        {{"code_id", (*code)->id},
                         {"code", (*code)->code},
                         {"invoice_id", invoice.id},
                         {"license_id", license->id}},
                        now))
            return internal("could not record the code's use");
    }
    if (!audit_row(db, actor, "invoice.settle", invoice.id,
                   {{"license_id", license->id}, {"amount", invoice.amount}}, now) ||
        !tx->commit())
        return internal("could not commit the settlement");
    return Settlement{std::move(*license), true};
}

Checked<bool> close_invoice(db::Database& db, const std::string& invoice_id,
                            const std::string& status, const std::string& actor, std::int64_t now) {
    if (status != "expired" && status != "invalid")
        return internal("an invoice closes as expired or invalid, not " + status);
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return refuse("internal_error", "internal error: database busy");
    store::CommerceStore commerce(db);
    auto moved = commerce.transition(invoice_id, status, now);
    if (!moved)
        return internal("invoices");
    if (!*moved)
        return false;
    // A reserved use goes back to the code (no redemption: nothing to do).
    if (!commerce.finish_use(invoice_id, false, now) ||
        !audit_row(db, actor, "invoice." + status, invoice_id, json::object(), now) ||
        !tx->commit())
        return internal("could not close the invoice");
    return true;
}

Checked<Purchase> start_purchase(db::Database& db, const crypto::SecretKey* signer,
                                 const PurchaseInput& in, const CreateCheckout& create_checkout,
                                 std::int64_t now) {
    Purchase out;
    store::PaymentProviderRow provider;
    {
        auto tx = db::Transaction::begin(db);
        if (!tx)
            return refuse("internal_error", "internal error: database busy");
        auto q = quote(db, in, now);
        if (!q)
            return std::unexpected(q.error());
        out.quote = std::move(*q);
        const Quote& quote = out.quote;
        if (signer == nullptr) // it could take the money but never issue the key
            return refuse("service_unavailable",
                          "service unavailable: this server is verify-only and cannot sell "
                          "licenses");
        if (quote.price > 0 && !create_checkout)
            return refuse("bad_request",
                          "bad request: no payment provider is connected, so buyers cannot pay "
                          "yet; the operator connects BTCPay or Zaprite first");
        if (quote.price > 0) {
            auto chosen = provider_for(db, quote.product, in.rail);
            if (!chosen)
                return refuse(chosen.error().code, chosen.error().message);
            provider = std::move(*chosen);
        }
        store::InvoiceRow& invoice = out.invoice;
        invoice.id = crypto::uuid_v4().to_string();
        invoice.product_id = quote.product.id;
        if (quote.policy)
            invoice.policy_id = quote.policy->id;
        invoice.base_amount = quote.base;
        invoice.discount_amount = quote.discount;
        invoice.amount = quote.price;
        invoice.currency = quote.product.currency;
        invoice.buyer_email = in.buyer_email;
        invoice.buyer_note = in.buyer_note;
        invoice.redirect_url = in.redirect_url;
        if (quote.code)
            invoice.discount_code_id = quote.code->id;
        invoice.created_at = invoice.updated_at = now;
        store::CommerceStore commerce(db);
        if (!commerce.create_invoice(invoice))
            return internal("could not record the invoice");
        if (quote.code) {
            out.redemption_id = crypto::uuid_v4().to_string();
            auto reserved =
                commerce.reserve_use(quote.code->id, invoice.id, *out.redemption_id, now);
            if (!reserved)
                return internal("could not reserve the code's use");
            if (!*reserved) // the last use went to someone else meanwhile
                return refuse("bad_request", "bad request: discount code is invalid, expired, or "
                                             "has no remaining uses");
        }
        if (quote.price == 0) {
            auto settled = settle_invoice(db, *signer, invoice.id, "buyer", now);
            if (!settled)
                return std::unexpected(settled.error());
            invoice.status = "settled";
            invoice.settled_at = now;
            out.license = std::move(settled->license);
        }
        if (!tx->commit())
            return internal("could not commit the purchase");
    }
    if (out.license)
        return out;
    // The provider's checkout, outside the transaction: it is a network call.
    auto checkout = create_checkout(out.invoice, out.quote, provider);
    if (!checkout) {
        (void)close_invoice(db, out.invoice.id, "invalid", "checkout", now);
        return std::unexpected(checkout.error());
    }
    auto attached = store::CommerceStore(db).attach_provider_invoice(
        out.invoice.id, checkout->provider_id, checkout->provider_invoice_id,
        checkout->checkout_url, now);
    if (!attached || !*attached) {
        (void)close_invoice(db, out.invoice.id, "invalid", "checkout", now);
        return internal("could not record the provider's invoice");
    }
    out.invoice.provider_id = checkout->provider_id;
    out.invoice.provider_invoice_id = checkout->provider_invoice_id;
    out.invoice.checkout_url = checkout->checkout_url;
    return out;
}

Expected<std::optional<store::LicenseRow>> recover_license(db::Database& db,
                                                           const std::string& invoice_id,
                                                           const std::string& email,
                                                           std::int64_t now) {
    using Found = std::optional<store::LicenseRow>;
    auto lower = [](std::string s) {
        std::transform(s.begin(), s.end(), s.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return s;
    };
    KEYSAT_TRY_ASSIGN(invoice, store::CommerceStore(db).find_invoice(invoice_id));
    if (!invoice || invoice->status != "settled" || !invoice->buyer_email ||
        lower(*invoice->buyer_email) != lower(email))
        return Found();
    KEYSAT_TRY_ASSIGN(license, license_for_invoice(db, *invoice));
    if (!license || license->status != "active")
        return Found();
    KEYSAT_TRY(audit_row(db, "buyer", "license.recovered", license->id,
                         {{"invoice_id", invoice_id}}, now));
    return license;
}

ReconcileReport
reconcile(db::Database& db, const crypto::SecretKey& signer,
          const std::function<Checked<ProviderStatus>(const store::InvoiceRow&)>& status_of,
          std::int64_t now, std::int64_t max_age) {
    ReconcileReport report;
    auto pending = store::CommerceStore(db).pending_since(now - max_age);
    if (!pending)
        return report;
    for (const auto& invoice : *pending) {
        if (!invoice.provider_id || !invoice.provider_invoice_id)
            continue; // its checkout was never made
        ++report.checked;
        auto status = status_of(invoice); // a network call: outside any transaction
        if (!status) {
            ++report.unreachable;
            continue;
        }
        if (*status == ProviderStatus::settled) {
            if (auto s = settle_invoice(db, signer, invoice.id, "reconciler", now);
                s && s->issued_now)
                ++report.settled;
        } else if (*status != ProviderStatus::pending) {
            auto closed = close_invoice(db, invoice.id,
                                        *status == ProviderStatus::expired ? "expired" : "invalid",
                                        "reconciler", now);
            if (closed && *closed)
                ++report.closed;
        }
    }
    return report;
}

} // namespace keysat::service
