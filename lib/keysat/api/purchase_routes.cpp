// Buying, as Keysat's SDKs call it: POST /v1/purchase, GET /v1/purchase/:invoice_id,
// POST /v1/redeem and GET /v1/discount-codes/preview. The rules live in service/checkout; these
// handlers read the fields, call it and shape Keysat's answers (field names and JSON types).

#include <algorithm>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "keysat/api/app.hpp"
#include "keysat/api/fields.hpp"
#include "keysat/payments/btcpay.hpp"
#include "keysat/payments/provider.hpp"
#include "keysat/payments/zaprite.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/service/issuance.hpp"
#include "keysat/service/providers.hpp"
#include "keysat/service/subscriptions.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/store/subscription_store.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/net.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

// Invoices are created by anyone: a client gets 10 at once, then one every 6 seconds.
constexpr double k_purchase_rate = 1.0 / 6.0;
constexpr double k_purchase_burst = 10.0;

} // namespace

http::Response refused(const service::Refused& r) {
    // What the provider or the database said stays in the log: it names internal hosts.
    if (r.code == "upstream_error" || r.code == "internal_error") {
        std::fprintf(stderr, "keysat-serve: purchase: %s\n", r.message.c_str());
        return error_response(r.code, r.code == "upstream_error"
                                          ? "upstream error: the payment provider is unavailable; "
                                            "try again shortly"
                                          : "internal error: the purchase could not be recorded");
    }
    return error_response(r.code, r.message);
}

namespace {

// A buyer's e-mail address: nullopt when absent or empty; an error when it is not one.
std::optional<std::string> email_field(Fields& f, const char* name, std::string& error) {
    auto e = f.text(name, false, 320);
    if (!e || e->empty())
        return std::nullopt;
    auto at = e->find('@');
    if (at == std::string::npos || at == 0 || at + 1 == e->size() ||
        e->find_first_of(" \t\r\n<>\"") != std::string::npos)
        error = fmt::format("bad request: '{}' is not an e-mail address", name);
    return e;
}

// Keysat's word for an invoice's status: new and processing are both still pending.
std::string status_word(const std::string& status) {
    return status == "new" || status == "processing" ? "pending" : status;
}

// Where the buyer goes after paying: the purchase's redirect_url, else the merchant profile's
// post-purchase redirect ({invoice_id} filled in), else the thank-you page.
std::string redirect_for(const App& app, db::Database& db, const store::InvoiceRow& invoice,
                         const service::Quote& quote) {
    if (invoice.redirect_url && !invoice.redirect_url->empty())
        return *invoice.redirect_url;
    auto profile = service::profile_of(db, quote.product);
    if (profile && *profile && (*profile)->post_purchase_redirect_url &&
        !(*profile)->post_purchase_redirect_url->empty()) {
        std::string url = *(*profile)->post_purchase_redirect_url;
        if (auto at = url.find("{invoice_id}"); at != std::string::npos)
            url.replace(at, 12, invoice.id);
        return url;
    }
    return public_base(app) + "/thank-you?invoice_id=" + invoice.id;
}

} // namespace

service::CreateCheckout checkout_with(const App& app, db::Database& db) {
    if (app.outbound == nullptr)
        return {};
    return [&app, &db](const store::InvoiceRow& invoice, const service::Quote& quote,
                       const store::PaymentProviderRow& p) -> service::Checked<service::Checkout> {
        auto provider = payments::make_provider(p, *app.outbound, app.btcpay_public_url);
        if (!provider)
            return std::unexpected(service::Refused{"internal_error", "unknown provider kind"});
        // A subscription's first payment (or a renewal paid by hand while no payment method is
        // kept) may be kept for its automatic renewals.
        bool first_of_plan = invoice.purpose == "purchase" && quote.policy &&
                             quote.policy->renewal_period_days && quote.trial_days == 0;
        if (invoice.purpose == "renewal" && invoice.license_id) {
            auto plan = store::SubscriptionStore(db).find_by_license(*invoice.license_id);
            first_of_plan = plan && *plan && !(*plan)->zaprite_payment_profile_id;
        }
        return provider->create_checkout(invoice, redirect_for(app, db, invoice, quote),
                                         first_of_plan);
    };
}

