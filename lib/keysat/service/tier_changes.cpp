#include "keysat/service/tier_changes.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/service/issuance.hpp"
#include "keysat/service/pricing.hpp"
#include "keysat/service/providers.hpp"
#include "keysat/service/subscriptions.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/account_store.hpp"

namespace keysat::service {

using nlohmann::json;

namespace {

constexpr std::int64_t k_day = 86400;

bool open_plan(const std::optional<store::SubscriptionRow>& s) {
    return s && (s->status == "trialing" || s->status == "active" || s->status == "past_due");
}

// Applies `q` now: the license takes the target tier's terms and a new key, the plan follows
// (changed, started, restarted or ended), an open renewal invoice priced for the old tier is
// closed, and the change is recorded as applied. Returns the license.
Expected<store::LicenseRow> apply_now(db::Database& db, const crypto::SecretKey& signer,
                                      const TierQuote& q, store::TierChangeRow change,
                                      bool recorded, std::int64_t now) {
    store::LicenseRow license = q.license;
    const store::PolicyRow& to = q.to;
    license.policy_id = to.id;
    license.entitlements_json = to.entitlements_json;
    license.max_machines = to.max_machines;
    license.is_trial = to.is_trial;
    store::SubscriptionStore subs(db);
    std::optional<store::SubscriptionRow> plan;
    if (q.plan) {
        KEYSAT_TRY_ASSIGN(fresh, subs.find(q.plan->id));
        plan = fresh;
    }
    Events events;
    if (plan && plan->pending_policy_id) { // this change replaces the scheduled downgrade
        KEYSAT_TRY_ASSIGN(pending, subs.pending_downgrade(license.id));
        if (pending && pending->id != change.id) {
            KEYSAT_TRY_ASSIGN(finished, subs.finish_tier_change(pending->id, "cancelled", now));
            (void)finished;
        }
    }
    if (to.renewal_period_days) {
        if (open_plan(plan)) {
            std::string was = plan->status;
            KEYSAT_TRY(close_open_renewal(db, *plan, "tier-change", now));
            plan->policy_id = to.id;
            plan->listed_value = listed_price(q.product, to);
            plan->period_days = *to.renewal_period_days;
            plan->grace_days = to.grace_period_days;
            plan->pending_policy_id.reset();
            plan->updated_at = now;
            KEYSAT_TRY_ASSIGN(saved, subs.save(*plan, was));
            if (!saved)
                return invalid("the subscription changed during the tier change");
            license.expires_at = plan->current_period_end;
            license.grace_days = plan->grace_days;
        } else if (plan) { // lapsed or cancelled: the plan restarts on the new tier
            std::string was = plan->status;
            auto start = plan_start(to, now, false);
            plan->policy_id = to.id;
            plan->status = "active";
            plan->listed_value = listed_price(q.product, to);
            plan->period_days = *to.renewal_period_days;
            plan->grace_days = to.grace_period_days;
            plan->current_period_start = now;
            plan->current_period_end = start->period_end;
            plan->cancelled_at.reset();
            plan->cancellation_reason.reset();
            plan->lapsed_at.reset();
            plan->consecutive_failures = 0;
            plan->pending_policy_id.reset();
            plan->updated_at = now;
            KEYSAT_TRY_ASSIGN(saved, subs.save(*plan, was));
            if (!saved)
                return invalid("the subscription changed during the tier change");
            license.expires_at = plan->current_period_end;
            license.grace_days = plan->grace_days;
            events.emplace_back("subscription.renewed", [&] {
                json e = subscription_event(*plan);
                e["restarted"] = true;
                e["tier_change_id"] = change.id;
                return e;
            }());
        } else {
            auto start = plan_start(to, now, false);
            license.expires_at = start->period_end;
            license.grace_days = to.grace_period_days;
            KEYSAT_TRY_ASSIGN(
                started, start_subscription(db, license, q.product, to, *start, std::nullopt, now));
            (void)started;
        }
    } else {
        if (open_plan(plan)) {
            std::string was = plan->status;
            KEYSAT_TRY(close_open_renewal(db, *plan, "tier-change", now));
            plan->status = "cancelled";
            plan->cancelled_at = now;
            plan->cancellation_reason = "tier_change";
            plan->pending_policy_id.reset();
            plan->updated_at = now;
            KEYSAT_TRY_ASSIGN(saved, subs.save(*plan, was));
            if (!saved)
                return invalid("the subscription changed during the tier change");
            json e = subscription_event(*plan);
            e["actor"] = change.actor;
            e["reason"] = "tier_change";
            events.emplace_back("subscription.cancelled", e);
        }
        license.expires_at.reset();
        if (to.duration_days)
            license.expires_at = now + *to.duration_days * k_day;
        license.grace_days = to.grace_days;
    }
    KEYSAT_TRY_ASSIGN(changed, reissue_license(db, signer, license, now));
    if (recorded) {
        KEYSAT_TRY_ASSIGN(finished, subs.finish_tier_change(change.id, "applied", now));
        (void)finished;
    } else {
        change.status = "applied";
        change.effective_at = now;
        KEYSAT_TRY(subs.record_tier_change(change));
    }
    json e = {{"license_id", license.id},    {"product_id", license.product_id},
              {"from_policy_id", q.from.id}, {"to_policy_id", to.id},
              {"to_policy_slug", to.slug},   {"direction", q.direction},
              {"actor", change.actor},       {"tier_change_id", change.id}};
    if (change.invoice_id)
        e["invoice_id"] = *change.invoice_id;
    events.emplace_back("license.tier_changed", e);
    KEYSAT_TRY(emit_events(db, events, now));
    return changed;
}

} // namespace

std::int64_t prorated_charge(std::int64_t p_from, std::int64_t d_from, std::int64_t p_to,
                             std::int64_t d_to, std::int64_t seconds_left) {
    if (d_from <= 0 || d_to <= 0 || seconds_left <= 0)
        return 0;
    std::int64_t d = (seconds_left + k_day - 1) / k_day;
    __int128 numerator = static_cast<__int128>(d) * (static_cast<__int128>(p_to) * d_from -
                                                     static_cast<__int128>(p_from) * d_to);
    if (numerator <= 0)
        return 0;
    __int128 charge = numerator / (static_cast<__int128>(d_from) * d_to);
    constexpr auto k_max = std::numeric_limits<std::int64_t>::max();
    return charge > k_max ? k_max : static_cast<std::int64_t>(charge);
}

Checked<TierQuote> quote_tier_change(db::Database& db, const std::string& license_id,
                                     const std::string& target_slug,
                                     const std::optional<std::string>& code, std::int64_t now,
                                     bool admin) {
    TierQuote q;
    auto licenses = store::LicenseStore::open(db);
    if (!licenses)
        return internal("licenses");
    auto license = licenses->find(license_id);
    if (!license)
        return internal("licenses");
    if (!*license)
        return refuse("not_found", fmt::format("not found: license {}", license_id));
    q.license = **license;
    if (q.license.status != "active")
        return refuse("forbidden",
                      fmt::format("forbidden: license {} is {}", license_id, q.license.status));
    if (!q.license.policy_id)
        return refuse("bad_request", "bad request: the license has no tier to change from");
    store::CatalogStore catalog(db);
    auto product = catalog.find_product(q.license.product_id);
    auto from = catalog.find_policy(*q.license.policy_id);
    if (!product || !from)
        return internal("catalog");
    if (!*product || !*from)
        return refuse("not_found", "not found: the license's product or current tier");
    q.product = **product;
    q.from = **from;
    auto to = catalog.find_policy_by_slug(q.product.id, target_slug);
    if (!to)
        return internal("policies");
    if (!*to)
        return refuse("not_found", fmt::format("not found: tier '{}' of product '{}'", target_slug,
                                               q.product.slug));
    q.to = **to;
    if (q.to.id == q.from.id)
        return refuse("bad_request", "bad request: the target tier is the same as current");
    if (!q.to.active || q.to.archived || (!admin && !q.to.is_public)) // hidden tiers: the admin's
        return refuse("bad_request",
                      fmt::format("bad request: tier '{}' is not available", target_slug));
    auto plan = store::SubscriptionStore(db).find_by_license(q.license.id);
    if (!plan)
        return internal("subscriptions");
    q.plan = *plan;

    // What the license's current period is worth: a plan's price while that period is paid
    // (active, or cancelled and still running); nothing for a trial, an unpaid (past due) or
    // ended period; a license without a plan, its tier's list price.
    bool paid_period = q.plan && (q.plan->status == "active" || (q.plan->status == "cancelled" &&
                                                                 q.plan->current_period_end > now));
    std::int64_t p_from = !q.plan       ? listed_price(q.product, q.from)
                          : paid_period ? q.plan->listed_value
                                        : 0;
    std::int64_t p_to = listed_price(q.product, q.to);
    if (q.to.tier_rank != q.from.tier_rank)
        q.direction = q.to.tier_rank > q.from.tier_rank ? "upgrade" : "downgrade";
    else if (p_to != listed_price(q.product, q.from))
        q.direction = p_to > listed_price(q.product, q.from) ? "upgrade" : "downgrade";
    else if (admin)
        q.direction = "upgrade";
    else
        return refuse("bad_request", "bad request: the target tier is a sideways move (same rank "
                                     "and price)");

    bool to_recurring = q.to.renewal_period_days.has_value();
    if (to_recurring) {
        q.next_renewal_charge = p_to;
        q.next_renewal_period_days = *q.to.renewal_period_days;
    }
    if (q.direction == "downgrade" && !admin) {
        bool trialing = open_plan(q.plan) && q.plan->status == "trialing";
        if (open_plan(q.plan) && to_recurring && !trialing) {
            q.effective_at = q.plan->current_period_end;
            return q; // nothing to pay: the next renewal bills the lower price
        }
        if (!(trialing && to_recurring)) // a trial moves down at once, for nothing
            return refuse("bad_request", "bad request: this downgrade is admin-only (a "
                                         "subscription moves down at its next renewal; other "
                                         "licenses do not move down by themselves)");
    }
    if (open_plan(q.plan) && q.plan->status == "trialing" && to_recurring)
        q.full_charge = 0; // nothing was paid yet; the first renewal bills the new tier
    else if (open_plan(q.plan) && to_recurring) {
        q.days_charged =
            (std::max<std::int64_t>(q.plan->current_period_end - now, 0) + k_day - 1) / k_day;
        q.full_charge =
            prorated_charge(p_from, q.plan->period_days, p_to, *q.to.renewal_period_days,
                            q.plan->current_period_end - now);
    } else if (to_recurring) {
        q.full_charge = p_to;
    } else {
        q.full_charge = std::max<std::int64_t>(p_to - p_from, 0);
    }
    if (q.direction == "downgrade")
        q.full_charge = 0; // the admin's downgrade costs nothing
    q.charge = q.full_charge;
    if (code && !normalized_code(*code).empty()) {
        auto c = typed_code(db, *code, q.product, &q.to, now);
        if (!c)
            return std::unexpected(c.error());
        q.code = *c;
        q.discount =
            c->kind == "free_license" ? q.charge : discount_for(c->kind, c->value, q.charge);
        q.charge -= q.discount;
    }
    return q;
}

Checked<TierChangeResult> start_tier_change(db::Database& db, const crypto::SecretKey& signer,
                                            const TierChangeRequest& request,
                                            const AuditWriter& audit,
                                            const CreateCheckout& checkout, std::int64_t now) {
    const std::string& actor = request.actor;
    const bool skip_payment = request.skip_payment && actor == "admin";
    TierChangeResult out;
    store::PaymentProviderRow provider;
    {
        auto tx = db::Transaction::begin(db);
        if (!tx)
            return refuse("internal_error", "internal error: database busy");
        auto q = quote_tier_change(db, request.license_id, request.target_slug, request.code, now,
                                   actor == "admin");
        if (!q)
            return std::unexpected(q.error());
        out.quote = std::move(*q);
        const TierQuote& quote = out.quote;
        store::TierChangeRow& change = out.change;
        change.id = crypto::uuid_v4().to_string();
        change.license_id = quote.license.id;
        change.from_policy_id = quote.from.id;
        change.to_policy_id = quote.to.id;
        change.created_at = now;
        change.direction = quote.direction;
        change.listed_currency = quote.product.currency;
        change.proration_charge_value = skip_payment ? 0 : quote.charge;
        change.actor = actor;
        change.reason = request.reason;
        store::SubscriptionStore subs(db);
        if (quote.effective_at) { // a buyer's downgrade of an open plan: at the next renewal
            auto earlier = subs.pending_downgrade(quote.license.id);
            if (!earlier)
                return internal("tier changes");
            if (*earlier && !subs.finish_tier_change((*earlier)->id, "cancelled", now))
                return internal("could not replace the scheduled downgrade");
            change.status = "pending";
            change.effective_at = quote.effective_at;
            store::SubscriptionRow plan = *quote.plan;
            std::string was = plan.status;
            plan.pending_policy_id = quote.to.id;
            plan.updated_at = now;
            auto saved = subs.save(plan, was);
            // The open renewal invoice was priced for the old tier: a new one bills the lower.
            if (!saved || !*saved || !subs.record_tier_change(change) ||
                !close_open_renewal(db, plan, "tier-change", now) ||
                !emit_event(db, "license.tier_change_scheduled",
                            {{"license_id", quote.license.id},
                             {"product_id", quote.product.id},
                             {"from_policy_id", quote.from.id},
                             {"to_policy_id", quote.to.id},
                             {"to_policy_slug", quote.to.slug},
                             {"direction", "downgrade"},
                             {"actor", actor},
                             {"tier_change_id", change.id},
                             {"effective_at", *quote.effective_at}},
                            now) ||
                !audit("license.tier_change_scheduled", quote.license.id,
                       {{"tier_change_id", change.id}, {"to_policy_id", quote.to.id}}) ||
                !tx->commit())
                return internal("could not schedule the downgrade");
            return out;
        }
        if (skip_payment || quote.full_charge == 0) {
            auto license = apply_now(db, signer, quote, change, false, now);
            if (!license)
                return refuse("conflict", "conflict: " + license.error().message);
            if (!audit("license.change_tier", quote.license.id,
                       {{"tier_change_id", change.id},
                        {"to_policy_id", quote.to.id},
                        {"skip_payment", skip_payment}}))
                return internal("could not audit the change");
            if (!tx->commit())
                return internal("could not commit the tier change");
            change.status = "applied";
            change.effective_at = now;
            out.license = std::move(*license);
            return out;
        }
        if (!checkout && quote.charge > 0)
            return refuse("service_unavailable",
                          "service unavailable: no payment provider is connected, so the change "
                          "cannot be paid for");
        if (open_plan(quote.plan) && quote.plan->provider_id) {
            auto p = store::AccountStore(db).find_provider(*quote.plan->provider_id);
            if (p && *p && (*p)->status == "connected" && request.rail.empty())
                provider = **p;
        }
        if (provider.id.empty() && quote.charge > 0) {
            auto chosen = provider_for(db, quote.product, request.rail);
            if (!chosen)
                return std::unexpected(chosen.error());
            provider = *chosen;
        }
        store::InvoiceRow& invoice = out.invoice.emplace();
        invoice.id = crypto::uuid_v4().to_string();
        invoice.product_id = quote.product.id;
        invoice.policy_id = quote.to.id;
        invoice.base_amount = quote.full_charge;
        invoice.discount_amount = quote.discount;
        invoice.amount = quote.charge;
        invoice.currency = quote.product.currency;
        invoice.buyer_email = quote.license.buyer_email;
        invoice.purpose = "upgrade";
        invoice.redirect_url = request.redirect_url;
        invoice.license_id = quote.license.id;
        // The period the charge was priced for: a settlement checks it is still the plan's.
        if (open_plan(quote.plan))
            invoice.period_end = quote.plan->current_period_end;
        if (quote.code)
            invoice.discount_code_id = quote.code->id;
        invoice.created_at = invoice.updated_at = now;
        change.invoice_id = invoice.id;
        change.status = "pending";
        store::CommerceStore commerce(db);
        if (!commerce.create_invoice(invoice) || !subs.record_tier_change(change))
            return internal("could not record the tier change");
        if (quote.code) {
            auto reserved = commerce.reserve_use(quote.code->id, invoice.id,
                                                 crypto::uuid_v4().to_string(), now);
            if (!reserved)
                return internal("could not reserve the code's use");
            if (!*reserved)
                return refuse("bad_request", "bad request: discount code is invalid, expired, or "
                                             "has no remaining uses");
        }
        if (!audit("license.change_tier", quote.license.id,
                   {{"tier_change_id", change.id},
                    {"to_policy_id", quote.to.id},
                    {"invoice_id", invoice.id},
                    {"amount", invoice.amount}}))
            return internal("could not audit the tier change");
        if (quote.charge == 0) { // a code took all of it: settled here, the code's use with it
            auto settled = settle_invoice(db, signer, invoice.id, actor, now);
            if (!settled)
                return std::unexpected(settled.error());
            invoice.status = "settled";
            change.status = "applied";
            change.effective_at = now;
            out.license = std::move(settled->license);
        }
        if (!tx->commit())
            return internal("could not commit the tier change");
        if (out.license)
            return out;
    }
    Quote priced;
    priced.product = out.quote.product;
    priced.policy = out.quote.to;
    priced.base = out.quote.full_charge;
    priced.discount = out.quote.discount;
    priced.price = out.quote.charge;
    auto made = checkout(*out.invoice, priced, provider);
    if (!made) {
        (void)close_invoice(db, out.invoice->id, "invalid", "checkout", now);
        (void)store::SubscriptionStore(db).finish_tier_change(out.change.id, "cancelled", now);
        return std::unexpected(made.error());
    }
    auto attached = store::CommerceStore(db).attach_provider_invoice(
        out.invoice->id, made->provider_id, made->provider_invoice_id, made->checkout_url, now);
    if (!attached || !*attached) {
        (void)close_invoice(db, out.invoice->id, "invalid", "checkout", now);
        (void)store::SubscriptionStore(db).finish_tier_change(out.change.id, "cancelled", now);
        return internal("could not record the provider's invoice");
    }
    out.invoice->provider_id = made->provider_id;
    out.invoice->provider_invoice_id = made->provider_invoice_id;
    out.invoice->checkout_url = made->checkout_url;
    return out;
}

Expected<store::LicenseRow> apply_paid_tier_change(db::Database& db,
                                                   const crypto::SecretKey& signer,
                                                   const store::InvoiceRow& invoice,
                                                   std::int64_t now) {
    store::SubscriptionStore subs(db);
    KEYSAT_TRY_ASSIGN(change, subs.pending_change_of_invoice(invoice.id));
    if (!invoice.license_id)
        return invalid("upgrade invoice " + invoice.id + " names no license");
    if (!change) { // applied before, or cancelled: the license as it is
        KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
        KEYSAT_TRY_ASSIGN(row, licenses.find(*invoice.license_id));
        if (!row)
            return invalid("license " + *invoice.license_id + " is gone");
        return *row;
    }
    KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
    KEYSAT_TRY_ASSIGN(row, licenses.find(change->license_id));
    if (!row)
        return invalid("license " + change->license_id + " is gone");
    store::CatalogStore catalog(db);
    KEYSAT_TRY_ASSIGN(to, catalog.find_policy(change->to_policy_id));
    KEYSAT_TRY_ASSIGN(product, catalog.find_product(row->product_id));
    if (!to || !product)
        return invalid("the tier change's policy or product is gone");
    TierQuote q;
    q.license = *row;
    q.product = *product;
    q.to = *to;
    if (row->policy_id) {
        KEYSAT_TRY_ASSIGN(from, catalog.find_policy(*row->policy_id));
        if (from)
            q.from = *from;
    }
    q.direction = change->direction;
    KEYSAT_TRY_ASSIGN(plan, subs.find_by_license(row->id));
    q.plan = plan;
    if (row->status == "revoked")
        return *row; // paid after a revocation: recorded, nothing to change (a refund case)
    // The charge was priced for the license's tier and plan period when it was asked for. If
    // either moved since (renewed, cancelled, lapsed, changed tier), applying it would sell a
    // different thing at that price: the change is voided and announced for the operator to
    // refund or re-quote; the payment stays recorded.
    std::string stale;
    if (row->policy_id != change->from_policy_id)
        stale = "the license changed tier since the quote";
    else if (invoice.period_end &&
             (!open_plan(plan) || plan->current_period_end != *invoice.period_end))
        stale = "the subscription's period changed since the quote";
    else if (!invoice.period_end && open_plan(plan) && q.to.renewal_period_days)
        stale = "a subscription started since the quote";
    if (!stale.empty()) {
        KEYSAT_TRY_ASSIGN(voided, subs.finish_tier_change(change->id, "cancelled", now));
        (void)voided;
        KEYSAT_TRY(emit_event(db, "license.tier_change_voided",
                              {{"license_id", row->id},
                               {"tier_change_id", change->id},
                               {"invoice_id", invoice.id},
                               {"amount", invoice.amount},
                               {"currency", invoice.currency},
                               {"reason", stale}},
                              now));
        KEYSAT_TRY(audit_row(db, "system", "license.tier_change_voided", row->id,
                             {{"tier_change_id", change->id}, {"reason", stale}}, now));
        return *row;
    }
    return apply_now(db, signer, q, *change, true, now);
}

} // namespace keysat::service
