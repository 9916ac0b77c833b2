
#include "core/window_queue.h"

#include <algorithm>
#include <utility>

namespace windowagg::internal {

void WindowQueue::Reserve(size_t more) {
  if (v_.capacity() - v_.size() >= more) return;
  Compact();
  if (v_.capacity() - v_.size() >= more) return;
  v_.reserve(std::max({v_.size() + more, v_.capacity() * 2, size_t{16}}));
}

void WindowQueue::PushReserved(ClosedWindow&& w) noexcept {
  v_.push_back(std::move(w));  // within capacity: no allocation, cannot throw
  size_hint_.store(size(), std::memory_order_relaxed);
}

void WindowQueue::pop_front() noexcept {
  v_[head_].sketch = Sketch();  // frees its buckets now
  size_hint_.store(size() - 1, std::memory_order_relaxed);
  if (++head_ == v_.size()) {
    v_.clear();
    head_ = 0;
    if (v_.capacity() > 1024) {
      // Drained after a burst: give the room back (an empty vector
      // allocates nothing, so this cannot throw).
      std::vector<ClosedWindow, ScopeAllocator<ClosedWindow>> empty(v_.get_allocator());
      v_.swap(empty);
    }
  } else if (head_ >= 32 && head_ * 2 >= v_.size()) {
    Compact();
  }
}

void WindowQueue::Compact() noexcept {
  if (head_ == 0) return;
  v_.erase(v_.begin(), v_.begin() + static_cast<ptrdiff_t>(head_));
  head_ = 0;
}

}  // namespace windowagg::internal
