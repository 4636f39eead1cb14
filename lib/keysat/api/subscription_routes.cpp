// Subscriptions and tier changes over HTTP. The buyer's routes take the license key as proof
// (its signature is checked and its license must be active here): cancel a plan, pay its renewal
// now, price and start a move to another tier. The admin's routes list and show plans, cancel,
// resume and extend them, and change a license's tier with or without payment. Every rule is in
// service/subscriptions and service/tier_changes; these handlers parse, authorize and shape.

#include <charconv>

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/service/subscriptions.hpp"
#include "keysat/service/tier_changes.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/commerce_store.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/net.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

constexpr const char* k_id = "([0-9a-f-]{36})";

json opt_time(const std::optional<std::int64_t>& t) {
    return t ? json(format_timestamp(*t)) : json(nullptr);
}

json opt_text(const std::optional<std::string>& t) {
    return t ? json(*t) : json(nullptr);
}

bool renews(const store::SubscriptionRow& s) {
    return s.status == "trialing" || s.status == "active" || s.status == "past_due";
}

// A plan as the admin routes show it: Keysat's fields and types first, then ours.
json subscription_json(const store::SubscriptionRow& s) {
    return {{"id", s.id},
            {"license_id", s.license_id},
            {"policy_id", s.policy_id},
            {"product_id", s.product_id},
            {"listed_currency", s.listed_currency},
            {"status", s.status},
            {"started_at", format_timestamp(s.started_at)},
            {"period_days", s.period_days},
            {"listed_value", s.listed_value},
            {"consecutive_failures", s.consecutive_failures},
            {"next_renewal_at",
             renews(s) ? json(format_timestamp(s.current_period_end)) : json(nullptr)},
            {"cancelled_at", opt_time(s.cancelled_at)},
            {"cancellation_reason", opt_text(s.cancellation_reason)},
            {"current_period_start", format_timestamp(s.current_period_start)},
            {"current_period_end", format_timestamp(s.current_period_end)},
            {"grace_days", s.grace_days},
            {"grace_until", s.status == "cancelled" ? json(format_timestamp(s.current_period_end))
                                                    : json(format_timestamp(s.current_period_end +
                                                                            s.grace_days * 86400))},
            {"pending_policy_id", opt_text(s.pending_policy_id)},
            {"lapsed_at", opt_time(s.lapsed_at)},
            {"payment_provider_id", opt_text(s.provider_id)},
            // Whether renewals are charged to a card the buyer saved (the profile's id stays
            // here).
            {"saved_payment_method", s.zaprite_payment_profile_id.has_value()},
            {"created_at", format_timestamp(s.created_at)},
            {"updated_at", format_timestamp(s.updated_at)}};
}

json tier_change_json(const store::TierChangeRow& t) {
    return {{"id", t.id},
            {"license_id", t.license_id},
            {"from_policy_id", opt_text(t.from_policy_id)},
            {"to_policy_id", t.to_policy_id},
            {"direction", t.direction},
            {"listed_currency", t.listed_currency},
            {"proration_charge_value", t.proration_charge_value},
            {"invoice_id", opt_text(t.invoice_id)},
            {"effective_at", opt_time(t.effective_at)},
            {"actor", t.actor},
            {"reason", opt_text(t.reason)},
            {"status", t.status},
            {"created_at", format_timestamp(t.created_at)}};
}

// The buyer's body and its license: nullopt with `answer` set when rate-limited, malformed, or
// when the key proves no active license here (401, one answer for every such case).
struct BuyerRequest {
    json body;
    store::LicenseRow license;
};

// Changes (cancel, renew, upgrade) are limited as purchases are (10 at once, then one every 6
// seconds per client); quotes change nothing and are limited as code previews are (30, then one
// a second).
struct Limit {
    const char* bucket;
    double rate;
    double burst;
};
constexpr Limit k_change_limit{"subscription", 1.0 / 6.0, 10.0};
constexpr Limit k_quote_limit{"upgrade-quote", 1.0, 30.0};

