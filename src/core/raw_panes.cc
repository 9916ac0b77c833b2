#include "core/raw_panes.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

namespace windowagg::internal {

void RawPanes::Free(const MemoryScope& scope) noexcept {
  if (b_ != nullptr) scope.Deallocate(b_);
  b_ = nullptr;
}

uint32_t RawPanes::LowerBound(int64_t index) const {
  if (b_ == nullptr) return 0;
  const int64_t* first = Index() + b_->pane_base;
  return static_cast<uint32_t>(std::lower_bound(first, first + b_->npanes, index) - first);
}

bool RawPanes::Has(int64_t index) const {
  if (b_ == nullptr || b_->npanes == 0) return false;
  if (b_->newest == index) return true;  // (values mostly land in the newest)
  if (index > b_->newest) return false;
  const uint32_t k = LowerBound(index);
  return k < b_->npanes && this->index(k) == index;
}

void RawPanes::Compact() noexcept {
  Block& b = *b_;
  if (b.pane_base == 0 && b.value_base == 0) return;
  int64_t* idx = Index();
  uint32_t* start = StartOf();
  std::memmove(idx, idx + b.pane_base, b.npanes * sizeof(int64_t));
  std::memmove(start, start + b.pane_base, b.npanes * sizeof(uint32_t));
  for (uint32_t j = 0; j < b.npanes; ++j) start[j] -= b.value_base;
  std::memmove(Values(), Values() + b.value_base, b.nvalues * sizeof(double));
  b.pane_base = b.value_base = 0;
}

void RawPanes::Regrow(uint64_t panes, uint64_t values, const MemoryScope& scope) {
  const uint64_t cap_panes = (std::max<uint64_t>(panes, 2) + 1) & ~uint64_t{1};
  if (values > std::numeric_limits<uint32_t>::max() ||
      cap_panes > std::numeric_limits<uint32_t>::max()) {
    throw std::bad_alloc();
  }
  const uint64_t bytes = sizeof(Block) + 12 * cap_panes + 8 * std::max<uint64_t>(values, 1);
  auto* fresh = static_cast<Block*>(scope.Allocate(bytes));
  // The allocator's size class may hold more values: take them.
  const uint64_t usable = AllocatedSize(fresh);
  Block h{};
  if (b_ != nullptr) h = *b_;
  h.cap_panes = static_cast<uint32_t>(cap_panes);
  h.cap_values = static_cast<uint32_t>(std::min<uint64_t>(
      (usable - sizeof(Block) - 12 * cap_panes) / 8, std::numeric_limits<uint32_t>::max()));
  h.pane_base = h.value_base = 0;
  *fresh = h;
  if (Block* old = b_) {
    const int64_t* oi = Index() + old->pane_base;
    const uint32_t* os = StartOf() + old->pane_base;
    const double* ov = Values() + old->value_base;
    const uint32_t shift = old->value_base;
    b_ = fresh;
    std::memcpy(Index(), oi, h.npanes * sizeof(int64_t));
    uint32_t* start = StartOf();
    for (uint32_t j = 0; j < h.npanes; ++j) start[j] = os[j] - shift;
    std::memcpy(Values(), ov, h.nvalues * sizeof(double));
    scope.Deallocate(old);
  }
  b_ = fresh;
}

void RawPanes::Reserve(int64_t index, size_t n, const MemoryScope& scope) {
  const bool first = !pending();
  const uint32_t is_new = Has(index) ? 0 : 1;
  const uint64_t panes = uint64_t{pane_count()} + (b_ ? b_->pending_panes : 0) + is_new;
  const uint64_t values = uint64_t{value_count()} + (b_ ? b_->pending_values : 0) + n;
  if (b_ == nullptr || panes > b_->cap_panes || values > b_->cap_values) {
    // Grow by a quarter at least (a series' values grow a few at a time).
    const uint64_t cap_p = b_ ? b_->cap_panes : 0, cap_v = b_ ? b_->cap_values : 0;
    Regrow(std::max(panes, panes > cap_p ? cap_p + cap_p / 2 : cap_p),
           std::max(values, values > cap_v ? cap_v + cap_v / 4 : cap_v), scope);
  } else if (first && values * 2 < b_->cap_values && b_->cap_values > 32) {
    // The window shrank (its old panes slid out): give the room back. Only
    // an optimization: a failure to shrink changes nothing.
    try {
      Regrow(std::max<uint64_t>(panes, b_->npanes), values + values / 4, scope);
    } catch (...) {
    }
  }
  // Room at the end: the front's free slots move there (no allocation).
  if (b_->pane_base + panes > b_->cap_panes || b_->value_base + values > b_->cap_values) Compact();
  b_->pending_panes += is_new;
  b_->pending_values += static_cast<uint32_t>(n);
}

void RawPanes::Add(int64_t index, const double* x, size_t n) noexcept {
  Block& b = *b_;
  double* vals = Values();
  const uint32_t m = static_cast<uint32_t>(n);
  const uint32_t end = b.value_base + b.nvalues;
  if (b.npanes != 0 && b.newest == index) {
    std::memcpy(vals + end, x, n * sizeof(double));  // the usual case
  } else if (b.npanes == 0 || index > b.newest) {
    // A new newest pane.
    const uint32_t slot = b.pane_base + b.npanes;
    Index()[slot] = index;
    StartOf()[slot] = end;
    ++b.npanes;
    b.newest = index;
    if (b.pending_panes) --b.pending_panes;
    std::memcpy(vals + end, x, n * sizeof(double));
  } else {
    // An older pane (values within the lateness): its values end where the
    // next pane's start; the later values move up.
    int64_t* idx = Index() + b.pane_base;
    uint32_t* start = StartOf() + b.pane_base;
    uint32_t k = LowerBound(index);
    if (idx[k] != index) {
      std::memmove(idx + k + 1, idx + k, (b.npanes - k) * sizeof(int64_t));
      std::memmove(start + k + 1, start + k, (b.npanes - k) * sizeof(uint32_t));
      idx[k] = index;
      // start[k] stays: the new pane begins where the next one did.
      ++b.npanes;
      if (b.pending_panes) --b.pending_panes;
    }
    const uint32_t at = k + 1 < b.npanes ? start[k + 1] : end;
    std::memmove(vals + at + n, vals + at, (end - at) * sizeof(double));
    std::memcpy(vals + at, x, n * sizeof(double));
    for (uint32_t j = k + 1; j < b.npanes; ++j) start[j] += m;
  }
  b.nvalues += m;
  b.pending_values -= std::min(b.pending_values, m);
}

void RawPanes::ClearPending(const MemoryScope& scope) noexcept {
  if (b_ == nullptr) return;
  b_->pending_panes = b_->pending_values = 0;
  if (b_->npanes == 0) Free(scope);
}

void RawPanes::PopFront(uint32_t k) noexcept {
  if (k == 0) return;
  Block& b = *b_;
  const uint32_t next = Start(k);
  b.nvalues -= next - b.value_base;
  b.value_base = next;
  b.pane_base += k;
  b.npanes -= k;
  if (b.npanes == 0) b.pane_base = b.value_base = 0;
}

}  // namespace windowagg::internal
