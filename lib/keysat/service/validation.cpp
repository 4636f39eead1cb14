#include "keysat/service/validation.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <random>

#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/license_store.hpp"
#include "keysat/store/machine_store.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::service {

namespace {

struct CheckedKey {
    license::DecodedLicense decoded;
};

// Parses the key and checks its signature with any trusted key.
Expected<CheckedKey> check_key(const license::Keyring& ring, const std::string& key,
                               std::string& reason) {
    auto decoded = license::decode_license_key(key);
    if (!decoded) {
        reason = "bad_format";
        return invalid(decoded.error().message);
    }
    for (const auto& k : ring.keys)
        if (crypto::verify(k, decoded->raw_payload, decoded->signature))
            return CheckedKey{std::move(*decoded)};
    reason = "bad_signature";
    return invalid("signature verification failed");
}

std::string fingerprint_hash(const std::string& fp) {
    return hex_encode(crypto::sha256(as_bytes(fp)));
}

enum class Heartbeat { now, deferred };

// Finds or activates the machine for a fingerprint. Sets `reason` when no seat is free, and
// `known` when the machine was already active.
Expected<std::optional<std::string>>
seat(db::Database& db, const store::LicenseRow& lic, const std::string& fp,
     const std::optional<std::string>& host, const std::optional<std::string>& platform,
     std::int64_t now, std::string& reason, bool& known, Heartbeat heartbeat,
     ValidationCache* rows = nullptr, SeatBatcher* batcher = nullptr) {
    auto hash = fingerprint_hash(fp);
    std::uint64_t generation = rows ? rows->generation() : 0;
    if (auto id = rows && heartbeat == Heartbeat::deferred ? rows->find_machine(lic.id, hash)
                                                           : std::nullopt) {
        known = true;
        return id;
    }
    store::MachineStore machines(db);
    // The common case, a known machine, is one read and no write transaction.
    KEYSAT_TRY_ASSIGN(found, machines.find_active(lic.id, hash));
    if (found) {
        known = true;
        if (heartbeat == Heartbeat::now)
            KEYSAT_TRY(machines.heartbeat(found->id, now));
        if (rows)
            rows->put_machine(generation, lic.id, hash, found->id);
        return std::optional<std::string>(found->id);
    }
    SeatClaim claim{lic.id, lic.max_machines, fp, hash, host, platform, now};
    Seat taken;
    if (batcher) {
        KEYSAT_TRY_ASSIGN(s, batcher->claim(std::move(claim)));
        taken = std::move(s);
    } else {
        KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(db));
        KEYSAT_TRY_ASSIGN(s, take_seat(db, claim));
        ValidationCache::KeepRows keep; // a new row at most; nothing cached changes
        KEYSAT_TRY(tx.commit());
        taken = std::move(s);
    }
    known = taken.known;
    reason = taken.reason;
    return taken.machine_id;
}

} // namespace

// The load time an entry is stamped with: now, less up to a quarter of the time to live, so that
// entries loaded together (after a restart or a write) do not all expire in the same instant and
// send every request to the database at once.
std::chrono::steady_clock::time_point ValidationCache::stamp_time() const {
    thread_local std::minstd_rand jitter(std::random_device{}());
    auto quarter = std::max<std::int64_t>(1, m_ttl.count() / 4);
    return std::chrono::steady_clock::now() -
           std::chrono::milliseconds(static_cast<std::int64_t>(jitter() % quarter));
}

