#include "keysat/service/subscriptions.hpp"

#include <fmt/format.h>

#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/service/issuance.hpp"
#include "keysat/service/providers.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/util/clock.hpp"
#include "keysat/util/date.hpp"

namespace keysat::service {

using nlohmann::json;

namespace {

constexpr std::int64_t k_day = 86400;

Checked<store::SubscriptionRow> load(db::Database& db, const std::string& id) {
    auto found = store::SubscriptionStore(db).find(id);
    if (!found)
        return internal("subscriptions");
    if (!*found)
        return refuse("not_found", fmt::format("not found: subscription {}", id));
    return **found;
}

Expected<store::LicenseRow> license_of(db::Database& db, const std::string& id) {
    KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
    KEYSAT_TRY_ASSIGN(row, licenses.find(id));
    if (!row)
        return invalid("license " + id + " is gone");
    return *row;
}

json with(json base, const json& more) {
    for (const auto& [k, v] : more.items())
        base[k] = v;
    return base;
}

// Saves `s`, expected to still be in `was`; a conflict when another writer moved it first.
Checked<void> save(db::Database& db, store::SubscriptionRow& s, const std::string& was,
                   std::int64_t now) {
    s.updated_at = now;
    auto saved = store::SubscriptionStore(db).save(s, was);
    if (!saved)
        return internal("could not save the subscription");
    if (!*saved)
        return refuse("conflict", "conflict: the subscription changed meanwhile; try again");
    return {};
}

bool open_status(const std::string& status) {
    return status == "trialing" || status == "active" || status == "past_due";
}

// Moves a plan and its license to the downgrade they were waiting for (in the caller's
// transaction; the caller saves the plan and reissues the license): the plan's tier, price,
// period and grace, the license's tier terms, the tier change applied, license.tier_changed.
Expected<void> switch_to_pending(db::Database& db, store::SubscriptionRow& s,
                                 store::LicenseRow& license, const store::PolicyRow& to,
                                 Events& events, std::int64_t now) {
    store::SubscriptionStore subs(db);
    KEYSAT_TRY_ASSIGN(pending, subs.pending_downgrade(s.license_id));
    KEYSAT_TRY_ASSIGN(product, store::CatalogStore(db).find_product(to.product_id));
    std::string from_policy = s.policy_id;
    s.policy_id = to.id;
    s.period_days = to.renewal_period_days.value_or(s.period_days);
    if (product)
        s.listed_value = listed_price(*product, to);
    s.grace_days = to.grace_period_days;
    s.pending_policy_id.reset();
    license.policy_id = to.id;
    license.entitlements_json = to.entitlements_json;
    license.max_machines = to.max_machines;
    license.is_trial = to.is_trial;
    license.grace_days = s.grace_days;
    json changed = {{"license_id", license.id},
                    {"product_id", license.product_id},
                    {"from_policy_id", from_policy},
                    {"to_policy_id", to.id},
                    {"to_policy_slug", to.slug},
                    {"direction", "downgrade"},
                    {"actor", "system"},
                    {"applied_via", "renewal"}};
    if (pending) {
        KEYSAT_TRY_ASSIGN(finished, subs.finish_tier_change(pending->id, "applied", now));
        (void)finished;
        changed["tier_change_id"] = pending->id;
    }
    events.emplace_back("license.tier_changed", changed);
    return {};
}

} // namespace

Expected<void> emit_events(db::Database& db, const Events& events, std::int64_t now) {
    for (const auto& [type, data] : events)
        KEYSAT_TRY(emit_event(db, type, data, now));
    return {};
}

std::int64_t listed_price(const store::ProductRow& product, const store::PolicyRow& policy) {
    return policy.price_override.value_or(product.price_amount);
}

std::optional<PlanStart> plan_start(const store::PolicyRow& policy, std::int64_t now,
                                    bool with_trial) {
    if (!policy.renewal_period_days)
        return std::nullopt;
    if (with_trial && policy.trial_days && *policy.trial_days > 0)
        return PlanStart{"trialing", now + *policy.trial_days * k_day};
    return PlanStart{"active", now + *policy.renewal_period_days * k_day};
}

json subscription_event(const store::SubscriptionRow& s) {
    return {{"subscription_id", s.id},
            {"license_id", s.license_id},
            {"product_id", s.product_id},
            {"policy_id", s.policy_id},
            {"status", s.status},
            {"current_period_end", format_timestamp(s.current_period_end)}};
}

Expected<store::SubscriptionRow>
start_subscription(db::Database& db, const store::LicenseRow& license,
                   const store::ProductRow& product, const store::PolicyRow& policy,
                   const PlanStart& start, const std::optional<std::string>& provider_id,
                   std::int64_t now) {
    store::SubscriptionRow s;
    s.id = crypto::uuid_v4().to_string();
    s.license_id = license.id;
    s.policy_id = policy.id;
    s.product_id = product.id;
    s.status = start.status;
    s.period_days = policy.renewal_period_days.value_or(30);
    s.listed_currency = product.currency;
    s.listed_value = listed_price(product, policy);
    s.grace_days = policy.grace_period_days;
    s.started_at = s.current_period_start = now;
    s.current_period_end = start.period_end;
    s.provider_id = provider_id;
    s.created_at = s.updated_at = now;
    KEYSAT_TRY(store::SubscriptionStore(db).create(s));
    KEYSAT_TRY(emit_event(
        db, "subscription.created",
        with(subscription_event(s),
             {{"period_days", s.period_days},
              {"listed_currency", s.listed_currency},
              {"listed_value", s.listed_value},
              {"buyer_email", license.buyer_email ? json(*license.buyer_email) : json(nullptr)}}),
        now));
    return s;
}

Expected<void> close_open_renewal(db::Database& db, const store::SubscriptionRow& s,
                                  const std::string& actor, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(invoices, store::CommerceStore(db).invoices_of_license(s.license_id));
    for (const auto& i : invoices)
        if (i.purpose == "renewal" && (i.status == "new" || i.status == "processing")) {
            auto closed = close_invoice(db, i.id, "invalid", actor, now);
            if (!closed)
                return invalid(closed.error().message);
        }
    return {};
}

Checked<SubscriptionChange> cancel_subscription(db::Database& db, const std::string& id,
                                                const std::string& actor,
                                                const std::optional<std::string>& reason,
                                                std::int64_t now) {
    SubscriptionChange out;
    auto s = load(db, id);
    if (!s)
        return std::unexpected(s.error());
    out.subscription = *s;
    if (!open_status(s->status)) {
        out.already = s->status;
        return out;
    }
    std::string was = s->status;
    s->status = "cancelled";
    s->cancelled_at = now;
    s->cancellation_reason = reason;
    s->pending_policy_id.reset();
    auto saved = save(db, *s, was, now);
    if (!saved)
        return std::unexpected(saved.error());
    // The license runs to the paid period's end and no further: no grace after a cancellation.
    auto license = license_of(db, s->license_id);
    if (!license)
        return internal(license.error().message);
    license->grace_days = 0;
    auto licenses = store::LicenseStore::open(db);
    if (!licenses || !licenses->reissue(*license, now))
        return internal("could not end the license's grace");
    if (!close_open_renewal(db, *s, actor, now))
        return internal("could not close the open renewal invoice");
    auto pending = store::SubscriptionStore(db).pending_downgrade(s->license_id);
    if (!pending)
        return internal("tier changes");
    if (*pending &&
        !store::SubscriptionStore(db).finish_tier_change((*pending)->id, "cancelled", now))
        return internal("could not cancel the scheduled downgrade");
    out.subscription = *s;
    out.events.emplace_back(
        "subscription.cancelled",
        with(subscription_event(*s), {{"actor", actor},
                                      {"reason", reason ? json(*reason) : json(nullptr)},
                                      {"ends_at", format_timestamp(s->current_period_end)}}));
    return out;
}

Checked<SubscriptionChange> resume_subscription(db::Database& db, const std::string& id,
                                                std::int64_t now) {
    SubscriptionChange out;
    auto s = load(db, id);
    if (!s)
        return std::unexpected(s.error());
    out.subscription = *s;
    if (open_status(s->status)) {
        out.already = s->status;
        return out;
    }
    if (s->status != "cancelled" || s->current_period_end <= now)
        return refuse("conflict",
                      fmt::format("conflict: subscription {} is {} and its period ended; the "
                                  "buyer renews it (POST /v1/subscriptions/renew) or an admin "
                                  "extends it",
                                  id, s->status));
    s->status = "active";
    s->cancelled_at.reset();
    s->cancellation_reason.reset();
    auto saved = save(db, *s, "cancelled", now);
    if (!saved)
        return std::unexpected(saved.error());
    auto license = license_of(db, s->license_id);
    if (!license)
        return internal(license.error().message);
    license->grace_days = s->grace_days;
    auto licenses = store::LicenseStore::open(db);
    if (!licenses || !licenses->reissue(*license, now))
        return internal("could not restore the license's grace");
    out.subscription = *s;
    out.events.emplace_back("subscription.resumed", subscription_event(*s));
    return out;
}

Checked<SubscriptionChange> extend_subscription(db::Database& db, const crypto::SecretKey& signer,
                                                const std::string& id, std::int64_t days,
                                                std::int64_t now) {
    SubscriptionChange out;
    auto s = load(db, id);
    if (!s)
        return std::unexpected(s.error());
    std::string was = s->status;
    std::int64_t previous_end = s->current_period_end;
    s->current_period_end = std::max(s->current_period_end, now) + days * k_day;
    if (s->status == "past_due" || s->status == "lapsed") {
        s->status = "active";
        s->lapsed_at.reset();
        s->consecutive_failures = 0;
    }
    auto saved = save(db, *s, was, now);
    if (!saved)
        return std::unexpected(saved.error());
    auto license = license_of(db, s->license_id);
    if (!license)
        return internal(license.error().message);
    license->expires_at = s->current_period_end;
    license->grace_days = s->status == "cancelled" ? 0 : s->grace_days;
    if (auto r = reissue_license(db, signer, *license, now); !r)
        return refuse("conflict", "conflict: " + r.error().message);
    out.subscription = *s;
    out.events.emplace_back(
        "subscription.extended",
        with(subscription_event(*s),
             {{"days", days}, {"previous_period_end", format_timestamp(previous_end)}}));
    return out;
}

Expected<store::LicenseRow> apply_renewal(db::Database& db, const crypto::SecretKey& signer,
                                          const store::InvoiceRow& invoice, std::int64_t now) {
    if (!invoice.license_id)
        return invalid("renewal invoice " + invoice.id + " names no license");
    store::SubscriptionStore subs(db);
    KEYSAT_TRY_ASSIGN(found, subs.find_by_license(*invoice.license_id));
    if (!found)
        return invalid("license " + *invoice.license_id + " has no subscription");
    store::SubscriptionRow s = *found;
    KEYSAT_TRY_ASSIGN(license, license_of(db, s.license_id));
    if (license.status == "revoked")
        return license; // paid after a revocation: recorded, nothing to extend (a refund case)
    std::string was = s.status;
    std::int64_t previous_end = s.current_period_end;
    // A lapsed plan, or one whose grace is over, restarts now; otherwise the next period starts
    // where the last one ends, so paying early or late inside the grace moves nothing.
    std::int64_t grace = s.status == "cancelled" ? 0 : s.grace_days * k_day; // none after cancel
    bool restart = s.status == "lapsed" || now >= s.current_period_end + grace;
    std::int64_t start = restart ? now : s.current_period_end;

    store::CatalogStore catalog(db);
    Events events;
    // The scheduled downgrade starts with the new period: now when that period starts now (or
    // started), else at its start, which the worker's pass takes care of (paying early must not
    // end the paid tier's last days early). The new period's length is the lower tier's.
    std::optional<store::PolicyRow> pending_to;
    if (s.pending_policy_id) {
        KEYSAT_TRY_ASSIGN(to, catalog.find_policy(*s.pending_policy_id));
        pending_to = to;
    }
    bool switch_now = pending_to && start <= now;
    if (pending_to && !switch_now && pending_to->renewal_period_days)
        s.period_days_next = *pending_to->renewal_period_days;
    if (switch_now) {
        KEYSAT_TRY(switch_to_pending(db, s, license, *pending_to, events, now));
    } else if (s.pending_policy_id && !pending_to) {
        s.pending_policy_id.reset(); // the tier is gone: nothing to move to
    }
    s.status = "active";
    s.current_period_start = start;
    s.current_period_end = start + s.period_days_next.value_or(s.period_days) * k_day;
    s.consecutive_failures = 0;
    s.last_renewal_attempt_at.reset();
    s.cancelled_at.reset();
    s.cancellation_reason.reset();
    s.lapsed_at.reset();
    if (invoice.provider_id)
        s.provider_id = invoice.provider_id;
    s.updated_at = now;
    KEYSAT_TRY_ASSIGN(saved, subs.save(s, was));
    if (!saved)
        return invalid("subscription " + s.id + " changed during its renewal");
    license.expires_at = s.current_period_end;
    license.grace_days = s.grace_days;
    KEYSAT_TRY_ASSIGN(renewed, reissue_license(db, signer, license, now));
    events.emplace_back(
        "subscription.renewed",
        with(subscription_event(s),
             {{"invoice_id", invoice.id},
              {"amount", invoice.amount},
              {"amount_sats", invoice.currency == "SAT" ? json(invoice.amount) : json(nullptr)},
              {"listed_currency", invoice.currency},
              {"previous_period_end", format_timestamp(previous_end)},
              {"restarted", restart}}));
    KEYSAT_TRY(emit_events(db, events, now));
    return renewed;
}

Expected<std::optional<store::LicenseRow>> license_for_invoice(db::Database& db,
                                                               const store::InvoiceRow& invoice) {
    if (invoice.license_id) {
        KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
        return licenses.find(*invoice.license_id);
    }
    return license_of_invoice(db, invoice.id);
}

Checked<RenewalInvoice> open_renewal(db::Database& db, const crypto::SecretKey& signer,
                                     const std::string& subscription_id, std::int64_t now,
                                     std::optional<std::int64_t> horizon) {
    RenewalInvoice out;
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return refuse("internal_error", "internal error: database busy");
    auto s = load(db, subscription_id);
    if (!s)
        return std::unexpected(s.error());
    out.subscription = *s;
    if (horizon && (!open_status(s->status) || s->current_period_end > *horizon))
        return refuse("conflict", "conflict: the subscription is not due for renewal");
    // Paying ahead is limited to the next period: a plan paid years ahead would also make a
    // tier change's proration cover more than anyone meant to sell at that price.
    if (!horizon && s->current_period_end > now + s->period_days * k_day)
        return refuse("conflict",
                      fmt::format("conflict: the subscription is paid through {}; "
                                  "renew again within {} days of that date",
                                  format_timestamp(s->current_period_end), s->period_days));
    store::CommerceStore commerce(db);
    auto invoices = commerce.invoices_of_license(s->license_id);
    if (!invoices)
        return internal("invoices");
    for (const auto& i : *invoices)
        if (i.purpose == "renewal" && i.period_end == s->current_period_end &&
            (i.status == "new" || i.status == "processing" || i.status == "settled")) {
            out.invoice = i;
            return out; // opened by someone else: one per period
        }
    store::CatalogStore catalog(db);
    auto policy = catalog.find_policy(s->pending_policy_id.value_or(s->policy_id));
    auto product = catalog.find_product(s->product_id);
    if (!policy || !*policy || !product || !*product)
        return internal("the subscription's policy or product cannot be read");
    auto license = license_of(db, s->license_id);
    if (!license)
        return internal(license.error().message);
    if (license->status != "active")
        return refuse("conflict",
                      fmt::format("conflict: license {} is {}", license->id, license->status));
    out.quote.product = **product;
    out.quote.policy = **policy;
    out.quote.base = out.quote.price =
        s->pending_policy_id ? listed_price(**product, **policy) : s->listed_value;
    if (out.quote.price > 0) {
        std::optional<store::PaymentProviderRow> provider;
        if (s->provider_id) {
            auto p = store::AccountStore(db).find_provider(*s->provider_id);
            if (p && *p && (*p)->status == "connected")
                provider = **p;
        }
        if (!provider) {
            auto chosen = provider_for(db, **product, "");
            if (!chosen)
                return std::unexpected(chosen.error());
            provider = *chosen;
        }
        out.provider = *provider;
    }
    store::InvoiceRow& invoice = out.invoice;
    invoice.id = crypto::uuid_v4().to_string();
    invoice.product_id = s->product_id;
    invoice.policy_id = (*policy)->id;
    invoice.base_amount = invoice.amount = out.quote.price;
    invoice.currency = (*product)->currency;
    invoice.buyer_email = license->buyer_email;
    invoice.purpose = "renewal";
    invoice.license_id = s->license_id;
    invoice.period_end = s->current_period_end;
    invoice.created_at = invoice.updated_at = now;
    if (!commerce.create_invoice(invoice))
        return internal("could not record the renewal invoice");
    out.created = true;
    if (out.quote.price == 0) {
        auto settled = settle_invoice(db, signer, invoice.id, "renewal-worker", now);
        if (!settled)
            return std::unexpected(settled.error());
        invoice.status = "settled";
    }
    if (!tx->commit())
        return internal("could not commit the renewal invoice");
    return out;
}

namespace {

// Queues the announcement of a renewal invoice whose checkout is attached: auto_charge_failed
// when a charge call failed, then auto_charge_initiated when a saved method paid, else
// renewal_pending with the link; its audit row; and the attempt's time on the plan.
Checked<void> announce(db::Database& db, const RenewalInvoice& r, const Checkout& checkout,
                       const ChargeOutcome& charge, std::int64_t now) {
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return refuse("internal_error", "internal error: database busy");
    const auto& s = r.subscription;
    json data =
        with(subscription_event(s),
             {{"invoice_id", r.invoice.id},
              {"checkout_url", checkout.checkout_url},
              {"amount", r.invoice.amount},
              {"amount_sats", r.invoice.currency == "SAT" ? json(r.invoice.amount) : json(nullptr)},
              {"listed_currency", r.invoice.currency},
              {"listed_value", r.invoice.amount},
              {"cycle_start_at", format_timestamp(s.current_period_end)},
              {"cycle_end_at", format_timestamp(s.current_period_end + s.period_days * k_day)},
              {"due_at", format_timestamp(s.current_period_end)},
              {"buyer_email", r.invoice.buyer_email ? json(*r.invoice.buyer_email) : json(nullptr)},
              {"is_first_paid_cycle", s.status == "trialing"}});
    if (!charge.error.empty()) {
        json failed = {{"subscription_id", s.id},
                       {"license_id", s.license_id},
                       {"invoice_id", r.invoice.id},
                       {"reason", charge.error}};
        if (!emit_event(db, "subscription.auto_charge_failed", failed, now))
            return internal("could not announce the failed charge");
    }
    // A charge that was paid needs no link; one that was not falls back to the link.
    std::string event =
        charge.paid ? "subscription.auto_charge_initiated" : "subscription.renewal_pending";
    if (charge.paid) {
        data.erase("checkout_url");
        data.erase("due_at");
        data.erase("buyer_email");
        data.erase("is_first_paid_cycle");
    }
    if (!emit_event(db, event, data, now) ||
        !audit_row(db, "renewal-worker", event, s.id,
                   {{"invoice_id", r.invoice.id},
                    {"amount", r.invoice.amount},
                    {"auto_charge",
                     charge.attempted ? json(charge.paid ? "paid" : "not paid") : json(nullptr)}},
                   now) ||
        !store::SubscriptionStore(db).record_attempt(s.id, now) || !tx->commit())
        return internal("could not announce the renewal");
    return {};
}

} // namespace

Checked<Delivered> deliver_renewal(db::Database& db, RenewalInvoice& r,
                                   const CreateCheckout& checkout, const AutoCharge& auto_charge,
                                   const Clock& clock) {
    Delivered out;
    if (r.invoice.status == "settled" || r.invoice.amount == 0)
        return out;
    // Still ours to finish: new, with no checkout (closed meanwhile, or another process's).
    auto fresh = store::CommerceStore(db).find_invoice(r.invoice.id);
    if (!fresh)
        return internal("invoices");
    if (!*fresh || (*fresh)->status != "new" || (*fresh)->provider_invoice_id)
        return out;
    if (!checkout)
        return refuse("service_unavailable",
                      "service unavailable: no payment provider can be reached");
    auto made = checkout(r.invoice, r.quote, r.provider); // a network call: no transaction
    if (!made)
        return std::unexpected(made.error());
    // Attached only while the invoice is new and has none: of two processes that both made a
    // checkout, one attaches and only that one charges and announces.
    auto attached = store::CommerceStore(db).attach_provider_invoice(
        r.invoice.id, made->provider_id, made->provider_invoice_id, made->checkout_url,
        clock.now());
    if (!attached)
        return internal("could not record the provider's invoice");
    if (!*attached)
        return out;
    r.invoice.provider_id = made->provider_id;
    r.invoice.provider_invoice_id = made->provider_invoice_id;
    r.invoice.checkout_url = made->checkout_url;
    out.attached = true;
    ChargeOutcome charge;
    if (auto_charge && r.subscription.zaprite_payment_profile_id && r.provider.kind == "zaprite") {
        charge.attempted = true;
        auto paid = auto_charge(r, *made); // a network call: no transaction
        if (paid)
            charge.paid = *paid;
        else
            charge.error = paid.error().message;
    }
    out.charged = charge.paid;
    if (auto announced = announce(db, r, *made, charge, clock.now()); !announced)
        return std::unexpected(announced.error());
    return out;
}

namespace {

// Moves a plan from one of `from` to `to` when it still qualifies (checked again inside the
// transaction), with its event and audit row; true when this call moved it.
bool transition(db::Database& db, const std::string& id, const std::string& to,
                const std::function<bool(const store::SubscriptionRow&)>& still, std::int64_t now) {
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return false;
    store::SubscriptionStore subs(db);
    auto found = subs.find(id);
    if (!found || !*found || !still(**found))
        return false;
    store::SubscriptionRow s = **found;
    std::string was = s.status;
    s.status = to;
    if (to == "lapsed")
        s.lapsed_at = now;
    s.updated_at = now;
    auto saved = subs.save(s, was);
    if (!saved || !*saved)
        return false;
    json data = with(subscription_event(s), {{"previous_status", was}});
    if (to == "past_due")
        data["grace_until"] = format_timestamp(s.current_period_end + s.grace_days * k_day);
    return emit_event(db, "subscription." + to, data, now) &&
           audit_row(db, "renewal-worker", "subscription." + to, s.id, {{"from", was}}, now) &&
           tx->commit();
}

} // namespace

void renewal_failed(db::Database& db, const RenewalInvoice& r, const std::string& why, bool count,
                    std::int64_t now) {
    (void)close_invoice(db, r.invoice.id, "invalid", "renewal-worker", now);
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return;
    if ((!count || store::SubscriptionStore(db).record_failure(r.subscription.id, now)) &&
        audit_row(db, "renewal-worker", "subscription.renewal_failed", r.subscription.id,
                  {{"invoice_id", r.invoice.id.empty() ? json(nullptr) : json(r.invoice.id)},
                   {"reason", why}},
                  now))
        (void)tx->commit();
}

RenewalReport renewal_pass(db::Database& db, const crypto::SecretKey& signer,
                           const CreateCheckout& checkout, const AutoCharge& auto_charge,
                           const Clock& clock, std::int64_t lead, int batch) {
    RenewalReport report;
    auto finish = [&](RenewalInvoice& r) -> bool {
        auto delivered = deliver_renewal(db, r, checkout, auto_charge, clock);
        if (!delivered) {
            renewal_failed(db, r, delivered.error().message, true, clock.now());
            ++report.failed;
            return false;
        }
        if (delivered->charged)
            ++report.charged;
        return delivered->attached;
    };
    // Invoices a stopped pass left without their checkout (five minutes untouched: not a pass
    // still working on them). The claim moves updated_at, so one pass takes each.
    std::int64_t now = clock.now();
    if (auto stuck = store::CommerceStore(db).unattached_before(now - 300, batch)) {
        for (const auto& invoice : *stuck) {
            if (!invoice.license_id || invoice.purpose != "renewal")
                continue;
            auto claimed =
                store::CommerceStore(db).claim(invoice.id, invoice.updated_at, clock.now());
            if (!claimed || !*claimed)
                continue;
            auto s = store::SubscriptionStore(db).find_by_license(*invoice.license_id);
            if (!s || !*s)
                continue;
            RenewalInvoice r;
            r.invoice = invoice;
            r.subscription = **s;
            store::CatalogStore catalog(db);
            auto product = catalog.find_product(invoice.product_id);
            auto policy = invoice.policy_id ? catalog.find_policy(*invoice.policy_id)
                                            : Expected<std::optional<store::PolicyRow>>();
            if (!product || !*product)
                continue;
            r.quote.product = **product;
            if (policy && *policy)
                r.quote.policy = **policy;
            r.quote.base = r.quote.price = invoice.amount;
            auto provider = provider_for(db, **product, "");
            if (r.subscription.provider_id)
                if (auto p = store::AccountStore(db).find_provider(*r.subscription.provider_id);
                    p && *p && (*p)->status == "connected")
                    provider = **p;
            if (!provider) {
                renewal_failed(db, r, provider.error().message, true, clock.now());
                ++report.failed;
                continue;
            }
            r.provider = *provider;
            if (finish(r))
                ++report.retried;
        }
    }
    if (auto due = store::SubscriptionStore(db).due_for_invoice(now + lead, now, batch)) {
        for (const auto& s : *due) {
            auto opened = open_renewal(db, signer, s.id, clock.now(), clock.now() + lead);
            if (!opened) {
                if (opened.error().code == "conflict")
                    continue; // no longer due: cancelled, renewed or changed meanwhile
                RenewalInvoice r;
                r.subscription = s;
                renewal_failed(db, r, opened.error().message, true, clock.now());
                ++report.failed;
                continue;
            }
            if (!opened->created)
                continue; // another worker, or the buyer, opened it
            if (finish(*opened))
                ++report.opened;
        }
    }
    now = clock.now();
    // Downgrades whose paid period has begun (its renewal was paid early).
    if (auto starting = store::SubscriptionStore(db).downgrades_due(now, batch))
        for (const auto& plan : *starting) {
            auto tx = db::Transaction::begin(db);
            if (!tx)
                continue;
            auto fresh = store::SubscriptionStore(db).find(plan.id);
            if (!fresh || !*fresh || !(*fresh)->pending_policy_id ||
                (*fresh)->current_period_start > now || !open_status((*fresh)->status))
                continue;
            store::SubscriptionRow s = **fresh;
            auto to = store::CatalogStore(db).find_policy(*s.pending_policy_id);
            auto license = license_of(db, s.license_id);
            if (!to || !*to || !license)
                continue;
            Events events;
            std::string was = s.status;
            if (!switch_to_pending(db, s, *license, **to, events, now))
                continue;
            s.updated_at = now;
            auto saved = store::SubscriptionStore(db).save(s, was);
            if (saved && *saved && reissue_license(db, signer, *license, now) &&
                emit_events(db, events, now) &&
                audit_row(db, "renewal-worker", "subscription.downgraded", s.id,
                          {{"to_policy_id", s.policy_id}}, now) &&
                tx->commit())
                ++report.downgraded;
        }
    if (auto ended = store::SubscriptionStore(db).ended(now, batch))
        for (const auto& s : *ended)
            if (transition(
                    db, s.id, "past_due",
                    [now](const store::SubscriptionRow& r) {
                        return (r.status == "trialing" || r.status == "active") &&
                               r.current_period_end <= now;
                    },
                    now))
                ++report.past_due;
    if (auto lapsing = store::SubscriptionStore(db).out_of_grace(now, batch))
        for (const auto& s : *lapsing)
            if (transition(
                    db, s.id, "lapsed",
                    [now](const store::SubscriptionRow& r) {
                        return r.status == "past_due" &&
                               r.current_period_end + r.grace_days * k_day <= now;
                    },
                    now))
                ++report.lapsed;
    return report;
}

} // namespace keysat::service