std::optional<BuyerRequest> buyer_request(const App& app, db::Database& db,
                                          const http::Request& req, const Limit& limit,
                                          http::Response& answer) {
    std::string ip = client_address(req, app.trusted_proxies);
    if (app.limiter && !app.limiter->take(std::string(limit.bucket) + ":" + net::rate_limit_key(ip),
                                          limit.rate, limit.burst)) {
        answer = error_response("rate_limited", "too many requests: try again in a minute");
        return std::nullopt;
    }
    auto body = parse_body(req, answer);
    if (!body)
        return std::nullopt;
    Fields f(*body);
    auto key = f.text("license_key", true, 4096);
    if (!f.error().empty()) {
        answer = error_response("bad_request", f.error());
        return std::nullopt;
    }
    auto license = service::license_of_key(db, app.keyring, *key);
    if (!license) {
        answer = error_response("internal_error", "internal error: licenses");
        return std::nullopt;
    }
    if (!*license || (*license)->status != "active") {
        answer = error_response("unauthorized", "unauthorized: the license key is not valid "
                                                "here, or its license is not active");
        return std::nullopt;
    }
    return BuyerRequest{std::move(*body), std::move(**license)};
}

// Runs `change` (a service call returning Checked<SubscriptionChange>) in a transaction with its
// events and the buyer's audit row.
http::Response cancel_answer(const App& app, db::Database& db, const http::Request& req) {
    http::Response answer;
    auto in = buyer_request(app, db, req, k_change_limit, answer);
    if (!in)
        return answer;
    Fields f(in->body);
    auto reason = f.text("reason", false, 500);
    if (!f.error().empty())
        return error_response("bad_request", f.error());
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return error_response("internal_error", "internal error: database busy");
    auto plan = store::SubscriptionStore(db).find_by_license(in->license.id);
    if (!plan)
        return error_response("internal_error", "internal error: subscriptions");
    if (!*plan)
        return error_response("not_found", "not found: this license has no subscription");
    std::int64_t now = app.clock->now();
    auto done = service::cancel_subscription(db, (*plan)->id, "buyer", reason, now);
    if (!done)
        return refused(done.error());
    if (done->already)
        return json_response(
            200, {{"ok", true}, {"already", *done->already}, {"subscription_id", (*plan)->id}});
    if (!service::emit_events(db, done->events, now) ||
        !service::audit_row(db, "buyer", "subscription.cancel", (*plan)->id,
                            {{"reason", opt_text(reason)}}, now) ||
        !tx->commit())
        return error_response("internal_error", "internal error: the cancellation was not saved");
    return json_response(200,
                         {{"ok", true},
                          {"subscription_id", (*plan)->id},
                          {"status", "cancelled"},
                          {"ends_at", format_timestamp(done->subscription.current_period_end)}});
}

json invoice_answer(const store::InvoiceRow& i) {
    return {{"invoice_id", i.id},
            {"provider_invoice_id", opt_text(i.provider_invoice_id)},
            {"checkout_url", opt_text(i.checkout_url)},
            {"amount_sats", i.currency == "SAT" ? i.amount : 0},
            {"amount", i.amount},
            {"listed_currency", i.currency},
            {"status", i.status == "new" || i.status == "processing" ? "pending" : i.status}};
}

// POST /v1/subscriptions/renew: the open renewal invoice of the plan's period (opened now when
// the worker has not yet), so a buyer can pay early, late inside the grace, or re-subscribe
// after a lapse.
http::Response renew_answer(const App& app, db::Database& db, const http::Request& req) {
    if (!app.signer)
        return error_response("service_unavailable",
                              "service unavailable: this server is verify-only");
    http::Response answer;
    auto in = buyer_request(app, db, req, k_change_limit, answer);
    if (!in)
        return answer;
    auto plan = store::SubscriptionStore(db).find_by_license(in->license.id);
    if (!plan)
        return error_response("internal_error", "internal error: subscriptions");
    if (!*plan)
        return error_response("not_found", "not found: this license has no subscription");
    std::int64_t now = app.clock->now();
    auto opened = service::open_renewal(db, *app.signer, (*plan)->id, now);
    if (!opened)
        return refused(opened.error());
    if (opened->created && opened->invoice.status != "settled") {
        auto delivered =
            service::deliver_renewal(db, *opened, checkout_with(app, db), {}, *app.clock);
        if (!delivered) {
            service::renewal_failed(db, *opened, delivered.error().message, false, now);
            return refused(delivered.error());
        }
    }
    json out = invoice_answer(opened->invoice);
    out["subscription_id"] = (*plan)->id;
    out["renews_period_ending"] = format_timestamp((*plan)->current_period_end);
    if (opened->invoice.status == "settled") {
        auto license = service::license_for_invoice(db, opened->invoice);
        if (license && *license)
            out["license_key"] = (*license)->license_key;
    }
    return json_response(200, out);
}

