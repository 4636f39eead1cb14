#pragma once
// POST /v1/validate and the machine routes: the signed key is the proof; the database holds
// status, grace, seats and machines. Order of checks as Keysat's: parse, signature, license row,
// status, product, expiry plus grace, fingerprint and seats.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "keysat/db/database.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/service/seats.hpp"
#include "keysat/store/license_store.hpp"

namespace keysat::service {

// Keys whose signature verified, by their exact text. Safe to reuse: a key's text determines its
// payload and signature, and the trusted keys do not change while the server runs. Bounded
// (least recently used out, approximately: see evict_one in the source); thread-safe.
class VerifiedKeyCache {
  public:
    explicit VerifiedKeyCache(std::size_t capacity = 100000) : m_capacity(capacity) {}
    // Shared, so that a hit copies nothing while holding the lock.
    std::shared_ptr<const license::DecodedLicense> find(const std::string& key_text) const;
    void insert(const std::string& key_text, license::DecodedLicense decoded);
    std::size_t size() const;

  private:
    struct Entry {
        std::shared_ptr<const license::DecodedLicense> value;
        mutable std::uint64_t used; // the insert count at the latest hit: the eviction's recency
    };
    std::size_t m_capacity;
    mutable std::shared_mutex m_mutex;
    std::unordered_map<std::string, Entry> m_entries;
    mutable std::uint64_t m_inserts = 0; // read atomically under the shared lock
};

// The rows validate reads, shared by every request thread: licenses (with their product's slug)
// and the active machines of licenses by fingerprint hash. Only rows that were found are kept,
// each stamped with the generation it was read under: invalidate(), called after every write of
// this process, makes them all stale, and an entry older than the time to live is read again, so
// that a change another process makes to the file is seen within it. Bounded (least recently
// used out, approximately); thread-safe.
class ValidationCache {
  public:
    struct License {
        store::LicenseRow row;
        std::optional<std::string> product_slug;
    };

    // `capacity`: licenses kept, and as many machines.
    explicit ValidationCache(std::chrono::milliseconds ttl, std::size_t capacity = 100000)
        : m_ttl(ttl), m_capacity(capacity) {}

    // Read before reading the database, and pass to put_*: a write that commits in between
    // then makes the new entry stale at once.
    std::uint64_t generation() const { return m_generation.load(std::memory_order_acquire); }
    void invalidate() { m_generation.fetch_add(1, std::memory_order_acq_rel); }

    // While one lives, commits of this thread leave the cache valid: for a write that changes
    // nothing cached (a new machine's seat adds a row; licenses and known machines stay as they
    // were). Without it every first activation would send every key back to the database.
    class KeepRows {
      public:
        KeepRows() { t_keep = true; }
        ~KeepRows() { t_keep = false; }
        KeepRows(const KeepRows&) = delete;
        KeepRows& operator=(const KeepRows&) = delete;
    };
    // What the commit hook asks before invalidate().
    static bool keeping_rows() { return t_keep; }

    std::shared_ptr<const License> find_license(const std::string& id) const;
    void put_license(std::uint64_t generation, std::shared_ptr<const License> entry);
    std::optional<std::string> find_machine(const std::string& license_id,
                                            const std::string& fingerprint_sha256) const;
    void put_machine(std::uint64_t generation, const std::string& license_id,
                     const std::string& fingerprint_sha256, const std::string& machine_id);
    std::size_t licenses() const;
    std::size_t machines() const;

  private:
    template <typename T> struct Stamped {
        T value;
        std::uint64_t generation;
        std::chrono::steady_clock::time_point loaded;
        mutable std::uint64_t used =
            0; // the insert count at the latest hit: the eviction's recency
    };
    std::chrono::steady_clock::time_point stamp_time() const;
    template <typename T> bool fresh(const Stamped<T>& e) const {
        return e.generation == generation() && std::chrono::steady_clock::now() - e.loaded < m_ttl;
    }
    std::chrono::milliseconds m_ttl;
    std::size_t m_capacity;
    std::atomic<std::uint64_t> m_generation{0};
    mutable std::shared_mutex m_mutex;
    std::unordered_map<std::string, Stamped<std::shared_ptr<const License>>> m_licenses;
    std::unordered_map<std::string, Stamped<std::string>> m_machines; // license id + ':' + hash
    mutable std::uint64_t m_inserts = 0; // read atomically under the shared lock
    static thread_local bool t_keep;
};

struct ValidateRequest {
    std::string key;
    std::optional<std::string> product_slug;
    std::optional<std::string> fingerprint;
    std::optional<std::string> hostname;
    std::optional<std::string> platform;
};

struct ValidateResult {
    bool ok = false;
    std::string reason; // when !ok: bad_format, bad_signature, not_found, revoked, suspended,
                        // invalid_state, product_mismatch, expired, fingerprint_mismatch,
                        // too_many_machines
    std::string license_id;
    std::string product_id;
    std::optional<std::string> product_slug;
    std::int64_t issued_at = 0;
    std::optional<std::int64_t> expires_at;
    std::optional<std::int64_t> grace_until; // set when in the grace period
    bool is_trial = false;
    std::vector<std::string> entitlements;
    std::optional<std::string> machine_id;
    // True when machine_id was already active: its heartbeat is the caller's to record (off the
    // request path).
    bool heartbeat_due = false;
    std::int64_t max_machines = 0;
};

// The license a key proves (its signature checked against `ring`, its id looked up): nullopt
// when the key is malformed, forged or names no license here. The buyer routes that take a key
// as proof (cancel, renew, tier changes) start here.
Expected<std::optional<store::LicenseRow>>
license_of_key(db::Database& db, const license::Keyring& ring, const std::string& key);

// Validates a key, activating the machine when a fingerprint is given and a seat is free
// (max_machines 0 = unlimited). Writes only when a machine is activated; a known machine's
// heartbeat is left to the caller (heartbeat_due). With `seats`, a first activation is written
// by that batcher's thread in a group (seats.hpp); otherwise in a transaction of `db`.
Expected<ValidateResult> validate(db::Database& db, const license::Keyring& ring,
                                  const ValidateRequest& req, std::int64_t now,
                                  VerifiedKeyCache* cache = nullptr,
                                  ValidationCache* rows = nullptr, SeatBatcher* seats = nullptr);

struct MachineRequest {
    std::string key;
    std::string fingerprint;
    std::optional<std::string> hostname;
    std::optional<std::string> platform;
    std::optional<std::string> reason; // deactivate
};

struct MachineResult {
    bool ok = false;
    std::optional<std::string> reason;
    std::optional<std::string> machine_id;
    std::int64_t active_count = 0;
    std::int64_t max_machines = 0;
    bool license_found = true;
};

// The key must parse and verify (a usage error otherwise: HTTP 400).
Expected<MachineResult> activate_machine(db::Database& db, const license::Keyring& ring,
                                         const MachineRequest& req, std::int64_t now);
Expected<MachineResult> heartbeat_machine(db::Database& db, const license::Keyring& ring,
                                          const MachineRequest& req, std::int64_t now);
Expected<MachineResult> deactivate_machine(db::Database& db, const license::Keyring& ring,
                                           const MachineRequest& req, std::int64_t now);

} // namespace keysat::service