namespace {

// Marks a cache entry used, under the cache's shared lock: a relaxed atomic store of the cache's
// insert count, which orders entries by how recently they were last hit.
void touch(std::uint64_t& used, std::uint64_t& inserts) {
    std::atomic_ref<std::uint64_t>(used).store(
        std::atomic_ref<std::uint64_t>(inserts).load(std::memory_order_relaxed),
        std::memory_order_relaxed);
}

// Makes room in a full cache (under its exclusive lock): of 8 entries taken from a random bucket
// onwards, the least recently used goes. This is approximate LRU as Redis does it: constant
// time, and a hit only stores a number under the shared lock, where an exact LRU list would
// need the exclusive lock on every hit. An entry hit lately goes only when all 8 sampled were hit
// later still, so a working set smaller than the cache stays in it while one-off keys stream
// through (tested).
template <typename Map> void evict_one(Map& m) {
    thread_local std::minstd_rand pick(std::random_device{}());
    constexpr int k_sample = 8;
    std::size_t buckets = m.bucket_count();
    const typename Map::key_type* victim = nullptr;
    std::uint64_t oldest = 0;
    int seen = 0;
    for (std::size_t n = 0, b = pick() % buckets; n < buckets && seen < k_sample;
         ++n, b = (b + 1) % buckets)
        for (auto it = m.begin(b); it != m.end(b) && seen < k_sample; ++it, ++seen) {
            std::uint64_t used =
                std::atomic_ref<std::uint64_t>(it->second.used).load(std::memory_order_relaxed);
            if (!victim || used < oldest) {
                victim = &it->first;
                oldest = used;
            }
        }
    if (victim)
        m.erase(typename Map::key_type(*victim));
}

// Bumps the insert count (the recency clock) under the exclusive lock.
void tick(std::uint64_t& inserts) {
    std::atomic_ref<std::uint64_t>(inserts).fetch_add(1, std::memory_order_relaxed);
}

} // namespace

thread_local bool ValidationCache::t_keep = false;

std::shared_ptr<const ValidationCache::License>
ValidationCache::find_license(const std::string& id) const {
    std::shared_lock lock(m_mutex);
    auto it = m_licenses.find(id);
    if (it == m_licenses.end() || !fresh(it->second))
        return nullptr;
    touch(it->second.used, m_inserts);
    return it->second.value;
}

void ValidationCache::put_license(std::uint64_t generation, std::shared_ptr<const License> entry) {
    std::unique_lock lock(m_mutex);
    std::string id = entry->row.id;
    if (m_licenses.size() >= m_capacity && m_licenses.count(id) == 0)
        evict_one(m_licenses);
    tick(m_inserts);
    m_licenses.insert_or_assign(
        std::move(id), Stamped<std::shared_ptr<const License>>{std::move(entry), generation,
                                                               stamp_time(), m_inserts});
}

std::optional<std::string>
ValidationCache::find_machine(const std::string& license_id,
                              const std::string& fingerprint_sha256) const {
    std::shared_lock lock(m_mutex);
    auto it = m_machines.find(license_id + ':' + fingerprint_sha256);
    if (it == m_machines.end() || !fresh(it->second))
        return std::nullopt;
    touch(it->second.used, m_inserts);
    return it->second.value;
}

void ValidationCache::put_machine(std::uint64_t generation, const std::string& license_id,
                                  const std::string& fingerprint_sha256,
                                  const std::string& machine_id) {
    std::string k = license_id + ':' + fingerprint_sha256;
    std::unique_lock lock(m_mutex);
    if (m_machines.size() >= m_capacity && m_machines.count(k) == 0)
        evict_one(m_machines);
    tick(m_inserts);
    m_machines.insert_or_assign(
        std::move(k), Stamped<std::string>{machine_id, generation, stamp_time(), m_inserts});
}

std::size_t ValidationCache::licenses() const {
    std::shared_lock lock(m_mutex);
    return m_licenses.size();
}

std::size_t ValidationCache::machines() const {
    std::shared_lock lock(m_mutex);
    return m_machines.size();
}

std::shared_ptr<const license::DecodedLicense>
VerifiedKeyCache::find(const std::string& key_text) const {
    std::shared_lock lock(m_mutex);
    auto it = m_entries.find(key_text);
    if (it == m_entries.end())
        return nullptr;
    touch(it->second.used, m_inserts);
    return it->second.value;
}

void VerifiedKeyCache::insert(const std::string& key_text, license::DecodedLicense decoded) {
    auto entry = std::make_shared<const license::DecodedLicense>(std::move(decoded));
    std::unique_lock lock(m_mutex);
    if (m_entries.count(key_text))
        return;
    if (m_entries.size() >= m_capacity)
        evict_one(m_entries);
    tick(m_inserts);
    m_entries.emplace(key_text, Entry{std::move(entry), m_inserts});
}

std::size_t VerifiedKeyCache::size() const {
    std::shared_lock lock(m_mutex);
    return m_entries.size();
}