json quote_json(const service::TierQuote& q) {
    return {{"from_policy_id", q.from.id},
            {"from_policy_slug", q.from.slug},
            {"to_policy_id", q.to.id},
            {"to_policy_slug", q.to.slug},
            {"direction", q.direction},
            {"listed_currency", q.product.currency},
            {"proration_charge_value", q.charge},
            {"effective_at",
             q.effective_at ? json(format_timestamp(*q.effective_at)) : json("immediate")},
            {"next_renewal_charge",
             q.next_renewal_charge ? json(*q.next_renewal_charge) : json(nullptr)},
            {"next_renewal_period_days",
             q.next_renewal_period_days ? json(*q.next_renewal_period_days) : json(nullptr)},
            {"full_charge_value", q.full_charge},
            {"discount_value", q.discount},
            {"code", q.code ? json(q.code->code) : json(nullptr)},
            {"days_charged", q.days_charged}};
}

http::Response upgrade_quote_answer(const App& app, db::Database& db, const http::Request& req) {
    http::Response answer;
    auto in = buyer_request(app, db, req, k_quote_limit, answer);
    if (!in)
        return answer;
    Fields f(in->body);
    auto slug = f.text("target_policy_slug", true, 64);
    auto code = f.text("code", false, 64);
    if (!f.error().empty())
        return error_response("bad_request", f.error());
    auto q = service::quote_tier_change(db, in->license.id, *slug, code, app.clock->now());
    if (!q)
        return refused(q.error());
    return json_response(200, quote_json(*q));
}

json change_answer(const service::TierChangeResult& r) {
    json out = {{"tier_change_id", r.change.id},
                {"from_policy_slug", r.quote.from.slug},
                {"to_policy_slug", r.quote.to.slug},
                {"direction", r.quote.direction},
                {"proration_charge_value", r.change.proration_charge_value},
                {"listed_currency", r.quote.product.currency},
                {"applied", r.license.has_value()},
                {"scheduled", r.quote.effective_at.has_value()},
                {"effective_at", r.quote.effective_at
                                     ? json(format_timestamp(*r.quote.effective_at))
                                     : json("immediate")},
                {"invoice_id", nullptr},
                {"provider_invoice_id", nullptr},
                {"checkout_url", nullptr},
                {"amount_sats", 0}};
    if (r.invoice) {
        out["invoice_id"] = r.invoice->id;
        out["provider_invoice_id"] = opt_text(r.invoice->provider_invoice_id);
        out["checkout_url"] = opt_text(r.invoice->checkout_url);
        out["amount_sats"] = r.invoice->currency == "SAT" ? r.invoice->amount : 0;
    }
    if (r.license) {
        out["license_id"] = r.license->id;
        out["license_key"] = r.license->license_key;
        out["expires_at"] = opt_time(r.license->expires_at);
    }
    return out;
}

} // namespace

