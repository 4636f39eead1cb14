#pragma once
// Issuing a license on the server: one function for every way a license is granted (the admin
// route, a settled invoice, a free code), so that each signs, records and announces alike.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/crypto/signing.hpp"
#include "keysat/db/database.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/license_store.hpp"

namespace keysat::service {

struct IssueRequest {
    store::ProductRow product;
    std::optional<store::PolicyRow> policy;
    std::optional<std::int64_t> expires_at;               // default: the policy's duration
    std::optional<std::vector<std::string>> entitlements; // default: the policy's
    std::optional<std::int64_t> max_machines;             // default: the policy's, else 1
    std::optional<std::int64_t> grace_days;               // default: the policy's, else 0
    std::optional<bool> trial;                            // default: the policy's
    std::optional<std::string> buyer_email;
    std::optional<std::string> invoice_id;
};

// Signs a license for `r` and records it with its signing key and a `license.issued` event, in
// the caller's transaction. Refuses (Errc::invalid, message for the buyer or operator) an
// expiry in the past and entitlements outside the product's catalog.
Expected<store::LicenseRow> issue_and_record(db::Database& db, const crypto::SecretKey& signer,
                                             const IssueRequest& r, std::int64_t now);

// Signs a fresh key for a license whose terms changed (a renewal, a tier change): `row` carries
// the new policy, expiry, grace, machines, entitlements and trial flag; the key keeps the
// license's id and product and is dated `now`. A key bound to a machine keeps its old text (the
// server does not keep the fingerprint it was bound to); its row's terms still change. Writes the
// row in the caller's transaction and returns it. Older keys keep their own terms offline.
Expected<store::LicenseRow> reissue_license(db::Database& db, const crypto::SecretKey& signer,
                                            store::LicenseRow row, std::int64_t now);

// The entitlements of a license row (its JSON text), strings only.
std::vector<std::string> entitlements_of(const store::LicenseRow& row);

} // namespace keysat::service
