// Bounded spinning for the shard locks' handoff between a push and the
// threads that wait for a shard (see SeriesTable::Shard::waiting).
//
// A push lets spinning waiters in between two runs of its slice and takes
// the lock back a few microseconds later; a waiter that went to sleep in
// the mutex would need the kernel to wake it (often tens of microseconds,
// longer than the wait itself), and the push would take the lock back
// before it ran. So both sides spin for a short, bounded time first and
// only then block (see SeriesTable::kWaiterSpin).
#ifndef WINDOWAGG_CORE_SPIN_WAIT_H_
#define WINDOWAGG_CORE_SPIN_WAIT_H_

#include <chrono>
#include <cstdint>
#include <mutex>

namespace windowagg::internal {

// The CPU's spin-wait hint (no-op where there is none).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until done() is true or `limit` has passed; returns done()'s last
// answer. done() is asked first, so a ready condition costs no clock read.
template <class F>
bool SpinUntil(F&& done, std::chrono::nanoseconds limit) {
  if (done()) return true;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    for (int i = 0; i < 16; ++i) {
      CpuRelax();
      if (done()) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
}

// mu.lock(), trying for up to `spin` before blocking in the mutex.
inline void LockSpinning(std::mutex& mu, std::chrono::nanoseconds spin) {
  if (!SpinUntil([&] { return mu.try_lock(); }, spin)) mu.lock();
}

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_SPIN_WAIT_H_