Expected<std::optional<store::LicenseRow>>
license_of_key(db::Database& db, const license::Keyring& ring, const std::string& key) {
    std::string reason;
    if (key.size() > 4096)
        return std::optional<store::LicenseRow>();
    auto checked = check_key(ring, key, reason);
    if (!checked)
        return std::optional<store::LicenseRow>();
    KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
    return licenses.find(checked->decoded.payload.license_id.to_string());
}

Expected<ValidateResult> validate(db::Database& db, const license::Keyring& ring,
                                  const ValidateRequest& req, std::int64_t now,
                                  VerifiedKeyCache* cache, ValidationCache* rows,
                                  SeatBatcher* seats) {
    ValidateResult r;
    // One cache entry per key whatever its spelling (the format ignores case and surrounding
    // space), so that respellings cannot flush the cache.
    std::string canonical(trim(req.key));
    for (auto& c : canonical)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::shared_ptr<const license::DecodedLicense> decoded =
        cache ? cache->find(canonical) : nullptr;
    if (!decoded) {
        auto fresh = check_key(ring, req.key, r.reason);
        if (!fresh)
            return r;
        decoded = std::make_shared<const license::DecodedLicense>(std::move(fresh->decoded));
        if (cache)
            cache->insert(canonical, *decoded);
    }
    const auto& p = decoded->payload;
    std::string license_id = p.license_id.to_string();
    std::uint64_t generation = rows ? rows->generation() : 0;
    auto cached = rows ? rows->find_license(license_id) : nullptr;
    if (!cached) {
        KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
        KEYSAT_TRY_ASSIGN(found, licenses.find(license_id));
        if (!found) { // never cached: keysat-issue --db or an import may add it at any time
            r.reason = "not_found";
            return r;
        }
        auto entry = std::make_shared<ValidationCache::License>();
        entry->row = std::move(*found);
        KEYSAT_TRY_ASSIGN(product, store::CatalogStore(db).find_product(entry->row.product_id));
        if (product)
            entry->product_slug = product->slug;
        if (rows)
            rows->put_license(generation, entry);
        cached = std::move(entry);
    }
    const store::LicenseRow* row = &cached->row;
    if (!cached->product_slug) { // a license of no product here is not a license of this shop
        r.reason = "not_found";
        return r;
    }
    r.license_id = row->id;
    r.product_id = row->product_id;
    if (row->status != "active") {
        r.reason =
            row->status == "revoked" || row->status == "suspended" ? row->status : "invalid_state";
        return r;
    }
    r.product_slug = cached->product_slug;
    if (req.product_slug && r.product_slug && *r.product_slug != *req.product_slug) {
        r.reason = "product_mismatch";
        return r;
    }
    r.issued_at = row->issued_at;
    r.expires_at = row->expires_at;
    r.max_machines = row->max_machines;
    if (row->expires_at) {
        std::int64_t cutoff = *row->expires_at + row->grace_days * 86400;
        if (now >= cutoff) {
            r.reason = "expired";
            return r;
        }
        if (now >= *row->expires_at)
            r.grace_until = cutoff;
    }
    // A key bound to a machine is only good with that machine's fingerprint.
    if (p.fingerprint_bound() &&
        (!req.fingerprint || crypto::sha256(as_bytes(*req.fingerprint)) != p.fingerprint_hash)) {
        r.reason = "fingerprint_mismatch";
        return r;
    }
    if (req.fingerprint) {
        bool known = false;
        KEYSAT_TRY_ASSIGN(machine, seat(db, *row, *req.fingerprint, req.hostname, req.platform, now,
                                        r.reason, known, Heartbeat::deferred, rows, seats));
        r.heartbeat_due = known;
        if (!r.reason.empty())
            return r;
        r.machine_id = machine;
    }
    r.is_trial = row->is_trial;
    auto ents = nlohmann::json::parse(row->entitlements_json, nullptr, false);
    if (ents.is_array())
        for (const auto& e : ents)
            if (e.is_string())
                r.entitlements.push_back(e.get<std::string>());
    r.ok = true;
    return r;
}

