// What payment providers send us: BTCPay's webhooks (POST /v1/btcpay/webhook/:provider_id, and
// /v1/btcpay/webhook for the store configured by hand) and Zaprite's (POST
// /v1/zaprite/webhook/:provider_id/:secret, and Keysat's secret-less routes for accounts imported
// from it). BTCPay's signature is checked on the raw body,
// Zaprite's path secret in constant time; then the invoice is read back from the provider before
// anything changes: a leaked secret still cannot mint licenses. The rules (settle, close) are
// service/checkout's.

#include <cstdio>

#include <fmt/format.h>

#include "keysat/api/app.hpp"
#include "keysat/crypto/secure.hpp"
#include "keysat/payments/btcpay.hpp"
#include "keysat/payments/zaprite.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/store/subscription_store.hpp"
#include "keysat/util/json_depth.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

// 200 with an empty body: BTCPay needs nothing more, and retries anything else.
http::Response accepted() {
    http::Response r;
    r.status = 200;
    r.content_type = "text/plain; charset=utf-8";
    return r;
}

// After a Zaprite payment of a subscription's invoice: the payment profile the buyer saved with
// it, kept on the plan for automatic renewals (best effort: without one, renewals are paid by
// hand through the renewal_pending link).
void keep_saved_profile(const App& app, db::Database& db, const store::PaymentProviderRow& p,
                        const store::InvoiceRow& invoice, const std::string& license_id) {
    store::SubscriptionStore plans(db);
    auto plan = plans.find_by_license(license_id);
    if (!plan || !*plan || (*plan)->zaprite_payment_profile_id || !invoice.provider_invoice_id ||
        !app.outbound)
        return;
    auto found = payments::ZapriteClient(p, *app.outbound)
                     .saved_profile(*invoice.provider_invoice_id, invoice.id);
    if (!found) {
        std::fprintf(stderr, "keysat-serve: zaprite: %s\n", found.error().message.c_str());
        return;
    }
    if (!*found)
        return;
    (void)plans.keep_payment_profile((*plan)->id, **found, app.clock->now());
}

// Reads the provider's invoice `remote_id` back and settles or closes ours as it says. An
// invoice that is not ours, or a provider that does not answer, changes nothing (the
// reconciler asks again later).
http::Response act_on(const App& app, db::Database& db, const store::PaymentProviderRow& p,
                      const std::string& remote_id) {
    auto invoice = store::CommerceStore(db).find_by_provider_invoice(p.id, remote_id);
    if (!invoice)
        return error_response("internal_error", "internal error: invoices");
    if (!*invoice)
        return accepted(); // not ours (another app on the same store): nothing to do
    // What the provider says now decides, not what the notification claims.
    auto client =
        app.outbound ? payments::make_provider(p, *app.outbound, app.btcpay_public_url) : nullptr;
    auto remote = client ? client->status(remote_id)
                         : std::unexpected(service::Refused{"upstream_error", "unknown kind"});
    if (!remote)
        return accepted();
    std::string actor = "provider:" + p.id;
    std::int64_t now = app.clock->now();
    if (*remote == payments::RemoteStatus::settled) {
        if (!app.signer)
            return error_response("service_unavailable",
                                  "service unavailable: this server is verify-only");
        auto settled = service::settle_invoice(db, *app.signer, (*invoice)->id, actor, now);
        if (!settled && settled.error().code == "internal_error")
            return error_response("internal_error", settled.error().message); // retried
        if (settled && p.kind == "zaprite")
            keep_saved_profile(app, db, p, **invoice, settled->license.id);
        return accepted();
    }
    if (*remote == payments::RemoteStatus::expired || *remote == payments::RemoteStatus::invalid) {
        auto closed = service::close_invoice(
            db, (*invoice)->id, *remote == payments::RemoteStatus::expired ? "expired" : "invalid",
            actor, now);
        if (!closed)
            return error_response("internal_error", closed.error().message);
    }
    return accepted();
}

