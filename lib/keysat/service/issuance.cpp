#include "keysat/service/issuance.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/issuing/issue.hpp"
#include "keysat/service/catalog.hpp"
#include "keysat/service/webhooks.hpp"

namespace keysat::service {

using nlohmann::json;

namespace {

std::vector<std::string> strings_of(const std::string& json_text) {
    std::vector<std::string> out;
    json j = json::parse(json_text, nullptr, false);
    if (j.is_array()) // stored text: keep the strings, never throw on the rest
        for (const auto& e : j)
            if (e.is_string())
                out.push_back(e.get<std::string>());
    return out;
}

} // namespace

std::vector<std::string> entitlements_of(const store::LicenseRow& row) {
    return strings_of(row.entitlements_json);
}

Expected<store::LicenseRow> issue_and_record(db::Database& db, const crypto::SecretKey& signer,
                                             const IssueRequest& r, std::int64_t now) {
    const auto& policy = r.policy;
    issuing::LicenseRequest lr;
    auto product_id = Uuid::parse(r.product.id);
    if (!product_id)
        return usage_error("the product's id is not a UUID: " + r.product.id);
    lr.product_id = *product_id;
    lr.license_id = crypto::uuid_v4();
    lr.issued_at = now;
    if (r.expires_at) {
        if (*r.expires_at <= now)
            return invalid("'expires_at' must be a future date");
        lr.expires_at = *r.expires_at;
    } else if (policy && policy->duration_days) {
        lr.expires_at = now + *policy->duration_days * 86400;
    }
    lr.entitlements = r.entitlements ? *r.entitlements
                                     : (policy ? strings_of(policy->entitlements_json)
                                               : std::vector<std::string>{});
    if (auto e = entitlement_outside_catalog(r.product, lr.entitlements))
        return invalid(outside_catalog_message(*e, r.product));
    lr.trial = r.trial.value_or(policy ? policy->is_trial : false);
    KEYSAT_TRY_ASSIGN(key, issuing::issue_license(signer, lr));

    store::LicenseRow row;
    row.id = lr.license_id.to_string();
    row.product_id = r.product.id;
    if (policy)
        row.policy_id = policy->id;
    row.invoice_id = r.invoice_id;
    row.buyer_email = r.buyer_email;
    row.issued_at = now;
    if (lr.expires_at)
        row.expires_at = lr.expires_at;
    row.grace_days = r.grace_days.value_or(policy ? policy->grace_days : 0);
    row.max_machines = r.max_machines.value_or(policy ? policy->max_machines : 1);
    row.entitlements_json = json(lr.entitlements).dump();
    row.is_trial = lr.trial;
    row.license_key = std::move(key);
    row.signing_key_id = crypto::key_id_text(signer.key_id());

    KEYSAT_TRY(
        store::SigningKeyStore(db).ensure(row.signing_key_id, signer.public_key().bytes, now));
    KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
    KEYSAT_TRY_ASSIGN(inserted, licenses.insert(row, now));
    if (inserted != store::InsertOutcome::inserted)
        return usage_error("license " + row.id + " could not be recorded");
    json event = {{"license_id", row.id}, {"product_id", row.product_id}};
    if (row.invoice_id)
        event["invoice_id"] = *row.invoice_id;
    KEYSAT_TRY(emit_event(db, "license.issued", event, now));
    return row;
}

Expected<store::LicenseRow> reissue_license(db::Database& db, const crypto::SecretKey& signer,
                                            store::LicenseRow row, std::int64_t now) {
    if (!row.fingerprint_sha256) {
        issuing::LicenseRequest lr;
        auto product_id = Uuid::parse(row.product_id);
        auto license_id = Uuid::parse(row.id);
        if (!product_id || !license_id)
            return usage_error("license " + row.id + " has no UUID product or id to sign");
        lr.product_id = *product_id;
        lr.license_id = *license_id;
        lr.issued_at = now;
        lr.expires_at = row.expires_at.value_or(0);
        lr.entitlements = entitlements_of(row);
        lr.trial = row.is_trial;
        KEYSAT_TRY_ASSIGN(key, issuing::issue_license(signer, lr));
        row.license_key = std::move(key);
        row.signing_key_id = crypto::key_id_text(signer.key_id());
        KEYSAT_TRY(
            store::SigningKeyStore(db).ensure(row.signing_key_id, signer.public_key().bytes, now));
    }
    KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
    KEYSAT_TRY_ASSIGN(changed, licenses.reissue(row, now));
    if (!changed)
        return invalid("license " + row.id + " is revoked");
    return row;
}

} // namespace keysat::service
