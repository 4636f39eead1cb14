#include "keysat/api/app.hpp"
#include "keysat/util/json_depth.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "keysat/service/pricing.hpp"
#include "keysat/util/date.hpp"

namespace keysat::api {

using nlohmann::json;

Expected<db::Database*> App::database() const {
    thread_local std::map<std::string, std::unique_ptr<db::Database>> t_connections;
    auto& slot = t_connections[db_path.string()];
    if (!slot) {
        KEYSAT_TRY_ASSIGN(db, db::Database::open(db_path, db::OpenMode::read_write));
        slot = std::make_unique<db::Database>(std::move(db));
        // Every write through the routes' connections may change what validate and the pages
        // cache.
        slot->after_commit([cache = row_cache, commits = commits] {
            if (cache && !service::ValidationCache::keeping_rows())
                cache->invalidate();
            commits->fetch_add(1, std::memory_order_acq_rel);
        });
    }
    return slot.get();
}

std::string public_base(const App& app) {
    std::string base = app.public_url;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base;
}

json product_json(const store::ProductRow& p) {
    json catalog = json::parse(p.entitlements_json, nullptr, false);
    return {{"id", p.id},
            {"slug", p.slug},
            {"name", p.name},
            {"description", p.description},
            {"price_sats", p.currency == "SAT" ? p.price_amount : 0},
            {"price_currency", p.currency},
            {"price_value", p.price_amount},
            {"active", p.active},
            {"metadata", json::object()},
            {"merchant_profile_id",
             p.merchant_profile_id ? json(*p.merchant_profile_id) : json(nullptr)},
            {"entitlements_catalog", catalog.is_discarded() ? json(nullptr) : catalog},
            {"created_at", format_timestamp(p.created_at)},
            {"updated_at", format_timestamp(p.updated_at)}};
}

std::int64_t renewal_period_days(const store::PolicyRow& p) {
    return p.renewal_period_days.value_or(0);
}

json policy_metadata(const store::PolicyRow& p) {
    json meta = json::parse(p.metadata_json, nullptr, false);
    if (!meta.is_object())
        meta = json::object();
    meta["description"] = p.description;
    meta["highlight"] = p.highlighted;
    meta["marketing_bullets"] = json_array_or_empty(p.marketing_bullets_json);
    meta["marketing_bullets_position"] = p.marketing_bullets_position;
    meta["hidden_entitlements"] = json_array_or_empty(p.hidden_entitlements_json);
    return meta;
}

json storefront_policy_json(const store::ProductRow& product, const store::PolicyRow& pol,
                            const std::vector<store::DiscountCodeRow>& codes, std::int64_t now) {
    std::int64_t price = pol.price_override.value_or(product.price_amount);
    json featured = nullptr;
    if (auto f = service::featured_discount(codes, product, pol, price, now)) {
        auto opt = [](const std::optional<std::int64_t>& v) {
            return v ? json(*v) : json(nullptr);
        };
        const auto& c = f->code;
        featured = {
            {"code", c.code},
            {"kind", c.kind},
            {"amount", c.value},
            {"description", c.description},
            {"expires_at", c.expires_at ? json(format_timestamp(*c.expires_at)) : json(nullptr)},
            {"max_uses", opt(c.max_uses)},
            {"used_count", c.uses},
            {"remaining_uses",
             c.max_uses ? json(std::max<std::int64_t>(*c.max_uses - c.uses, 0)) : json(nullptr)},
            {"discount_applied_sats", f->discount},
            {"discounted_price_sats", f->price}};
    }
    return {{"slug", pol.slug},
            {"name", pol.name},
            {"description", pol.description},
            {"price_sats", price},
            {"duration_seconds", pol.duration_days.value_or(0) * 86400},
            {"max_machines", pol.max_machines},
            {"is_trial", pol.is_trial},
            {"entitlements", json_array_or_empty(pol.entitlements_json)},
            {"marketing_bullets", json_array_or_empty(pol.marketing_bullets_json)},
            {"marketing_bullets_position", pol.marketing_bullets_position},
            {"hidden_entitlements", json_array_or_empty(pol.hidden_entitlements_json)},
            {"highlighted", pol.highlighted},
            {"is_recurring", pol.renewal_period_days.has_value()},
            {"renewal_period_days", renewal_period_days(pol)},
            {"trial_days", pol.trial_days.value_or(0)},
            {"tier_rank", pol.tier_rank},
            {"featured_discount", featured}};
}

json json_array_or_empty(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    return j.is_array() ? j : json::array();
}

http::Response json_response(int status, const json& body) {
    http::Response r;
    r.status = status;
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
}

http::Response error_response(const std::string& code, const std::string& message) {
    static const std::map<std::string, int> k_status = {
        {"bad_request", 400},       {"unauthorized", 401},       {"forbidden", 403},
        {"not_found", 404},         {"method_not_allowed", 405}, {"conflict", 409},
        {"payload_too_large", 413}, {"rate_limited", 429},       {"internal_error", 500},
        {"upstream_error", 502},    {"service_unavailable", 503}};
    auto it = k_status.find(code);
    return json_response(it == k_status.end() ? 500 : it->second,
                         {{"ok", false}, {"error", code}, {"message", message}});
}

http::Response refuse_when_disk_full(const http::Request& req, const http::Handler& handler) {
    auto before = db::space_errors_in_this_thread();
    http::Response res = handler(req);
    if (res.status < 400 || db::space_errors_in_this_thread() == before)
        return res;
    res = error_response("service_unavailable",
                         "the disk holding the database is full: nothing was changed; free some "
                         "space and try again");
    res.headers.emplace_back("Retry-After", "60");
    return res;
}

http::Response error_for_status(int status) {
    struct Word {
        const char* code;
        const char* message;
    };
    static const std::map<int, Word> k_words = {
        {400, {"bad_request", "bad request"}},
        {404, {"not_found", "no such route"}},
        {405, {"method_not_allowed", "method not allowed"}},
        {413, {"payload_too_large", "request body too large"}},
        {414, {"uri_too_long", "request target too long"}},
        {416, {"range_not_satisfiable", "the range is outside the file"}},
        {417, {"expectation_failed", "only 'Expect: 100-continue' is understood"}},
        {431, {"header_fields_too_large", "request head too large or too many header fields"}},
        {500, {"internal_error", "internal error"}},
        {501, {"not_implemented", "only the chunked transfer coding is understood"}},
        {505, {"http_version_not_supported", "HTTP/1.0 and HTTP/1.1 only"}}};
    auto it = k_words.find(status);
    // A refusal of the client's request is never reported as our failure.
    Word w = it != k_words.end() ? it->second
             : status < 500      ? Word{"bad_request", "bad request"}
                                 : Word{"internal_error", "internal error"};
    return json_response(status, {{"ok", false}, {"error", w.code}, {"message", w.message}});
}

std::optional<json> parse_body(const http::Request& req, http::Response& error) {
    if (json_nesting_depth(req.body) > k_max_json_depth) {
        error = error_response("bad_request", "bad request: JSON nested deeper than 32 levels");
        return std::nullopt;
    }
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        error = error_response("bad_request", "bad request: the body must be a JSON object");
        return std::nullopt;
    }
    return body;
}

} // namespace keysat::api
