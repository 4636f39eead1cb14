#include "keysat/service/ledger.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/service/catalog.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::service {

using nlohmann::json;

store::LicenseRow license_row(const issuing::LedgerRecord& rec, std::string source) {
    const auto& q = rec.request;
    store::LicenseRow r;
    r.id = q.license_id.to_string();
    r.product_id = q.product_id.to_string();
    r.policy_id = rec.policy;
    r.buyer_email = rec.email;
    r.issued_at = q.issued_at;
    if (q.expires_at != 0)
        r.expires_at = q.expires_at;
    r.max_machines = rec.max_machines.value_or(0);
    r.entitlements_json = json(q.entitlements).dump();
    r.is_trial = q.trial;
    if (q.fingerprint)
        r.fingerprint_sha256 = hex_encode(crypto::sha256(as_bytes(*q.fingerprint)));
    r.license_key = rec.key;
    r.signing_key_id = rec.key_id;
    if (!rec.id_key.empty())
        r.id_key = rec.id_key;
    r.source = std::move(source);
    return r;
}

namespace {

std::optional<std::string> optional_string(const json& j, const char* name) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null() || !it->is_string())
        return std::nullopt;
    return it->get<std::string>();
}

// Builds a row from one ledger record after checking its key against the keyring and the
// record's fields against what the key signs.
Expected<std::pair<store::LicenseRow, license::PublicKey>>
row_from_record(std::string_view line, const license::Keyring& ring) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return invalid("not a JSON object");
    auto key = optional_string(j, "key");
    auto key_id = optional_string(j, "key_id");
    if (!key || !key_id)
        return invalid("'key' and 'key_id' are required strings");
    auto decoded = license::decode_license_key(*key);
    if (!decoded)
        return invalid("key: " + decoded.error().message);
    std::optional<std::size_t> signer;
    for (std::size_t i = 0; i < ring.keys.size() && !signer; ++i)
        if (crypto::verify(ring.keys[i], decoded->raw_payload, decoded->signature))
            signer = i;
    if (!signer)
        return invalid("key: signature does not verify with any trusted key");
    const auto& signer_key = ring.keys[*signer];
    if (signer_key.key_id && crypto::key_id_text(*signer_key.key_id) != *key_id)
        return invalid(fmt::format("key_id {} is not the id of the key that signed it ({})",
                                   *key_id, crypto::key_id_text(*signer_key.key_id)));
    const auto& p = decoded->payload;
    auto field_is = [&](const char* name, const json& expected) {
        auto it = j.find(name);
        return it != j.end() && *it == expected;
    };
    auto expires = p.expires_at == 0 ? json(0) : json(p.expires_at);
    if (!field_is("license_id", p.license_id.to_string()) ||
        !field_is("product_id", p.product_id.to_string()) || !field_is("issued_at", p.issued_at) ||
        !field_is("expires_at", expires) || !field_is("entitlements", p.entitlements) ||
        !field_is("is_trial", p.trial()))
        return invalid("the record's license_id, product_id, issued_at, expires_at, entitlements "
                       "or is_trial differ from what its key signs");
    store::LicenseRow r;
    r.id = p.license_id.to_string();
    r.product_id = p.product_id.to_string();
    r.policy_id = optional_string(j, "policy");
    r.buyer_email = optional_string(j, "email");
    r.issued_at = static_cast<std::int64_t>(p.issued_at);
    if (p.expires_at != 0)
        r.expires_at = static_cast<std::int64_t>(p.expires_at);
    if (auto m = j.find("max_machines"); m != j.end() && !m->is_null()) {
        if (!m->is_number_integer() || m->get<std::int64_t>() < 0)
            return invalid("max_machines must be a non-negative integer or null");
        r.max_machines = m->get<std::int64_t>();
    }
    r.entitlements_json = json(p.entitlements).dump();
    r.is_trial = p.trial();
    if (p.fingerprint_bound())
        r.fingerprint_sha256 = hex_encode(p.fingerprint_hash);
    r.license_key = std::string(trim(*key));
    r.signing_key_id = *key_id;
    auto id_key = optional_string(j, "id_key");
    if (id_key && !id_key->empty())
        r.id_key = id_key;
    r.source = "ledger";
    return std::pair{std::move(r), signer_key};
}

} // namespace

