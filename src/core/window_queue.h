// Closed windows waiting for aggregator_poll_windows.
#ifndef WINDOWAGG_CORE_WINDOW_QUEUE_H_
#define WINDOWAGG_CORE_WINDOW_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/memory.h"
#include "core/sketch.h"
#include "core/stats.h"

namespace windowagg::internal {

struct ClosedWindow {
  uint64_t key;
  Stats stats;
  Sketch sketch;
};

// Closed windows waiting to be polled, oldest first: a vector used as a
// FIFO, so room for a window is reserved before the window joins it (an
// allocation failure then leaves the queue as it was). It never drops a
// window: how many windows closing puts in it is the callers' choice (see
// Aggregator::BringUpToDate in closing.cc).
class WindowQueue {
 public:
  explicit WindowQueue(const MemoryScope* scope) : v_(ScopeAllocator<ClosedWindow>(scope)) {}

  size_t size() const { return v_.size() - head_; }
  // size(), readable without the queue lock (a hint: it may be stale).
  size_t size_hint() const { return size_hint_.load(std::memory_order_relaxed); }
  bool empty() const { return size() == 0; }
  ClosedWindow& front() { return v_[head_]; }
  auto begin() const { return v_.begin() + static_cast<ptrdiff_t>(head_); }
  auto end() const { return v_.end(); }

  // Room for `more` windows; the only call that allocates.
  void Reserve(size_t more);
  // Appends (room reserved).
  void PushReserved(ClosedWindow&& w) noexcept;
  void pop_front() noexcept;

 private:
  void Compact() noexcept;

  std::vector<ClosedWindow, ScopeAllocator<ClosedWindow>> v_;
  size_t head_ = 0;
  std::atomic<size_t> size_hint_{0};
};

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_WINDOW_QUEUE_H_