http::Response upgrade_answer(const App& app, db::Database& db, const http::Request& req) {
    if (!app.signer)
        return error_response("service_unavailable",
                              "service unavailable: this server is verify-only");
    http::Response answer;
    auto in = buyer_request(app, db, req, k_change_limit, answer);
    if (!in)
        return answer;
    Fields f(in->body);
    service::TierChangeRequest r;
    r.license_id = in->license.id;
    auto slug = f.text("target_policy_slug", true, 64);
    r.code = f.text("code", false, 64);
    r.rail = f.text("rail", false, 20).value_or("");
    auto redirect = f.text("redirect_url", false, 2000);
    if (!f.error().empty())
        return error_response("bad_request", f.error());
    if (redirect && !redirect->empty()) {
        if (!redirect->starts_with("https://") && !redirect->starts_with("http://"))
            return error_response("bad_request",
                                  "bad request: 'redirect_url' must be an http(s) URL");
        r.redirect_url = redirect;
    }
    r.target_slug = *slug;
    std::int64_t now = app.clock->now();
    auto audit = [&](const std::string& action, const std::string& target, const json& details) {
        return service::audit_row(db, "buyer", action, target, details, now);
    };
    auto done = service::start_tier_change(db, *app.signer, r, audit, checkout_with(app, db), now);
    if (!done)
        return refused(done.error());
    return json_response(200, change_answer(*done));
}

namespace {

// ?status=, ?product= (slug) or ?product_id=, ?limit= (1-1000, default 200).
http::Response list_subscriptions(db::Database& db, const http::Request& r) {
    std::optional<std::string> status = r.query_value("status");
    static const std::vector<std::string> k_states = {"trialing", "active", "past_due", "lapsed",
                                                      "cancelled"};
    if (status && std::find(k_states.begin(), k_states.end(), *status) == k_states.end())
        return error_response("bad_request",
                              fmt::format("bad request: 'status' must be one of trialing, active, "
                                          "past_due, lapsed, cancelled, not '{}'",
                                          *status));
    std::optional<std::string> product_id = r.query_value("product_id");
    if (auto slug = r.query_value("product")) {
        http::Response error;
        auto product =
            found(store::CatalogStore(db).find_product_by_slug(*slug), "product", *slug, error);
        if (!product)
            return error;
        product_id = product->id;
    }
    std::int64_t limit = 200;
    if (auto text = r.query_value("limit")) {
        auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
        if (ec != std::errc() || p != text->data() + text->size())
            return error_response("bad_request", "bad request: 'limit' is not a number");
        limit = std::clamp<std::int64_t>(limit, 1, 1000);
    }
    auto rows = store::SubscriptionStore(db).list(status, product_id, static_cast<int>(limit));
    if (!rows)
        return error_response("internal_error", "subscriptions");
    json out = json::array();
    for (const auto& s : *rows)
        out.push_back(subscription_json(s));
    return json_response(200, {{"subscriptions", out}});
}

http::Response show_subscription(db::Database& db, const http::Request& r) {
    http::Response error;
    auto s =
        found(store::SubscriptionStore(db).find(r.params[0]), "subscription", r.params[0], error);
    if (!s)
        return error;
    json out = subscription_json(*s);
    json changes = json::array();
    if (auto rows = store::SubscriptionStore(db).tier_changes(s->license_id))
        for (const auto& t : *rows)
            changes.push_back(tier_change_json(t));
    json invoices = json::array();
    if (auto rows = store::CommerceStore(db).invoices_of_license(s->license_id))
        for (const auto& i : *rows) {
            json j = invoice_answer(i);
            j["purpose"] = i.purpose;
            j["period_end"] = opt_time(i.period_end);
            j["created_at"] = format_timestamp(i.created_at);
            invoices.push_back(j);
        }
    out["tier_changes"] = changes;
    out["invoices"] = invoices;
    return json_response(200, out);
}

// An admin change of one plan through `change(db, id, now)`: the answer, audit row and events.
template <typename F>
Outcome plan_change(Mutation& m, const std::string& action, const json& details, F change) {
    if (auto bad = m.bad_fields())
        return *bad;
    auto done = change();
    if (!done)
        return refused(done.error());
    const auto& s = done->subscription;
    if (done->already)
        return Mutated{{{"ok", true}, {"already", *done->already}, {"subscription_id", s.id}},
                       action,
                       s.id,
                       {{"already", *done->already}}};
    json answer = {{"ok", true},
                   {"subscription_id", s.id},
                   {"status", s.status},
                   {"subscription", subscription_json(s)}};
    return Mutated{answer, action, s.id, details, done->events};
}

Outcome admin_cancel(Mutation& m) {
    auto reason = m.fields.text("reason", false, 500);
    return plan_change(m, "subscription.cancel", {{"reason", opt_text(reason)}}, [&] {
        return service::cancel_subscription(m.db, m.req.params[0], "admin", reason, m.now);
    });
}

Outcome admin_resume(Mutation& m) {
    return plan_change(m, "subscription.resume", json::object(),
                       [&] { return service::resume_subscription(m.db, m.req.params[0], m.now); });
}

Outcome admin_extend(Mutation& m) {
    auto days = m.fields.integer("days", 1, 3650, true);
    if (!m.app.signer)
        return error_response("service_unavailable",
                              "service unavailable: this server is verify-only and cannot sign "
                              "the extended key");
    return plan_change(m, "subscription.extend", {{"days", days.value_or(0)}}, [&] {
        return service::extend_subscription(m.db, *m.app.signer, m.req.params[0], *days, m.now);
    });
}

} // namespace

