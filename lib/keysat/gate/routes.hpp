#pragma once
// The release gate's HTTP routes (http-api.md, "Release gate"), served by keysat-serve when a
// releases directory is configured.

#include <filesystem>
#include <string>

#include "keysat/api/app.hpp"
#include "keysat/gate/access.hpp"
#include "keysat/gate/layout.hpp"
#include "keysat/gate/revocations.hpp"
#include "keysat/http/server.hpp"

namespace keysat::gate {

struct GateConfig {
    std::filesystem::path releases_dir;
    std::string git_redirect_url;          // empty: no /git/* routes
    std::filesystem::path revocation_list; // empty: none
};

// The gate's state: the tree it reads, the revocation list it reloads and a cache of verified
// token signatures. Nothing else: the gate runs as any number of replicas over a shared
// releases directory.
struct Gate {
    explicit Gate(const GateConfig& config)
        : tree(config.releases_dir), revocations(config.revocation_list),
          git_redirect_url(config.git_redirect_url) {}

    ReleaseTree tree;
    RevocationList revocations;
    std::string git_redirect_url;
    VerifiedTokens verified_tokens;
};

// GET /releases/... when a releases directory is configured, GET and POST /git/... when a
// repository URL is. `app`
// supplies the keyring, the clock and the database (LIC1 keys' products and licenses).
void register_gate_routes(http::Server& server, const api::App& app, Gate& gate);
// POST /v1/admin/releases/revocations/reload (master key or scope settings:write).
void register_gate_admin_routes(http::Server& server, const api::App& app, Gate& gate);

// Percent-encodes everything but RFC 3986's unreserved characters (and '/' when `keep_slash`).
std::string url_encode(std::string_view text, bool keep_slash = false);

} // namespace keysat::gate
