#pragma once
// Seats: a machine taking one of its license's seats. take_seat is the rule (inside the caller's
// transaction: a machine already active keeps its seat, otherwise a free seat or
// too_many_machines), and SeatBatcher writes validate's first activations in groups: each
// request queues its claim and waits; one thread writes every claim queued while the previous
// group was being written in one transaction (a savepoint per claim), so that a stream of
// first-time keys costs one commit per group instead of one per request, and request threads
// never wait on each other's write locks. The limit stays exact: the claims of a group are taken
// one after another in the same transaction, and the transaction excludes every other writer.

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "keysat/db/database.hpp"
#include "keysat/store/license_store.hpp"

namespace keysat::service {

struct SeatClaim {
    std::string license_id;
    std::int64_t max_machines = 0; // 0: no limit
    std::string fingerprint;
    std::string fingerprint_sha256; // hex
    std::optional<std::string> hostname;
    std::optional<std::string> platform;
    std::int64_t now = 0;
};

struct Seat {
    std::optional<std::string> machine_id; // none: refused
    bool known = false;                    // the machine was active already
    std::string reason;                    // "too_many_machines" when refused
};

// The machine's seat, in the caller's transaction: its active row, or a new one (with its
// machine.activated event) when a seat is free.
Expected<Seat> take_seat(db::Database& db, const SeatClaim& claim);

class SeatBatcher {
  public:
    // Opens its own connection to `db_path` on its thread. `after_commit` runs after each group
    // that wrote something (the console's page cache counts commits).
    explicit SeatBatcher(std::filesystem::path db_path, std::function<void()> after_commit = {});
    // Writes what is queued, then stops.
    ~SeatBatcher();
    SeatBatcher(const SeatBatcher&) = delete;
    SeatBatcher& operator=(const SeatBatcher&) = delete;

    // Queues the claim and waits for its group's commit. A failure (the group could not be
    // written, e.g. a full disk) is an error and nothing of the claim was written.
    Expected<Seat> claim(SeatClaim claim);

    // Groups committed and claims written so far (the benchmark's and the tests' view).
    std::uint64_t groups() const;
    std::uint64_t claims() const;

  private:
    struct Pending {
        SeatClaim claim;
        std::promise<Expected<Seat>> done;
    };
    void run(std::stop_token stop);

    std::filesystem::path m_db_path;
    std::function<void()> m_after_commit;
    mutable std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::vector<Pending> m_queue;
    bool m_closed = false;
    std::uint64_t m_groups = 0;
    std::uint64_t m_claims = 0;
    std::jthread m_thread;
};

} // namespace keysat::service
