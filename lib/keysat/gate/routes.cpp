#include "keysat/gate/routes.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>

#include <fmt/format.h>

#include "keysat/api/admin.hpp"
#include "keysat/gate/access.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/license_store.hpp"

namespace keysat::gate {

using nlohmann::json;

namespace {

http::Response gate_error(int status, const std::string& word, const std::string& message) {
    http::Response r =
        api::json_response(status, {{"ok", false}, {"error", word}, {"message", message}});
    if (status == 401)
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
}

// Paths are never echoed: a refused name gets the same answer as a missing one.
http::Response not_found(const std::string& what) {
    return api::error_response("not_found", "not found: " + what);
}

http::Response file_response(OpenedFile f, const std::string& content_type) {
    http::Response r;
    r.content_type = content_type;
    r.file = std::make_shared<http::FileBody>(f.fd.release(), f.size, f.mtime_ns);
    return r;
}

LicenseLookup database_lookup(const api::App& app) {
    return [&app](const std::string& product_id,
                  const std::string& license_id) -> Expected<LicenseFacts> {
        KEYSAT_TRY_ASSIGN(db, app.database());
        LicenseFacts facts;
        KEYSAT_TRY_ASSIGN(product, store::CatalogStore(*db).find_product(product_id));
        if (product)
            facts.product_slug = product->slug;
        KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(*db));
        KEYSAT_TRY_ASSIGN(row, licenses.find(license_id));
        if (row) {
            facts.license_known = true;
            facts.status = row->status;
            facts.expires_at = row->expires_at;
            facts.grace_days = row->grace_days;
        }
        return facts;
    };
}

http::Response download(const api::App& app, Gate& gate, const http::Request& req,
                        const std::string& product, const std::string& version,
                        const std::string& platform) {
    if (!is_safe_segment(product) || !is_safe_segment(version) || !is_safe_segment(platform))
        return not_found("release");
    if (gate.tree.requires_license(product)) {
        std::string token = request_token(req.header("authorization"), req.query_value("token"));
        Decision d = check_access({token, product, version, app.clock->now()}, app.keyring,
                                  gate.revocations, database_lookup(app), &gate.verified_tokens);
        if (!d.allowed())
            return gate_error(d.status, d.error, d.message);
    }
    auto f = gate.tree.open_file({product, version, platform});
    if (!f)
        return api::error_response("not_found",
                                   "the build pipeline has not produced this release yet");
    http::Response r = file_response(std::move(*f), "application/octet-stream");
    r.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}-{}-{}\"",
                                                              product, version, platform));
    r.headers.emplace_back("Cache-Control", "private, no-store");
    return r;
}

http::Response signature(Gate& gate, const std::string& product, const std::string& version,
                         const std::string& name) {
    auto f = gate.tree.open_file({product, version, name});
    if (!f)
        return not_found("signature");
    return file_response(std::move(*f), name.ends_with(".minisig") ? "text/plain; charset=utf-8"
                                                                   : "application/octet-stream");
}

http::Response latest(Gate& gate, const http::Request& req, const std::string& product,
                      const std::string& platform) {
    auto v = gate.tree.latest_with(product, platform);
    if (!v)
        return not_found("no version has this platform's build");
    // Only files that exist are redirected to; the token is re-encoded, never copied raw.
    std::string location = fmt::format("/releases/{}/{}/{}", product, *v, platform);
    if (auto token = req.query_value("token"); token && !token->empty())
        location += "?token=" + url_encode(*token);
    http::Response r = api::json_response(307, {{"location", location}});
    r.headers.emplace_back("Location", location);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

http::Response git_redirect(const Gate& gate, const http::Request& req) {
    // Only safe segments are carried over (so that git's /info/refs and friends work); anything
    // else goes to the repository's front page.
    std::string rest = req.path.substr(4); // after "/git"
    std::string carried;
    bool safe = true;
    for (std::size_t pos = 0; pos < rest.size() && safe;) {
        auto slash = rest.find('/', pos + 1);
        std::string seg =
            rest.substr(pos + 1, slash == std::string::npos ? slash : slash - pos - 1);
        safe = seg.empty() ? slash == std::string::npos : is_safe_segment(seg);
        carried += '/';
        carried += seg;
        pos = slash == std::string::npos ? rest.size() : slash;
    }
    std::string base = gate.git_redirect_url;
    while (base.ends_with("/"))
        base.pop_back();
    std::string location = base + (safe ? carried : "/");
    if (safe && !req.query.empty()) {
        // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) about "?" + string at -O3.
        char sep = '?';
        for (const auto& [k, v] : req.query) {
            location += sep;
            location += url_encode(k);
            location += '=';
            location += url_encode(v);
            sep = '&';
        }
    }
    http::Response r = api::json_response(307, {{"location", location}});
    r.headers.emplace_back("Location", location);
    return r;
}

} // namespace