service::AutoCharge auto_charge_with(const App& app) {
    if (app.outbound == nullptr)
        return {};
    return [&app](const service::RenewalInvoice& r,
                  const service::Checkout& checkout) -> service::Checked<bool> {
        if (r.provider.kind != "zaprite" || !r.subscription.zaprite_payment_profile_id)
            return false;
        return payments::ZapriteClient(r.provider, *app.outbound)
            .charge(checkout.provider_invoice_id, *r.subscription.zaprite_payment_profile_id);
    };
}

namespace {

// The buyer's request of /v1/purchase and /v1/redeem, after the client's rate limit: nullopt
// with `refused` set when limited or malformed. `with_redirect`: the purchase's redirect_url
// (an http(s) URL) and rail are read too.
std::optional<service::PurchaseInput> buyer_input(const App& app, const http::Request& req,
                                                  bool with_redirect, http::Response& refused) {
    std::string ip = client_address(req, app.trusted_proxies);
    if (app.limiter && !app.limiter->take("purchase:" + net::rate_limit_key(ip), k_purchase_rate,
                                          k_purchase_burst)) {
        refused = error_response("rate_limited", "too many requests: purchases are rate-limited; "
                                                 "try again in a minute");
        return std::nullopt;
    }
    auto body = parse_body(req, refused);
    if (!body)
        return std::nullopt;
    Fields f(*body);
    std::string error;
    service::PurchaseInput in;
    auto product = f.text("product", true, 64);
    in.policy_slug = f.text("policy_slug", false, 64);
    in.code = f.text("code", false, 64);
    in.buyer_email = email_field(f, "buyer_email", error);
    in.buyer_note = f.text("buyer_note", false, 2000);
    if (with_redirect) {
        auto redirect = f.text("redirect_url", false, 2000);
        in.rail = f.text("rail", false, 20).value_or("");
        if (redirect && !redirect->empty()) {
            if (!redirect->starts_with("https://") && !redirect->starts_with("http://"))
                error = "bad request: 'redirect_url' must be an http(s) URL";
            in.redirect_url = redirect;
        }
    }
    if (!f.error().empty())
        error = f.error();
    if (!error.empty()) {
        refused = error_response("bad_request", error);
        return std::nullopt;
    }
    in.product_slug = *product;
    return in;
}

} // namespace

http::Response purchase_answer(const App& app, db::Database& db, const http::Request& req) {
    http::Response bad;
    auto in = buyer_input(app, req, true, bad);
    if (!in)
        return bad;
    auto done = service::start_purchase(db, app.signer ? &*app.signer : nullptr, *in,
                                        checkout_with(app, db), app.clock->now());
    if (!done)
        return refused(done.error());
    const auto& p = *done;
    bool free = p.license.has_value();
    json out = {{"invoice_id", p.invoice.id},
                // Keysat's SDKs require it: the provider's id, "free-<id>" when nothing is paid.
                {"btcpay_invoice_id",
                 free ? "free-" + p.invoice.id : p.invoice.provider_invoice_id.value_or("")},
                {"checkout_url", free ? "" : p.invoice.checkout_url.value_or("")},
                {"amount_sats", p.invoice.amount},
                {"base_price_sats", p.invoice.base_amount},
                {"discount_applied_sats", p.invoice.discount_amount},
                {"poll_url", public_base(app) + "/v1/purchase/" + p.invoice.id}};
    if (p.invoice.currency != "SAT")
        out["currency"] = p.invoice.currency; // amounts in cents
    if (free) {
        out["license_key"] = p.license->license_key;
        out["license_id"] = p.license->id;
    }
    return json_response(200, out);
}

