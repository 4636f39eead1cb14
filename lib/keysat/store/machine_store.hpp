#pragma once
// Repository of machines (activated seats of a license).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysat/db/database.hpp"

namespace keysat::store {

struct MachineRow {
    std::string id;
    std::string license_id;
    std::string fingerprint;
    std::string fingerprint_sha256;
    std::optional<std::string> hostname;
    std::optional<std::string> platform;
    std::int64_t activated_at = 0;
    std::optional<std::int64_t> last_heartbeat_at;
    std::optional<std::int64_t> deactivated_at;
    std::optional<std::string> deactivation_reason;
};

// A machine as the operator's listing shows it: with its license's product, buyer and status.
struct MachineListing {
    MachineRow machine;
    std::string product_id;
    std::string product_slug; // empty when the license's product row is missing
    std::string product_name;
    std::optional<std::string> buyer_email;
    std::string license_status;
};

struct MachineFilter {
    std::optional<std::string> license_id;
    std::optional<std::string> product_id;
    bool include_inactive = false;
    std::int64_t limit = 500;
};

class MachineStore {
  public:
    explicit MachineStore(db::Database& db) : m_db(&db) {}

    // The active machine of a license with this fingerprint hash.
    Expected<std::optional<MachineRow>> find_active(const std::string& license_id,
                                                    const std::string& fingerprint_sha256);
    Expected<std::optional<MachineRow>> find(const std::string& machine_id);
    Expected<std::int64_t> count_active(const std::string& license_id);
    // Activates a machine; the unique index allows one active row per license and fingerprint,
    // so a second activation of the same machine is an error (callers look it up first).
    Expected<void> activate(const MachineRow& m);
    // Sets last_heartbeat_at; false when no such active machine.
    Expected<bool> heartbeat(const std::string& machine_id, std::int64_t at);
    Expected<bool> deactivate(const std::string& machine_id, std::int64_t at,
                              const std::optional<std::string>& reason);
    // A license's machines, active first, then by activation time.
    Expected<std::vector<MachineRow>> list(const std::string& license_id);
    // Machines across licenses, most recently seen first (Keysat's admin listing).
    Expected<std::vector<MachineListing>> list(const MachineFilter& filter);

  private:
    db::Database* m_db;
};

} // namespace keysat::store