std::string url_encode(std::string_view text, bool keep_slash) {
    std::string out;
    for (unsigned char c : text) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
        if (plain)
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

void register_gate_routes(http::Server& s, const api::App& app, Gate& gate) {
    if (!gate.git_redirect_url.empty()) {
        auto git = [&gate](const http::Request& req) { return git_redirect(gate, req); };
        s.route("GET", R"(/git(/[\s\S]*)?)", git);
        s.route("POST", R"(/git(/[\s\S]*)?)", git);
    }
    if (gate.tree.root().empty())
        return;
    const std::string seg = "([^/]+)";
    auto index = [&gate](const http::Request&) {
        return api::json_response(200, {{"products", gate.tree.products()}});
    };
    s.route("GET", "/releases/", index);
    s.route("GET", "/releases", index);
    auto versions = [&gate](const http::Request& req) {
        const std::string& p = req.params[0];
        auto list = is_safe_segment(p) ? gate.tree.versions(p) : std::nullopt;
        if (!list)
            return not_found("product");
        return api::json_response(200, {{"product", p}, {"versions", *list}});
    };
    s.route("GET", "/releases/" + seg + "/", versions);
    s.route("GET", "/releases/" + seg, versions);
    s.route("GET", "/releases/" + seg + "/install\\.sh", [&gate](const http::Request& req) {
        auto f = is_safe_segment(req.params[0]) ? gate.tree.open_file({req.params[0], "install.sh"})
                                                : std::nullopt;
        if (!f)
            return not_found("installer");
        return file_response(std::move(*f), "text/x-shellscript; charset=utf-8");
    });
    s.route("GET", "/releases/" + seg + "/latest/" + seg, [&gate](const http::Request& req) {
        if (!is_safe_segment(req.params[0]) || !is_safe_segment(req.params[1]))
            return not_found("release");
        return latest(gate, req, req.params[0], req.params[1]);
    });
    s.route("GET", "/releases/" + seg + "/" + seg + "/MANIFEST", [&gate](const http::Request& req) {
        auto m = gate.tree.manifest(req.params[0], req.params[1]);
        using State = ReleaseTree::Manifest::State;
        if (m.state == State::missing)
            return not_found("version");
        if (m.state == State::hashing) {
            // The builds are being hashed in the background: ask again shortly.
            auto r = api::error_response("service_unavailable",
                                         "the manifest is being prepared; retry after " +
                                             std::to_string(m.retry_after_s) + " s");
            r.headers.emplace_back("Retry-After", std::to_string(m.retry_after_s));
            return r;
        }
        http::Response r;
        r.body = std::move(m.text);
        return r;
    });
    s.route("GET", "/releases/" + seg + "/" + seg + "/" + seg,
            [&app, &gate](const http::Request& req) {
                const auto& [p, v, name] = std::tie(req.params[0], req.params[1], req.params[2]);
                if (!is_safe_segment(p) || !is_safe_segment(v) || !is_safe_segment(name))
                    return not_found("release");
                if (name.ends_with(".minisig") || name.ends_with(".sig"))
                    return signature(gate, p, v, name);
                return download(app, gate, req, p, v, name);
            });
}

namespace {

// GET /v1/admin/releases?versions=N: every product with its newest N versions (default 10, up to
// 100), each build with its size and signatures; unsigned_builds counts those listed.
http::Response releases_overview(db::Database& db, const Gate& gate, const http::Request& req) {
    std::int64_t per_product = 10;
    if (auto v = req.query_value("versions")) {
        std::int64_t n = 0;
        auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || p != v->data() + v->size() || n < 1 || n > 100)
            return api::error_response("bad_request",
                                       "bad request: 'versions' must be a number from 1 to 100");
        per_product = n;
    }
    auto catalog = store::CatalogStore(db).list_products(false);
    if (!catalog)
        return api::error_response("internal_error", "products");
    json products = json::array();
    std::size_t unsigned_builds = 0;
    // At most 200 products and 100 builds per version: a request holds a worker for a bounded
    // number of directory reads whatever the tree holds.
    constexpr std::size_t k_max_products = 200, k_max_builds = 100;
    auto all = gate.tree.products();
    if (all.size() > k_max_products)
        all.resize(k_max_products);
    for (const auto& product : all) {
        auto versions = gate.tree.versions(product).value_or(std::vector<std::string>{});
        json listed = json::array();
        for (std::size_t i = 0; i < versions.size() && i < static_cast<std::size_t>(per_product);
             ++i) {
            json builds = json::array();
            auto found = gate.tree.builds(product, versions[i], k_max_builds);
            for (const auto& b : found) {
                if (!b.minisig && !b.sig)
                    ++unsigned_builds;
                builds.push_back({{"name", b.name},
                                  {"size", b.size},
                                  {"minisig", b.minisig},
                                  {"sig", b.sig},
                                  {"signed", b.minisig || b.sig}});
            }
            listed.push_back({{"version", versions[i]}, {"builds", builds}});
        }
        bool known = std::any_of(catalog->begin(), catalog->end(),
                                 [&](const store::ProductRow& p) { return p.slug == product; });
        products.push_back({{"product", product},
                            {"in_catalog", known},
                            {"requires_license", gate.tree.requires_license(product)},
                            {"version_count", versions.size()},
                            {"versions", listed}});
    }
    return api::json_response(200, {{"products", products},
                                    {"product_count", gate.tree.products().size()},
                                    {"unsigned_builds", unsigned_builds},
                                    {"revoked_keys", gate.revocations.size()},
                                    {"hashing_backlog_bytes", gate.tree.hashing_backlog()}});
}

} // namespace

void register_gate_admin_routes(http::Server& s, const api::App& app, Gate& gate) {
    // What the gate serves: each product directory (and whether the catalog knows its slug),
    // its newest versions with their builds and which of them lack a signature.
    s.route("GET", "/v1/admin/releases",
            api::admin(app, "products:read",
                       [&gate](db::Database& db, const api::Actor&, const http::Request& req) {
                           return releases_overview(db, gate, req);
                       }));
    s.route("POST", "/v1/admin/releases/revocations/reload",
            api::admin(
                app, "settings:write",
                [&app, &gate](db::Database& db, const api::Actor& actor, const http::Request&) {
                    auto n = gate.revocations.reload();
                    if (!n)
                        return api::error_response(
                            "bad_request", n.error().message + " (the previous list stays in use)");
                    // The list is a file, not a row: the reload cannot share a transaction
                    // with its audit row, so a failed audit write is at least an error.
                    if (!api::audit(db, app, actor, "releases.revocations.reload", "",
                                    {{"revoked", *n}}))
                        return api::error_response("internal_error",
                                                   "the list was reloaded but its audit row "
                                                   "could not be written");
                    return api::json_response(200, {{"ok", true}, {"revoked", *n}});
                }));
}

} // namespace keysat::gate