Expected<license::Keyring> recorded_keys(db::Database& db) {
    license::Keyring ring;
    store::SigningKeyStore keys(db);
    KEYSAT_TRY_ASSIGN(rows, keys.list());
    for (const auto& row : rows) {
        if (row.public_key.size() != 32 || row.retired_at) // a retired key is trusted no more
            continue;
        license::PublicKey k;
        std::copy(row.public_key.begin(), row.public_key.end(), k.bytes.begin());
        ring.keys.push_back(k);
    }
    return ring;
}

Expected<ImportReport> import_ledger(db::Database& db, std::string_view text,
                                     const license::Keyring& given, KeepGoing keep_going,
                                     std::int64_t now) {
    // Trusted: the keys given, plus the signing keys the database already records.
    license::Keyring ring = given;
    KEYSAT_TRY_ASSIGN(recorded, recorded_keys(db));
    ring.keys.insert(ring.keys.end(), recorded.keys.begin(), recorded.keys.end());
    if (ring.keys.empty())
        return usage_error("no trusted key: give -p/--pubkey, or record signing keys first");
    ImportReport report;
    KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(db));
    KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
    store::SigningKeyStore keys(db);
    store::CatalogStore catalog(db);
    std::size_t number = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        ++number;
        auto nl = rest.find('\n');
        std::string_view line = trim(rest.substr(0, nl));
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        if (line.empty())
            continue;
        ++report.records;
        auto parsed = row_from_record(line, ring);
        if (!parsed) {
            report.add_problem(number, parsed.error().message);
            continue;
        }
        auto& [row, signer] = *parsed;
        // A license of a product this database does not have would validate for any product.
        auto product = catalog.find_product(row.product_id);
        if (!product || !*product) {
            report.add_problem(number, product ? fmt::format("product {} does not exist here "
                                                             "(create it, with this id, first)",
                                                             row.product_id)
                                               : product.error().message);
            continue;
        }
        std::vector<std::string> granted;
        for (const auto& e : nlohmann::json::parse(row.entitlements_json, nullptr, false))
            if (e.is_string())
                granted.push_back(e.get<std::string>());
        if (auto e = entitlement_outside_catalog(**product, granted)) {
            report.add_problem(number, outside_catalog_message(*e, **product));
            continue;
        }
        if (auto ok = keys.ensure(row.signing_key_id, signer.bytes, now); !ok) {
            report.add_problem(number, ok.error().message);
            continue;
        }
        auto outcome = licenses.insert(row, now);
        if (!outcome) {
            report.add_problem(number, outcome.error().message);
            continue;
        }
        if (*outcome == store::InsertOutcome::inserted)
            ++report.inserted;
        else if (*outcome == store::InsertOutcome::unchanged)
            ++report.unchanged;
        else // conflict or already_issued: another license holds its id, key or id_key
            report.add_problem(number, fmt::format("license {} (or its key or id_key) is already "
                                                   "recorded with different content",
                                                   row.id));
    }
    if (report.problem_count > 0 && keep_going == KeepGoing::no)
        return report; // the transaction rolls back: nothing imported
    KEYSAT_TRY_ASSIGN(log, db.prepare("INSERT INTO ledger_imports (file_sha256, imported_at, "
                                      "records, inserted) VALUES (?, ?, ?, ?)"));
    log.bind(1, hex_encode(crypto::sha256(as_bytes(text))))
        .bind(2, now)
        .bind(3, static_cast<std::int64_t>(report.records))
        .bind(4, static_cast<std::int64_t>(report.inserted));
    KEYSAT_TRY(log.run());
    KEYSAT_TRY(tx.commit());
    return report;
}

} // namespace keysat::service
