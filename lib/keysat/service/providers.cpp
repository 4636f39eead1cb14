#include "keysat/service/providers.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace keysat::service {

std::vector<std::string> rails_of(const std::string& kind) {
    if (kind == "btcpay")
        return {"lightning", "onchain"};
    if (kind == "zaprite")
        return {"lightning", "onchain", "card"};
    return {};
}

Expected<std::optional<store::MerchantProfileRow>> profile_of(db::Database& db,
                                                              const store::ProductRow& product) {
    store::AccountStore accounts(db);
    if (product.merchant_profile_id) {
        KEYSAT_TRY_ASSIGN(own, accounts.find_merchant(*product.merchant_profile_id));
        if (own)
            return own;
    }
    return accounts.default_merchant();
}

Expected<std::vector<store::PaymentProviderRow>>
providers_of(db::Database& db, const std::optional<store::MerchantProfileRow>& profile) {
    KEYSAT_TRY_ASSIGN(all, store::AccountStore(db).list_providers());
    std::vector<store::PaymentProviderRow> out;
    for (auto& p : all) {
        if (p.status != "connected")
            continue;
        bool mine = p.merchant_profile_id ? profile && *p.merchant_profile_id == profile->id
                                          : !profile || profile->is_default;
        if (mine)
            out.push_back(std::move(p));
    }
    return out;
}

std::vector<std::string> rails_served(const std::vector<store::PaymentProviderRow>& providers) {
    std::vector<std::string> out;
    for (const auto& rail : k_rails)
        for (const auto& p : providers) {
            auto rails = rails_of(p.kind);
            if (std::find(rails.begin(), rails.end(), rail) != rails.end()) {
                out.push_back(rail);
                break;
            }
        }
    return out;
}

Checked<store::PaymentProviderRow> provider_for(db::Database& db, const store::ProductRow& product,
                                                const std::string& rail) {
    auto internal = [](const std::string& what) {
        return std::unexpected(Refused{"internal_error", "internal error: " + what});
    };
    auto profile = profile_of(db, product);
    if (!profile)
        return internal("merchant profiles");
    auto providers = providers_of(db, *profile);
    if (!providers)
        return internal("payment providers");
    std::string name = *profile ? (*profile)->name : "default";
    if (providers->empty() && !*profile)
        return std::unexpected(Refused{
            "bad_request", "bad request: no payment provider is connected, so buyers cannot pay "
                           "yet; the operator connects BTCPay or Zaprite first"});
    if (providers->empty())
        return std::unexpected(
            Refused{"bad_request", fmt::format("bad request: merchant profile '{}' has no payment "
                                               "providers connected — buyers can't pay yet",
                                               name)});
    if (rail.empty())
        return providers->front();
    if (std::find(k_rails.begin(), k_rails.end(), rail) == k_rails.end())
        return std::unexpected(Refused{
            "bad_request",
            fmt::format("bad request: unknown rail '{}'; accepted: lightning, onchain, card",
                        rail.substr(0, 20))});
    if (*profile) {
        auto prefs = store::AccountStore(db).rail_preferences((*profile)->id);
        if (!prefs)
            return internal("rail preferences");
        for (const auto& [r, id] : *prefs)
            if (r == rail)
                for (const auto& p : *providers)
                    if (p.id == id)
                        return p;
    }
    for (const auto& p : *providers) {
        auto rails = rails_of(p.kind);
        if (std::find(rails.begin(), rails.end(), rail) != rails.end())
            return p;
    }
    return std::unexpected(
        Refused{"bad_request", fmt::format("bad request: merchant profile '{}' has no provider "
                                           "that serves the '{}' rail",
                                           name, rail)});
}

} // namespace keysat::service