void register_subscription_routes(http::Server& s, const App& app) {
    s.route("POST", "/v1/subscriptions/cancel",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return cancel_answer(app, db, r);
            }));
    s.route("POST", "/v1/subscriptions/renew",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return renew_answer(app, db, r);
            }));
    s.route("POST", "/v1/upgrade-quote",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return upgrade_quote_answer(app, db, r);
            }));
    s.route("POST", "/v1/upgrade", with_database(app, [&app](db::Database& db, const auto& r) {
                return upgrade_answer(app, db, r);
            }));

    s.route("GET", "/v1/admin/subscriptions",
            admin(app, "subscriptions:read",
                  [](db::Database& db, const Actor&, const http::Request& r) {
                      return list_subscriptions(db, r);
                  }));
    s.route("GET", fmt::format("/v1/admin/subscriptions/{}", k_id),
            admin(app, "subscriptions:read",
                  [](db::Database& db, const Actor&, const http::Request& r) {
                      return show_subscription(db, r);
                  }));
    s.route("POST", fmt::format("/v1/admin/subscriptions/{}/cancel", k_id),
            mutation(app, "subscriptions:write", Body::optional_json, admin_cancel));
    s.route("POST", fmt::format("/v1/admin/subscriptions/{}/resume", k_id),
            mutation(app, "subscriptions:write", Body::optional_json, admin_resume));
    s.route("POST", fmt::format("/v1/admin/subscriptions/{}/extend", k_id),
            mutation(app, "subscriptions:write", Body::json, admin_extend));
    // The checkout of a paid change is a network call: no write transaction is held across it,
    // so this route is not a `mutation`; the service writes the change and this audit row
    // together.
    s.route("POST", fmt::format("/v1/admin/licenses/{}/change-tier", k_id),
            admin(app, "licenses:write",
                  [&app](db::Database& db, const Actor& actor, const http::Request& req) {
                      if (!app.signer)
                          return error_response("service_unavailable",
                                                "service unavailable: this server is "
                                                "verify-only");
                      http::Response bad;
                      auto body = parse_body(req, bad);
                      if (!body)
                          return bad;
                      Fields f(*body);
                      service::TierChangeRequest r;
                      r.license_id = req.params[0];
                      r.actor = "admin";
                      auto slug = f.text("to_policy_slug", true, 64);
                      r.skip_payment = f.boolean("skip_payment").value_or(false);
                      r.reason = f.text("reason", false, 500);
                      r.code = f.text("code", false, 64);
                      if (!f.error().empty())
                          return error_response("bad_request", f.error());
                      r.target_slug = *slug;
                      auto audit_as = [&](const std::string& action, const std::string& target,
                                          const json& details) {
                          json d = details;
                          d["reason"] = opt_text(r.reason);
                          return audit(db, app, actor, action, target, d);
                      };
                      auto done = service::start_tier_change(
                          db, *app.signer, r, audit_as, checkout_with(app, db), app.clock->now());
                      if (!done)
                          return refused(done.error());
                      json out = change_answer(*done);
                      out["ok"] = true;
                      out["skip_payment"] = r.skip_payment;
                      out["license_id"] = r.license_id;
                      return json_response(200, out);
                  }));
}

} // namespace keysat::api