namespace {

struct MachineContext {
    store::LicenseRow license;
};

// The license behind a machine request's key, and why it may not use a machine now (empty when
// it may): the same status, expiry-plus-grace and fingerprint-binding rules as validate.
struct GatedLicense {
    store::LicenseRow row;
    std::string refusal;
};

Expected<std::optional<GatedLicense>> license_of(db::Database& db, const license::Keyring& ring,
                                                 const std::string& key,
                                                 const std::string& fingerprint, std::int64_t now) {
    std::string reason;
    auto checked = check_key(ring, key, reason);
    if (!checked)
        return usage_error(reason == "bad_format" ? "bad key: " + checked.error().message
                                                  : "signature verification failed");
    KEYSAT_TRY_ASSIGN(licenses, store::LicenseStore::open(db));
    const auto& p = checked->decoded.payload;
    KEYSAT_TRY_ASSIGN(row, licenses.find(p.license_id.to_string()));
    if (!row)
        return std::optional<GatedLicense>();
    GatedLicense g{std::move(*row), ""};
    if (g.row.status != "active")
        g.refusal = g.row.status;
    else if (g.row.expires_at && now >= *g.row.expires_at + g.row.grace_days * 86400)
        g.refusal = "expired";
    else if (p.fingerprint_bound() && crypto::sha256(as_bytes(fingerprint)) != p.fingerprint_hash)
        g.refusal = "fingerprint_mismatch";
    return std::optional<GatedLicense>(std::move(g));
}

} // namespace

Expected<MachineResult> activate_machine(db::Database& db, const license::Keyring& ring,
                                         const MachineRequest& req, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(gated, license_of(db, ring, req.key, req.fingerprint, now));
    MachineResult r;
    if (!gated) {
        r.license_found = false;
        return r;
    }
    const store::LicenseRow* lic = &gated->row;
    r.max_machines = lic->max_machines;
    if (!gated->refusal.empty()) {
        r.reason = gated->refusal;
        return r;
    }
    std::string reason;
    bool known = false;
    KEYSAT_TRY_ASSIGN(machine, seat(db, *lic, req.fingerprint, req.hostname, req.platform, now,
                                    reason, known, Heartbeat::now));
    store::MachineStore machines(db);
    KEYSAT_TRY_ASSIGN(count, machines.count_active(lic->id));
    r.active_count = count;
    if (!reason.empty()) {
        r.reason = reason;
        return r;
    }
    r.ok = true;
    r.machine_id = machine;
    return r;
}

Expected<MachineResult> heartbeat_machine(db::Database& db, const license::Keyring& ring,
                                          const MachineRequest& req, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(gated, license_of(db, ring, req.key, req.fingerprint, now));
    MachineResult r;
    if (!gated) {
        r.reason = "not_activated";
        return r;
    }
    if (!gated->refusal.empty()) { // revoked, suspended or expired licenses get no heartbeat
        r.reason = gated->refusal;
        return r;
    }
    const store::LicenseRow* lic = &gated->row;
    store::MachineStore machines(db);
    KEYSAT_TRY_ASSIGN(m, machines.find_active(lic->id, fingerprint_hash(req.fingerprint)));
    if (!m) {
        r.reason = "not_activated";
        return r;
    }
    KEYSAT_TRY(machines.heartbeat(m->id, now));
    r.ok = true;
    r.machine_id = m->id;
    return r;
}

Expected<MachineResult> deactivate_machine(db::Database& db, const license::Keyring& ring,
                                           const MachineRequest& req, std::int64_t now) {
    KEYSAT_TRY_ASSIGN(gated, license_of(db, ring, req.key, req.fingerprint, now));
    MachineResult r;
    // Deactivation frees a seat, so it is allowed whatever the license's state.
    const store::LicenseRow* lic = gated ? &gated->row : nullptr;
    if (!lic) {
        r.reason = "not_found";
        return r;
    }
    store::MachineStore machines(db);
    KEYSAT_TRY_ASSIGN(m, machines.find_active(lic->id, fingerprint_hash(req.fingerprint)));
    if (!m) {
        r.reason = "not_found";
        return r;
    }
    KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(db));
    KEYSAT_TRY(machines.deactivate(m->id, now, req.reason.value_or("client_requested")));
    KEYSAT_TRY(emit_event(db, "machine.deactivated",
                          {{"license_id", lic->id}, {"machine_id", m->id}}, now));
    KEYSAT_TRY(tx.commit());
    r.ok = true;
    return r;
}

} // namespace keysat::service
