#pragma once
// Time source that tests can fix.

#include <atomic>
#include <cstdint>

namespace keysat {

class Clock {
  public:
    virtual ~Clock() = default;
    // Current time in unix seconds.
    virtual std::int64_t now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
  public:
    std::int64_t now() const override;
};

// A clock that says whatever it was set to (from any thread: a server's workers read it while a
// test moves it).
class FixedClock final : public Clock {
  public:
    explicit FixedClock(std::int64_t t) : m_now(t) {}
    std::int64_t now() const override { return m_now.load(); }
    void set(std::int64_t t) { m_now.store(t); }

  private:
    std::atomic<std::int64_t> m_now;
};

} // namespace keysat