http::Response btcpay_webhook(const App& app, db::Database& db, const http::Request& req,
                              const std::string& provider_id) {
    auto provider = store::AccountStore(db).find_provider(provider_id);
    if (!provider)
        return error_response("internal_error", "internal error: payment providers");
    if (!*provider || (*provider)->kind != "btcpay" || (*provider)->status != "connected")
        return error_response("not_found", "not found: payment provider " + provider_id);
    const auto& p = **provider;
    if (!p.webhook_secret || p.webhook_secret->empty() ||
        !payments::btcpay_signature_ok(*p.webhook_secret, req.body, req.header("btcpay-sig")))
        return error_response("unauthorized", "unauthorized");
    json event = json_nesting_depth(req.body) > k_max_json_depth
                     ? json()
                     : json::parse(req.body, nullptr, false);
    if (!event.is_object() || !event.contains("type") || !event["type"].is_string() ||
        !event.contains("invoiceId") || !event["invoiceId"].is_string())
        return error_response("bad_request",
                              "bad request: a BTCPay webhook names its 'type' and 'invoiceId'");
    std::string type = event["type"];
    const bool settle = type == "InvoiceSettled" || type == "InvoicePaymentSettled";
    if (!settle && type != "InvoiceExpired" && type != "InvoiceInvalid")
        return accepted(); // other events change nothing
    return act_on(app, db, p, event["invoiceId"]);
}

// Zaprite: the path's secret, then whatever the order says now (its payloads vary, so any event
// that names an order makes us ask). Providers imported from Keysat have no secret: Keysat gave
// Zaprite /v1/zaprite/webhook/<id> (or /v1/zaprite/webhook before its merchant profiles), so
// those routes answer for them alone; since the order is read back from Zaprite with our key,
// a forged event can only make us ask.
http::Response zaprite_webhook(const App& app, db::Database& db, const http::Request& req,
                               const std::string& provider_id,
                               const std::optional<std::string>& secret) {
    auto provider = store::AccountStore(db).find_provider(provider_id);
    if (!provider)
        return error_response("internal_error", "internal error: payment providers");
    if (!*provider || (*provider)->kind != "zaprite" || (*provider)->status != "connected")
        return error_response("not_found", "not found: payment provider " + provider_id);
    const auto& p = **provider;
    const bool keysat_route = !p.webhook_secret || p.webhook_secret->empty();
    if (secret ? keysat_route || !crypto::equal_ct(as_bytes(*p.webhook_secret), as_bytes(*secret))
               : !keysat_route)
        return error_response("unauthorized", "unauthorized");
    json body = json_nesting_depth(req.body) > k_max_json_depth
                    ? json()
                    : json::parse(req.body, nullptr, false);
    auto event = payments::read_zaprite_event(body);
    if (!event)
        return error_response("bad_request", "bad request: a Zaprite webhook names its order");
    if (keysat_route) {
        // Anyone may post here: ask Zaprite only about an invoice of ours still waiting.
        auto invoice = store::CommerceStore(db).find_by_provider_invoice(p.id, event->order_id);
        if (!invoice)
            return error_response("internal_error", "internal error: invoices");
        if (!*invoice || ((*invoice)->status != "new" && (*invoice)->status != "processing"))
            return accepted();
    }
    return act_on(app, db, p, event->order_id);
}

} // namespace

void register_provider_routes(http::Server& s, const App& app) {
    s.route("POST", "/v1/btcpay/webhook/([A-Za-z0-9_-]{1,64})",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return btcpay_webhook(app, db, r, r.params[0]);
            }));
    // Keysat's route for the store configured by hand (btcpay_* settings).
    s.route("POST", "/v1/btcpay/webhook",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return btcpay_webhook(app, db, r, k_static_btcpay_provider);
            }));
    s.route("POST", "/v1/zaprite/webhook/([A-Za-z0-9_-]{1,64})/([A-Za-z0-9]{1,128})",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                auto answer = zaprite_webhook(app, db, r, r.params[0], r.params[1]);
                // The path's last segment is the secret: the log shows the route without it.
                answer.log_path = "/v1/zaprite/webhook/" + r.params[0] + "/<secret>";
                return answer;
            }));
    // Keysat's routes, for the Zaprite accounts imported from it (no secret in their URL).
    s.route("POST", "/v1/zaprite/webhook/([A-Za-z0-9_-]{1,64})",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return zaprite_webhook(app, db, r, r.params[0], std::nullopt);
            }));
    s.route("POST", "/v1/zaprite/webhook",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return zaprite_webhook(app, db, r, k_keysat_zaprite_provider, std::nullopt);
            }));
}

} // namespace keysat::api
