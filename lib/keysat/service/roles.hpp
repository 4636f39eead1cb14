#pragma once
// Scoped API keys' roles (Keysat's five) and the scopes each grants: what the admin API checks,
// what creating a key stores and what an imported Keysat key becomes.

#include <optional>
#include <string>
#include <vector>

namespace keysat::service {

// The scopes a role grants (payment provider connect and API keys stay master-only); nullopt
// for a role that is not one of read-only, license-issuer, support, merchant-onboard,
// full-admin.
std::optional<std::vector<std::string>> role_scopes(const std::string& role);

// The role whose scopes a stored key holds exactly, or "custom".
std::string role_of(const std::string& scopes_json);

// Every scope a key can hold: "<area>:read" and "<area>:write" of each admin area.
std::vector<std::string> known_scopes();

} // namespace keysat::service
