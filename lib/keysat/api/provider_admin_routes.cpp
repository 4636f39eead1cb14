// Connecting BTCPay in one click, as Keysat routes it: POST /v1/admin/btcpay/connect hands the
// operator an authorize URL on their BTCPay with a single-use state; BTCPay posts the new API key
// back to /v1/btcpay/authorize/callback; keysat-serve lists the key's stores (the operator picks
// one when there are several), registers its webhook with a fresh secret and keeps the provider.
// GET /v1/admin/btcpay/status, POST /v1/admin/btcpay/disconnect (the webhook and the key revoked,
// best effort) and GET /v1/admin/payment-provider/status. Connect and disconnect are master-key
// only; every change writes its audit row. Network calls happen outside transactions.

#include <algorithm>

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/api/html.hpp"
#include "keysat/api/pages.hpp"
#include "keysat/crypto/signing.hpp"
#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/db/database.hpp"
#include "keysat/http/parser.hpp"
#include "keysat/payments/btcpay.hpp"
#include "keysat/payments/zaprite.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/net.hpp"

namespace keysat::api {

using nlohmann::json;

namespace {

std::string random_base32(std::size_t bytes) {
    std::vector<std::uint8_t> raw(bytes);
    crypto::random_bytes(raw);
    return base32_encode(ByteView(raw.data(), raw.size()));
}

// An API key as pasted: without the spaces around it.
std::string trimmed_key(std::string key) {
    key.erase(0, key.find_first_not_of(" \t"));
    key.erase(key.find_last_not_of(" \t") + 1);
    return key;
}

// The profile a connect attaches to: the one named, else the default (made now, named after the
// operator, when there is none yet).
std::optional<store::MerchantProfileRow>
profile_for(Mutation& m, const std::optional<std::string>& id, http::Response& error) {
    store::AccountStore accounts(m.db);
    if (id) {
        auto found = accounts.find_merchant(*id);
        if (!found || !*found)
            error = found ? error_response("bad_request", fmt::format("bad request: merchant "
                                                                      "profile {} not found",
                                                                      *id))
                          : error_response("internal_error", "could not read merchant profiles");
        return found ? *found : std::nullopt;
    }
    auto current = accounts.default_merchant();
    if (!current) {
        error = error_response("internal_error", "could not read merchant profiles");
        return std::nullopt;
    }
    if (*current)
        return *current;
    store::MerchantProfileRow fresh;
    fresh.id = crypto::uuid_v4().to_string();
    fresh.name = operator_name(m.app, m.db);
    fresh.is_default = true;
    fresh.created_at = fresh.updated_at = m.now;
    if (!accounts.create_merchant(fresh)) {
        error = error_response("internal_error", "could not create the default merchant profile");
        return std::nullopt;
    }
    return fresh;
}

// The connected provider of `kind` on `profile_id`, if any.
std::optional<store::PaymentProviderRow> connected_on(db::Database& db, const std::string& kind,
                                                      const std::optional<std::string>& profile) {
    auto list = store::AccountStore(db).list_providers();
    if (!list)
        return std::nullopt;
    for (const auto& p : *list)
        if (p.kind == kind && p.status == "connected" && p.merchant_profile_id == profile)
            return p;
    return std::nullopt;
}

// The profile a new provider of `kind` attaches to (see profile_for), refused with 409 when it
// has a connected one of that kind already.
std::optional<store::MerchantProfileRow> free_profile_for(Mutation& m, const std::string& kind,
                                                          const char* kind_name,
                                                          const std::optional<std::string>& id,
                                                          http::Response& error) {
    auto profile = profile_for(m, id, error);
    if (profile && connected_on(m.db, kind, profile->id)) {
        error = error_response("conflict",
                               fmt::format("conflict: merchant profile '{}' already has a {} "
                                           "provider attached. Disconnect it first",
                                           profile->name, kind_name));
        return std::nullopt;
    }
    return profile;
}

// The BTCPay provider the status and disconnect routes speak of when none is named: the default
// profile's, else the first connected one (a store configured by hand has no profile).
std::optional<store::PaymentProviderRow> current_btcpay(db::Database& db) {
    auto profile = store::AccountStore(db).default_merchant();
    if (profile && *profile)
        if (auto p = connected_on(db, "btcpay", (*profile)->id))
            return p;
    auto list = store::AccountStore(db).list_providers();
    if (list)
        for (const auto& p : *list)
            if (p.kind == "btcpay" && p.status == "connected")
                return p;
    return std::nullopt;
}

Outcome connect_start(Mutation& m) {
    auto profile_id = m.fields.text("merchant_profile_id", false, 64);
    auto label = m.fields.text("label", false, 200);
    if (auto bad = m.bad_fields())
        return *bad;
    if (m.app.btcpay_url.empty())
        return error_response("bad_request",
                              "bad request: BTCPay's address is not configured: set btcpay_url "
                              "(BTCPAY_URL) to the URL keysat-serve reaches BTCPay at");
    http::Response error;
    auto profile = free_profile_for(m, "btcpay", "BTCPay", profile_id, error);
    if (!profile)
        return error;
    store::ConnectStateRow state{random_base32(20), "btcpay",   profile->id,  label.value_or(""),
                                 m.actor.kind,      m.actor.id, std::nullopt, m.now};
    if (!store::AccountStore(m.db).save_connect_state(state))
        return error_response("internal_error", "could not record the connect");
    std::string browser =
        m.app.btcpay_browser_url.empty() ? m.app.btcpay_url : m.app.btcpay_browser_url;
    std::string callback =
        public_base(m.app) + "/v1/btcpay/authorize/callback?state=" + state.state;
    return Mutated{{{"authorize_url", payments::btcpay_authorize_url(browser, callback)},
                    {"state", state.state},
                    {"merchant_profile_id", profile->id}},
                   "payment_provider.connect_start",
                   profile->id,
                   {{"kind", "btcpay"}}};
}

// The rest of a connect once the store is known: the webhook with a fresh secret, then the
// provider and its audit row in one transaction.
http::Response finish_connect(const App& app, db::Database& db, const store::ConnectStateRow& st,
                              const std::string& api_key, const payments::BtcpayClient::Store& s,
                              const http::Request& req) {
    store::PaymentProviderRow p;
    p.id = crypto::uuid_v4().to_string();
    p.kind = "btcpay";
    p.merchant_profile_id = st.merchant_profile_id;
    p.base_url = app.btcpay_url;
    p.store_id = s.id;
    p.api_key = api_key;
    p.webhook_secret = random_base32(32);
    p.label = st.label.empty() ? "BTCPay — " + s.name : st.label;
    payments::BtcpayClient client(p, *app.outbound, app.btcpay_public_url);
    auto hook =
        client.create_webhook(public_base(app) + "/v1/btcpay/webhook/" + p.id, *p.webhook_secret);
    if (!hook || !payments::is_provider_id(*hook)) {
        std::fprintf(stderr, "keysat-serve: btcpay connect: %s\n",
                     hook ? "the webhook id is not an id" : hook.error().message.c_str());
        (void)client.revoke_key();
        return message_page(app, db, 502, "BTCPay connect failed",
                            "BTCPay did not register keysat-serve's webhook (the log says why). "
                            "Check that the key may modify the store's webhooks, then start "
                            "again.");
    }
    p.webhook_id = *hook;
    p.created_at = p.updated_at = app.clock->now();
    auto tx = db::Transaction::begin(db);
    Actor actor{st.actor_kind, st.actor_id, "", {}, client_address(req, app.trusted_proxies)};
    if (!tx || !store::AccountStore(db).save_provider(p) ||
        !audit(db, app, actor, "payment_provider.connect", p.id,
               {{"kind", "btcpay"},
                {"store_id", s.id},
                {"webhook_id", *hook},
                {"merchant_profile_id", st.merchant_profile_id.value_or("")}}) ||
        !tx->commit()) {
        (void)client.delete_webhook(*hook);
        (void)client.revoke_key();
        return message_page(app, db, 500, "BTCPay connect failed",
                            "The connection could not be saved. Start again.");
    }
    return html_page(app, db, 200, "BTCPay connected",
                     fmt::format("<section class=\"card\"><h1>BTCPay connected</h1><p "
                                 "class=\"lead\" id=\"connected\">Store <strong>{}</strong> is "
                                 "connected: buyers can pay with it now.</p><p>You can close this "
                                 "tab.</p></section>",
                                 html::text(s.name)));
}

// Several stores: the operator picks one; the key waits in a new single-use state.
http::Response store_picker(const App& app, db::Database& db, store::ConnectStateRow st,
                            const std::string& api_key,
                            const std::vector<payments::BtcpayClient::Store>& stores) {
    st.state = random_base32(20);
    st.api_key = api_key;
    st.created_at = app.clock->now();
    if (!store::AccountStore(db).save_connect_state(st))
        return message_page(app, db, 500, "BTCPay connect failed", "Start again.");
    std::string options;
    for (std::size_t i = 0; i < stores.size(); ++i)
        options += fmt::format(
            "<label class=\"field\"><span><input type=\"radio\" name=\"store_id\" "
            "value=\"{}\"{} required> {}</span></label>",
            html::text(stores[i].id), i == 0 ? " checked" : "", html::text(stores[i].name));
    return html_page(app, db, 200, "Pick a BTCPay store",
                     fmt::format("<section class=\"card\"><h1>Pick a store</h1><p class=\"lead\">"
                                 "The key you authorized sees several stores. Which one sells?</p>"
                                 "<form method=\"post\" action=\"/v1/btcpay/authorize/store\" "
                                 "id=\"store-form\"><input type=\"hidden\" name=\"state\" "
                                 "value=\"{}\">{}<button type=\"submit\">Connect this store"
                                 "</button></form></section>",
                                 html::text(st.state), options));
}

http::Response expired_state(const App& app, db::Database& db) {
    return message_page(app, db, 401, "This connect link has expired",
                        "It was used already or is older than 30 minutes. Start the connect "
                        "again from keysat-serve's admin.");
}

// Connect callbacks come from the operator's browser: limit guessing anyway.
bool limited(const App& app, const http::Request& req) {
    std::string ip = client_address(req, app.trusted_proxies);
    return app.limiter && !app.limiter->take("connect:" + net::rate_limit_key(ip), 0.2, 10.0);
}

http::Response callback(const App& app, db::Database& db, const http::Request& req) {
    if (limited(app, req))
        return message_page(app, db, 429, "Too many attempts", "Wait a minute and try again.");
    auto state = req.query_value("state").value_or("");
    auto taken = store::AccountStore(db).take_connect_state(state, app.clock->now());
    if (!taken)
        return message_page(app, db, 500, "BTCPay connect failed", "Start again.");
    if (!*taken || (*taken)->api_key)
        return expired_state(app, db);
    auto form = form_fields(req);
    std::string api_key = form["apiKey"];
    // BTCPay's keys are letters and digits; anything else could reach a request header.
    if (api_key.empty() || api_key.size() > 128 ||
        api_key.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
            std::string::npos)
        return message_page(app, db, 400, "BTCPay connect failed",
                            "BTCPay sent no usable API key. Start the connect again.");
    if (app.outbound == nullptr)
        return message_page(app, db, 500, "BTCPay connect failed", "Start again.");
    store::PaymentProviderRow probe;
    probe.base_url = app.btcpay_url;
    probe.api_key = api_key;
    payments::BtcpayClient client(probe, *app.outbound);
    auto stores = client.list_stores();
    if (!stores) {
        std::fprintf(stderr, "keysat-serve: btcpay connect: %s\n", stores.error().message.c_str());
        (void)client.revoke_key();
        return message_page(app, db, 502, "BTCPay connect failed",
                            "keysat-serve could not list the key's stores at BTCPay (its log "
                            "says why). Start the connect again.");
    }
    std::erase_if(*stores, [](const auto& s) { return !payments::is_provider_id(s.id); });
    if (stores->empty()) {
        (void)client.revoke_key();
        return message_page(app, db, 400, "BTCPay connect failed",
                            "The authorized API key has access to no store. Start again and "
                            "pick a store.");
    }
    if (stores->size() > 1)
        return store_picker(app, db, **taken, api_key, *stores);
    return finish_connect(app, db, **taken, api_key, stores->front(), req);
}

http::Response pick_store(const App& app, db::Database& db, const http::Request& req) {
    if (limited(app, req))
        return message_page(app, db, 429, "Too many attempts", "Wait a minute and try again.");
    auto form = form_fields(req);
    auto taken = store::AccountStore(db).take_connect_state(form["state"], app.clock->now());
    if (!taken)
        return message_page(app, db, 500, "BTCPay connect failed", "Start again.");
    if (!*taken || !(*taken)->api_key)
        return expired_state(app, db);
    store::PaymentProviderRow probe;
    probe.base_url = app.btcpay_url;
    probe.api_key = (*taken)->api_key;
    if (app.outbound == nullptr)
        return message_page(app, db, 500, "BTCPay connect failed", "Start again.");
    payments::BtcpayClient client(probe, *app.outbound);
    auto stores = client.list_stores();
    if (!stores) {
        std::fprintf(stderr, "keysat-serve: btcpay connect: %s\n", stores.error().message.c_str());
        (void)client.revoke_key();
        return message_page(app, db, 502, "BTCPay connect failed",
                            "keysat-serve could not list the key's stores at BTCPay (its log "
                            "says why). Start the connect again.");
    }
    for (const auto& s : *stores)
        if (s.id == form["store_id"] && payments::is_provider_id(s.id))
            return finish_connect(app, db, **taken, *(*taken)->api_key, s, req);
    (void)client.revoke_key();
    return message_page(app, db, 400, "BTCPay connect failed",
                        "The key does not see that store. Start again.");
}

json merchant_fields(db::Database& db, const std::optional<std::string>& id) {
    std::optional<store::MerchantProfileRow> m;
    if (id)
        if (auto found = store::AccountStore(db).find_merchant(*id); found && *found)
            m = **found;
    return {{"merchant_profile_id", id ? json(*id) : json(nullptr)},
            {"merchant_profile_name", m ? json(m->name) : json(nullptr)}};
}

http::Response btcpay_status(db::Database& db) {
    auto p = current_btcpay(db);
    if (!p)
        return json_response(200, {{"connected", false}});
    auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
    json out = {{"connected", true},
                {"provider_id", p->id},
                {"store_id", opt(p->store_id)},
                {"webhook_id", opt(p->webhook_id)},
                {"base_url", p->base_url},
                {"label", p->label}};
    out.update(merchant_fields(db, p->merchant_profile_id));
    return json_response(200, out);
}

// A warning for the invoices still waiting at a provider being disconnected: nothing will tell
// keysat-serve when they are paid.
std::optional<std::string> pending_warning(db::Database& db, const std::string& provider_id) {
    auto pending = store::CommerceStore(db).pending_since(0);
    if (!pending)
        return std::nullopt;
    auto n = std::count_if(pending->begin(), pending->end(), [&](const store::InvoiceRow& i) {
        return i.provider_id == provider_id;
    });
    if (n == 0)
        return std::nullopt;
    return fmt::format("{} invoice(s) still pending at this provider will not settle here any "
                       "more; if they are paid, issue their licenses by hand",
                       n);
}

http::Response btcpay_disconnect(const App& app, db::Database& db, const Actor& actor,
                                 const http::Request& req) {
    json body = json::object();
    if (!req.body.empty()) {
        http::Response bad;
        auto parsed = parse_body(req, bad);
        if (!parsed)
            return bad;
        body = *parsed;
    }
    Fields f(body);
    auto named = f.text("provider_id", false, 64);
    if (!f.error().empty())
        return error_response("bad_request", f.error());
    std::optional<store::PaymentProviderRow> p;
    if (named) {
        auto found = store::AccountStore(db).find_provider(*named);
        if (!found)
            return error_response("internal_error", "could not read payment providers");
        if (*found && (*found)->kind == "btcpay" && (*found)->status == "connected")
            p = **found;
    } else {
        p = current_btcpay(db);
    }
    if (!p)
        return json_response(200, {{"ok", true},
                                   {"noop", true},
                                   {"message", "no BTCPay provider connected on the named "
                                               "profile"}});
    // Best effort, before anything is forgotten: BTCPay stops sending, and the key dies.
    json warnings = json::array();
    payments::BtcpayClient client(*p, *app.outbound);
    if (p->webhook_id)
        if (auto done = client.delete_webhook(*p->webhook_id); !done)
            warnings.push_back("the webhook was not deleted: " + done.error().message);
    if (auto w = pending_warning(db, p->id))
        warnings.push_back(*w);
    if (p->id == k_static_btcpay_provider)
        warnings.push_back("this store is configured by hand: its key was not revoked; remove "
                           "the btcpay_* settings too, or it is connected again at the next "
                           "start");
    else if (auto done = client.revoke_key(); !done)
        warnings.push_back("the API key was not revoked: " + done.error().message);
    auto tx = db::Transaction::begin(db);
    if (!tx)
        return error_response("internal_error", "database busy");
    auto changed = store::AccountStore(db).disconnect_provider(p->id, app.clock->now());
    if (!changed ||
        !audit(
            db, app, actor, "payment_provider.disconnect", p->id,
            {{"kind", "btcpay"}, {"store_id", p->store_id.value_or("")}, {"warnings", warnings}}) ||
        !tx->commit())
        return error_response("internal_error", "could not record the disconnect");
    auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
    return json_response(200, {{"ok", true},
                               {"noop", false},
                               {"provider_id", p->id},
                               {"store_id", opt(p->store_id)},
                               {"webhook_id", opt(p->webhook_id)},
                               {"warnings", warnings}});
}

http::Response provider_status(db::Database& db) {
    auto accounts = store::AccountStore(db);
    auto list = accounts.list_providers();
    auto profile = accounts.default_merchant();
    if (!list || !profile)
        return error_response("internal_error", "could not read payment providers");
    std::optional<std::string> profile_id =
        *profile ? std::optional<std::string>((*profile)->id) : std::nullopt;
    json providers = json::array();
    bool btcpay = false, zaprite = false;
    json first = nullptr;
    for (const auto& p : *list) {
        if (p.status != "connected")
            continue;
        btcpay = btcpay || p.kind == "btcpay";
        zaprite = zaprite || p.kind == "zaprite";
        // The default profile's providers, and those on no profile (configured by hand).
        if (p.merchant_profile_id && p.merchant_profile_id != profile_id)
            continue;
        if (first.is_null())
            first = p.kind;
        providers.push_back({{"id", p.id},
                             {"kind", p.kind},
                             {"label", p.label},
                             {"base_url", p.base_url},
                             {"store_id", p.store_id ? json(*p.store_id) : json(nullptr)}});
    }
    json out = {{"btcpay_configured", btcpay},
                {"zaprite_configured", zaprite},
                {"preferred", first},
                {"active", first},
                {"providers", providers}};
    out.update(merchant_fields(db, profile_id));
    return json_response(200, out);
}

// Zaprite: connect with an API key (checked against Zaprite before anything is kept, outside
// the transaction), a webhook URL with a random secret in its path for the operator to paste
// into Zaprite, status, disconnect.
std::string zaprite_webhook_url(const App& app, const store::PaymentProviderRow& p) {
    // An account imported from Keysat has no secret: Zaprite posts to Keysat's route.
    if (!p.webhook_secret || p.webhook_secret->empty())
        return public_base(app) + "/v1/zaprite/webhook/" + p.id;
    return public_base(app) + "/v1/zaprite/webhook/" + p.id + "/" + *p.webhook_secret;
}

std::string zaprite_base(const json& body) {
    std::string base = body.contains("base_url") && body["base_url"].is_string()
                           ? body["base_url"].get<std::string>()
                           : payments::k_zaprite_default_url;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base;
}

std::optional<http::Response> zaprite_key_check(const App& app, const json& body) {
    Fields f(body);
    auto key = f.text("api_key", true, 500);
    (void)f.text("base_url", false, 500);
    if (!f.error().empty())
        return error_response("bad_request", f.error());
    std::string base = zaprite_base(body);
    if (!base.starts_with("https://") && !base.starts_with("http://"))
        return error_response("bad_request",
                              "bad request: base_url must start with http:// or https://");
    std::string trimmed = trimmed_key(*key);
    if (trimmed.empty())
        return error_response("bad_request", "bad request: api_key is required");
    for (unsigned char c : trimmed)
        if (c < 0x21 || c > 0x7e)
            return error_response("bad_request",
                                  "bad request: api_key holds a space or a control character");
    if (app.outbound == nullptr)
        return error_response("internal_error", "internal error: no outbound policy");
    store::PaymentProviderRow probe;
    probe.kind = "zaprite";
    probe.base_url = base;
    probe.api_key = trimmed;
    if (auto ok = payments::ZapriteClient(probe, *app.outbound).check_key(); !ok)
        return error_response("upstream_error",
                              "upstream error: Zaprite key validation failed (key may be invalid "
                              "or revoked): " +
                                  ok.error().message);
    return std::nullopt;
}

Outcome zaprite_connect(Mutation& m) {
    auto key = m.fields.text("api_key", true, 500);
    auto label = m.fields.text("label", false, 200);
    auto profile_id = m.fields.text("merchant_profile_id", false, 64);
    if (auto bad = m.bad_fields())
        return *bad;
    http::Response error;
    auto profile = free_profile_for(m, "zaprite", "Zaprite", profile_id, error);
    if (!profile)
        return error;
    store::PaymentProviderRow p;
    p.id = crypto::uuid_v4().to_string();
    p.kind = "zaprite";
    p.merchant_profile_id = profile->id;
    p.base_url = zaprite_base(m.body);
    p.api_key = trimmed_key(*key);
    p.webhook_secret = random_base32(32);
    p.label = label.value_or("Zaprite — " + profile->name);
    p.created_at = p.updated_at = m.now;
    if (!store::AccountStore(m.db).save_provider(p))
        return error_response("internal_error", "could not save the provider");
    return Mutated{{{"ok", true},
                    {"provider", "zaprite"},
                    {"provider_id", p.id},
                    {"merchant_profile_id", profile->id},
                    {"merchant_profile_name", profile->name},
                    {"label", p.label},
                    {"base_url", p.base_url},
                    {"webhook_url", zaprite_webhook_url(m.app, p)}},
                   "payment_provider.connect",
                   p.id,
                   {{"kind", "zaprite"}, {"merchant_profile_id", profile->id}}};
}

std::optional<store::PaymentProviderRow> current_zaprite(db::Database& db,
                                                         const std::optional<std::string>& named) {
    if (named) {
        auto found = store::AccountStore(db).find_provider(*named);
        if (found && *found && (*found)->kind == "zaprite" && (*found)->status == "connected")
            return **found;
        return std::nullopt;
    }
    auto profile = store::AccountStore(db).default_merchant();
    if (profile && *profile)
        return connected_on(db, "zaprite", (*profile)->id);
    return std::nullopt;
}

http::Response zaprite_status(const App& app, db::Database& db, const Actor& actor) {
    auto p = current_zaprite(db, std::nullopt);
    std::string explainer = "Paste webhook_url into Zaprite (Settings, Webhooks) for order "
                            "events; keysat-serve reads each order back from Zaprite before it "
                            "acts on it.";
    if (!p)
        return json_response(200, {{"connected", false}, {"webhook_explainer", explainer}});
    // The URL holds the path secret: whole for the master key, which can reconnect anyway.
    const bool secret = p->webhook_secret && !p->webhook_secret->empty();
    std::string url = actor.kind == "master" || !secret
                          ? zaprite_webhook_url(app, *p)
                          : public_base(app) + "/v1/zaprite/webhook/" + p->id + "/<secret>";
    json out = {{"connected", true},
                {"provider_id", p->id},
                {"base_url", p->base_url},
                {"label", p->label},
                {"webhook_id", nullptr},
                {"webhook_url", url},
                {"webhook_explainer", explainer}};
    out.update(merchant_fields(db, p->merchant_profile_id));
    return json_response(200, out);
}

Outcome zaprite_disconnect(Mutation& m) {
    auto named = m.fields.text("provider_id", false, 64);
    if (auto bad = m.bad_fields())
        return *bad;
    auto p = current_zaprite(m.db, named);
    if (!p)
        return Mutated{{{"ok", true},
                        {"noop", true},
                        {"message", "no Zaprite provider connected on the default merchant "
                                    "profile"}},
                       "payment_provider.disconnect",
                       "",
                       {{"kind", "zaprite"}, {"noop", true}}};
    auto warning = pending_warning(m.db, p->id);
    if (!store::AccountStore(m.db).disconnect_provider(p->id, m.now))
        return error_response("internal_error", "could not record the disconnect");
    return Mutated{{{"ok", true},
                    {"noop", false},
                    {"provider_id", p->id},
                    {"warnings", warning ? json::array({*warning}) : json::array()},
                    {"message", "Zaprite provider disconnected. Don't forget to delete the "
                                "corresponding webhook on Zaprite's side at app.zaprite.com."}},
                   "payment_provider.disconnect",
                   p->id,
                   {{"kind", "zaprite"}}};
}

} // namespace

void register_provider_admin_routes(http::Server& s, const App& app) {
    s.route("POST", "/v1/admin/btcpay/connect",
            mutation(app, "", Body::optional_json, [](Mutation& m) { return connect_start(m); }));
    s.route("GET", "/v1/admin/btcpay/status",
            admin(app, "payment_providers:read",
                  [](db::Database& db, const Actor&, const http::Request&) {
                      return btcpay_status(db);
                  }));
    s.route("POST", "/v1/admin/btcpay/disconnect",
            admin(app, "", [&app](db::Database& db, const Actor& actor, const http::Request& r) {
                return btcpay_disconnect(app, db, actor, r);
            }));
    s.route("GET", "/v1/admin/payment-provider/status",
            admin(app, "payment_providers:read",
                  [](db::Database& db, const Actor&, const http::Request&) {
                      return provider_status(db);
                  }));
    s.route("POST", "/v1/admin/zaprite/connect",
            mutation(app, "", Body::json, zaprite_connect,
                     [&app](const json& body) { return zaprite_key_check(app, body); }));
    s.route("GET", "/v1/admin/zaprite/status",
            admin(app, "payment_providers:read",
                  [&app](db::Database& db, const Actor& actor, const http::Request&) {
                      return zaprite_status(app, db, actor);
                  }));
    s.route("POST", "/v1/admin/zaprite/disconnect",
            mutation(app, "", Body::optional_json, zaprite_disconnect));
    s.route("POST", "/v1/btcpay/authorize/callback",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return callback(app, db, r);
            }));
    s.route("GET", "/v1/btcpay/authorize/callback",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                // BTCPay sends the browser back here when the operator declines.
                (void)store::AccountStore(db).take_connect_state(
                    r.query_value("state").value_or(""), app.clock->now());
                return message_page(app, db, 200, "BTCPay was not connected",
                                    "The authorization was declined or failed. Start the "
                                    "connect again from keysat-serve's admin when you are "
                                    "ready.");
            }));
    s.route("POST", "/v1/btcpay/authorize/store",
            with_database(app, [&app](db::Database& db, const http::Request& r) {
                return pick_store(app, db, r);
            }));
}

} // namespace keysat::api