namespace {

http::Response purchase_status(db::Database& db, const std::string& id) {
    auto invoice = store::CommerceStore(db).find_invoice(id);
    if (!invoice)
        return error_response("internal_error", "internal error: invoices");
    if (!*invoice)
        return error_response("not_found", fmt::format("not found: invoice '{}'", id));
    // A renewal's or tier change's license exists before it is paid: only a settled invoice
    // answers with the key (the renewed or changed one).
    auto license = (*invoice)->status == "settled"
                       ? service::license_for_invoice(db, **invoice)
                       : Expected<std::optional<store::LicenseRow>>(std::nullopt);
    if (!license)
        return error_response("internal_error", "internal error: licenses");
    const auto& l = *license;
    return json_response(
        200, {{"invoice_id", (*invoice)->id},
              {"status", status_word((*invoice)->status)},
              {"product_id", (*invoice)->product_id},
              {"amount_sats", (*invoice)->amount},
              // The key only while the license is active; its id whenever there is one.
              {"license_key", l && l->status == "active" ? json(l->license_key) : json(nullptr)},
              {"license_id", l ? json(l->id) : json(nullptr)}});
}

http::Response redeem(const App& app, db::Database& db, const http::Request& req) {
    http::Response bad;
    auto in = buyer_input(app, req, false, bad);
    if (!in)
        return bad;
    if (!in->code || in->code->find_first_not_of(" \t") == std::string::npos)
        return error_response("bad_request", "bad request: code is required");
    // The code's kind decides before anything is priced: redeem takes free-license codes only.
    auto q = service::quote(db, *in, app.clock->now());
    if (!q)
        return refused(q.error());
    if (!q->code || q->code->kind != "free_license")
        return error_response("bad_request", "bad request: this code requires payment — use the "
                                             "standard purchase flow with the code applied");
    auto done =
        service::start_purchase(db, app.signer ? &*app.signer : nullptr, *in, {}, app.clock->now());
    if (!done)
        return refused(done.error());
    return json_response(200, {{"license_id", done->license->id},
                               {"license_key", done->license->license_key},
                               {"invoice_id", done->invoice.id},
                               {"redemption_id", done->redemption_id.value_or("")}});
}

http::Response preview(const App& app, db::Database& db, const http::Request& req) {
    // The answer tells an unknown code from a known one: guessing codes is limited like buying.
    std::string ip = client_address(req, app.trusted_proxies);
    if (app.limiter && !app.limiter->take("preview:" + net::rate_limit_key(ip), 1.0, 30.0))
        return error_response("rate_limited", "too many requests: code previews are "
                                              "rate-limited; try again in a minute");
    auto code = req.query_value("code");
    auto product = req.query_value("product");
    if (!code || code->find_first_not_of(" \t") == std::string::npos)
        return error_response("bad_request", "bad request: code is required");
    if (!product)
        return error_response("bad_request", "bad request: product is required");
    std::int64_t now = app.clock->now();
    service::PurchaseInput in;
    in.product_slug = *product;
    in.policy_slug = req.query_value("policy_slug");
    in.bare_product = true; // a preview without a tier prices the product itself
    // The price without the code first: the base the answer shows either way.
    auto plain = service::quote(db, in, now);
    if (!plain && plain.error().code == "not_found" && in.policy_slug) {
        in.policy_slug.reset(); // an unknown tier is ignored, as Keysat does
        plain = service::quote(db, in, now);
    }
    if (!plain)
        return refused(plain.error());
    std::int64_t base = plain->base;
    store::CommerceStore commerce(db);
    std::string typed = *code;
    std::transform(typed.begin(), typed.end(), typed.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    auto row = commerce.find_code(typed);
    if (!row)
        return error_response("internal_error", "internal error: discount codes");
    auto invalid = [&](const std::string& reason, const std::string& message) {
        return json_response(200, {{"valid", false},
                                   {"reason", reason},
                                   {"message", message},
                                   {"base_price_sats", base}});
    };
    if (!*row)
        return invalid("unknown_code", "Code not found.");
    if (auto problem = service::code_problem(**row, plain->product,
                                             plain->policy ? &*plain->policy : nullptr, now)) {
        static const std::map<std::string, std::string> k_words = {
            {"disabled", "This code has been disabled."},
            {"expired", "This code has expired."},
            {"wrong_product", "This code does not apply to this product."},
            {"wrong_tier", "This code does not apply to the selected tier."},
            {"exhausted", "This code has reached its use limit."}};
        return invalid(problem->reason, k_words.at(problem->reason));
    }
    in.code = typed;
    auto priced = service::quote(db, in, now);
    if (!priced)
        return refused(priced.error());
    const auto& c = **row;
    std::string message =
        c.kind == "free_license" ? "Free license — no payment required."
        : priced->discount == 0 ? "Code applied — but it doesn't lower the price for this product."
        : c.kind == "percent" ? fmt::format("{}% off applied.", static_cast<double>(c.value) / 100)
        : c.kind == "fixed_sats" ? fmt::format("{} sats off applied.", c.value)
        : c.kind == "set_price"  ? fmt::format("Flat price applied: {} sats.", c.value)
                                 : "Code applied.";
    return json_response(
        200, {{"valid", true},
              {"code", c.code},
              {"kind", c.kind},
              {"is_free", c.kind == "free_license"},
              {"base_price_sats", priced->base},
              {"discount_applied_sats", priced->discount},
              {"final_price_sats", priced->price},
              {"amount_pct",
               c.kind == "percent" ? json(static_cast<double>(c.value) / 100) : json(nullptr)},
              {"message", message}});
}

} // namespace

// POST /v1/recover: one answer for every failure, so that nobody learns which invoices exist
// or which address bought them; limited per client address and per invoice.
http::Response recover_answer(const App& app, db::Database& db, const http::Request& req) {
    std::string ip = client_address(req, app.trusted_proxies);
    auto limited = error_response("rate_limited", "too many requests: recovery requests are "
                                                  "rate-limited; try again in a minute");
    if (app.limiter && !app.limiter->take("recover:" + net::rate_limit_key(ip), 10.0 / 60.0, 10.0))
        return limited;
    http::Response bad;
    auto body = parse_body(req, bad);
    if (!body)
        return bad;
    Fields f(*body);
    auto invoice_id = f.text("invoice_id", false, 64).value_or("");
    auto email = f.text("email", false, 320).value_or("");
    auto generic = error_response("not_found", "not found: recovery failed — invoice id and "
                                               "email did not match any settled purchase");
    if (!f.error().empty() || invoice_id.empty() || email.empty())
        return generic;
    // Guessing addresses for one invoice from many clients: five tries an hour per invoice.
    if (app.limiter && !app.limiter->take("recover-invoice:" + invoice_id, 5.0 / 3600.0, 5.0))
        return limited;
    auto found = service::recover_license(db, invoice_id, email, app.clock->now());
    if (!found)
        return error_response("internal_error", "internal error: recovery");
    if (!*found)
        return generic;
    const auto& l = **found;
    return json_response(
        200, {{"license_key", l.license_key},
              {"license_id", l.id},
              {"product_id", l.product_id},
              {"issued_at", format_timestamp(l.issued_at)},
              {"expires_at", l.expires_at ? json(format_timestamp(*l.expires_at)) : json(nullptr)},
              {"entitlements", service::entitlements_of(l)}});
}

void register_purchase_routes(http::Server& s, const App& app) {
    s.route("POST", "/v1/recover", with_database(app, [&app](db::Database& db, const auto& r) {
                return recover_answer(app, db, r);
            }));

    s.route("POST", "/v1/purchase", with_database(app, [&app](db::Database& db, const auto& r) {
                return purchase_answer(app, db, r);
            }));
    s.route("GET", "/v1/purchase/([0-9a-f-]{36})",
            with_database(app, [](db::Database& db, const http::Request& r) {
                return purchase_status(db, r.params[0]);
            }));
    s.route("POST", "/v1/redeem", with_database(app, [&app](db::Database& db, const auto& r) {
                return redeem(app, db, r);
            }));
    s.route("GET", "/v1/discount-codes/preview",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return preview(app, db, r);
            }));
}

} // namespace keysat::api
