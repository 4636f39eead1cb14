#pragma once
// Every admin route keysat-serve registers, with the scope it requires (empty: the master key
// only), as the spec's table of areas and roles says. The role walk and the OpenAPI test both
// read it, so a route added without an entry here fails them.

#include <string>
#include <vector>

namespace keysat::test {

struct AdminRoute {
    std::string method; // lower case, as in the OpenAPI document
    std::string path;   // OpenAPI form, with {id} and {slug}
    std::string scope;
    bool gate = false; // registered only when the release gate is configured
};

inline const std::vector<AdminRoute>& admin_routes() {
    static const std::vector<AdminRoute> routes = {
        {"get", "/v1/admin/products", "products:read"},
        {"post", "/v1/admin/products", "products:write"},
        {"patch", "/v1/admin/products/{id}", "products:write"},
        {"patch", "/v1/admin/products/{id}/active", "products:write"},
        {"delete", "/v1/admin/products/{id}", "products:write"},
        {"get", "/v1/admin/policies", "policies:read"},
        {"post", "/v1/admin/policies", "policies:write"},
        {"patch", "/v1/admin/policies/{id}", "policies:write"},
        {"patch", "/v1/admin/policies/{id}/active", "policies:write"},
        {"patch", "/v1/admin/policies/{id}/public", "policies:write"},
        {"patch", "/v1/admin/policies/{id}/archived", "policies:write"},
        {"delete", "/v1/admin/policies/{id}", "policies:write"},
        {"get", "/v1/admin/licenses", "licenses:read"},
        {"post", "/v1/admin/licenses", "licenses:write"},
        {"get", "/v1/admin/licenses/search", "licenses:read"},
        {"get", "/v1/admin/dashboard", "licenses:read"},
        {"get", "/v1/admin/invoices", "licenses:read"},
        {"get", "/v1/admin/licenses/{id}", "licenses:read"},
        {"post", "/v1/admin/licenses/import", "licenses:write"},
        {"post", "/v1/admin/licenses/{id}/revoke", "licenses:write"},
        {"post", "/v1/admin/licenses/{id}/suspend", "licenses:write"},
        {"post", "/v1/admin/licenses/{id}/unsuspend", "licenses:write"},
        {"post", "/v1/admin/licenses/{id}/change-tier", "licenses:write"},
        {"get", "/v1/admin/subscriptions", "subscriptions:read"},
        {"get", "/v1/admin/subscriptions/{id}", "subscriptions:read"},
        {"post", "/v1/admin/subscriptions/{id}/cancel", "subscriptions:write"},
        {"post", "/v1/admin/subscriptions/{id}/resume", "subscriptions:write"},
        {"post", "/v1/admin/subscriptions/{id}/extend", "subscriptions:write"},
        {"get", "/v1/admin/machines", "machines:read"},
        {"post", "/v1/admin/machines/{id}/deactivate", "machines:write"},
        {"post", "/v1/admin/api-keys", ""},
        {"get", "/v1/admin/api-keys", ""},
        {"delete", "/v1/admin/api-keys/{id}", ""},
        {"get", "/v1/admin/audit", "audit:read"},
        {"get", "/v1/admin/backup", ""},
        {"post", "/v1/admin/backup/link", ""},
        {"get", "/v1/admin/settings/operator-name", "settings:read"},
        {"post", "/v1/admin/settings/operator-name", "settings:write"},
        {"post", "/v1/admin/btcpay/connect", ""},
        {"get", "/v1/admin/btcpay/status", "payment_providers:read"},
        {"post", "/v1/admin/btcpay/disconnect", ""},
        {"get", "/v1/admin/payment-provider/status", "payment_providers:read"},
        {"get", "/v1/admin/merchant-profiles", "merchant_profiles:read"},
        {"post", "/v1/admin/merchant-profiles", "merchant_profiles:write"},
        {"get", "/v1/admin/merchant-profiles/{id}", "merchant_profiles:read"},
        {"patch", "/v1/admin/merchant-profiles/{id}", "merchant_profiles:write"},
        {"delete", "/v1/admin/merchant-profiles/{id}", "merchant_profiles:write"},
        {"post", "/v1/admin/merchant-profiles/{id}/set-default", "merchant_profiles:write"},
        {"put", "/v1/admin/merchant-profiles/{id}/rail-preferences/{slug}",
         "merchant_profiles:write"},
        {"delete", "/v1/admin/merchant-profiles/{id}/rail-preferences/{slug}",
         "merchant_profiles:write"},
        {"post", "/v1/admin/zaprite/connect", ""},
        {"get", "/v1/admin/zaprite/status", "payment_providers:read"},
        {"post", "/v1/admin/zaprite/disconnect", ""},
        {"post", "/v1/admin/webhook-endpoints", "webhooks:write"},
        {"get", "/v1/admin/webhook-endpoints", "webhooks:read"},
        {"patch", "/v1/admin/webhook-endpoints/{id}/active", "webhooks:write"},
        {"delete", "/v1/admin/webhook-endpoints/{id}", "webhooks:write"},
        {"get", "/v1/admin/webhook-deliveries", "webhooks:read"},
        {"post", "/v1/admin/webhook-deliveries/{id}/retry", "webhooks:write"},
        {"get", "/v1/admin/discount-codes", "discount_codes:read"},
        {"post", "/v1/admin/discount-codes", "discount_codes:write"},
        {"get", "/v1/admin/discount-codes/{id}", "discount_codes:read"},
        {"patch", "/v1/admin/discount-codes/{id}", "discount_codes:write"},
        {"patch", "/v1/admin/discount-codes/{id}/active", "discount_codes:write"},
        {"delete", "/v1/admin/discount-codes/{id}", "discount_codes:write"},
        {"get", "/v1/admin/releases", "products:read", true},
        {"post", "/v1/admin/releases/revocations/reload", "settings:write", true},
    };
    return routes;
}

} // namespace keysat::test
