#include "keysat/service/seats.hpp"

#include <nlohmann/json.hpp>

#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/store/machine_store.hpp"

namespace keysat::service {

Expected<Seat> take_seat(db::Database& db, const SeatClaim& c) {
    store::MachineStore machines(db);
    KEYSAT_TRY_ASSIGN(existing, machines.find_active(c.license_id, c.fingerprint_sha256));
    if (existing) // activated by a concurrent request since the caller's read
        return Seat{existing->id, true, ""};
    KEYSAT_TRY_ASSIGN(active, machines.count_active(c.license_id));
    if (c.max_machines > 0 && active >= c.max_machines)
        return Seat{std::nullopt, false, "too_many_machines"};
    store::MachineRow m{crypto::uuid_v4().to_string(),
                        c.license_id,
                        c.fingerprint,
                        c.fingerprint_sha256,
                        c.hostname,
                        c.platform,
                        c.now,
                        c.now,
                        std::nullopt,
                        std::nullopt};
    KEYSAT_TRY(machines.activate(m));
    KEYSAT_TRY(emit_event(
        db, "machine.activated",
        {{"license_id", c.license_id}, {"machine_id", m.id}, {"hostname", c.hostname.value_or("")}},
        c.now));
    return Seat{m.id, false, ""};
}

SeatBatcher::SeatBatcher(std::filesystem::path db_path, std::function<void()> after_commit)
    : m_db_path(std::move(db_path)), m_after_commit(std::move(after_commit)),
      m_thread([this](std::stop_token st) { run(st); }) {}

SeatBatcher::~SeatBatcher() {
    m_thread.request_stop();
    m_wake.notify_all();
}

Expected<Seat> SeatBatcher::claim(SeatClaim claim) {
    std::future<Expected<Seat>> answer;
    {
        std::lock_guard lock(m_mutex);
        if (m_closed)
            return usage_error("the server is stopping");
        m_queue.push_back(Pending{std::move(claim), {}});
        answer = m_queue.back().done.get_future();
    }
    m_wake.notify_one();
    auto seat = answer.get();
    if (!seat && db::writes_failing())
        db::note_space_error(); // so that the request answers 503 (disk full), not 500
    return seat;
}

std::uint64_t SeatBatcher::groups() const {
    std::lock_guard lock(m_mutex);
    return m_groups;
}

std::uint64_t SeatBatcher::claims() const {
    std::lock_guard lock(m_mutex);
    return m_claims;
}

void SeatBatcher::run(std::stop_token stop) {
    auto db = db::Database::open(m_db_path, db::OpenMode::read_write);
    std::vector<Pending> group;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, stop, [&] { return !m_queue.empty(); });
            if (m_queue.empty()) { // stopping, nothing left
                m_closed = true;
                return;
            }
            // No waiting to fill a group: what queued while the previous one was written is the
            // next group, so a lone claim is written at once and a burst in few commits.
            group.swap(m_queue);
        }
        auto fail_all = [&](const Error& e) {
            for (auto& p : group)
                p.done.set_value(std::unexpected(e));
        };
        if (!db) {
            fail_all(db.error());
            group.clear();
            continue;
        }
        std::vector<Expected<Seat>> answers;
        answers.reserve(group.size());
        auto tx = db::Transaction::begin(*db);
        if (!tx) {
            fail_all(tx.error());
            group.clear();
            continue;
        }
        std::size_t written = 0;
        for (auto& p : group) {
            // A savepoint per claim: one that fails is undone alone and answered with its error.
            auto sp = db::Transaction::begin(*db);
            if (!sp) {
                answers.emplace_back(std::unexpected(sp.error()));
                continue;
            }
            auto seat = take_seat(*db, p.claim);
            if (seat && !seat->known && seat->machine_id) {
                if (auto ok = sp->commit(); !ok) {
                    answers.emplace_back(std::unexpected(ok.error()));
                    continue;
                }
                ++written;
            }
            answers.push_back(std::move(seat));
        }
        if (auto ok = tx->commit(); !ok) {
            fail_all(ok.error()); // nothing of the group was written
            group.clear();
            continue;
        }
        if (written > 0 && m_after_commit)
            m_after_commit();
        {
            std::lock_guard lock(m_mutex);
            ++m_groups;
            m_claims += group.size();
        }
        for (std::size_t i = 0; i < group.size(); ++i)
            group[i].done.set_value(std::move(answers[i]));
        group.clear();
    }
}

} // namespace keysat::service
