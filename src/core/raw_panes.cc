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
  const int64_t* idx = Index();
  return static_cast<uint32_t>(std::lower_bound(idx, idx + b_->npanes, index) - idx);
}

bool RawPanes::Has(int64_t index) const {
  if (b_ == nullptr || b_->npanes == 0) return false;
  if (Index()[b_->npanes - 1] == index) return true;  // (values mostly land in the newest)
  const uint32_t k = LowerBound(index);
  return k < b_->npanes && Index()[k] == index;
}

void RawPanes::Regrow(uint64_t panes, uint64_t values, const MemoryScope& scope) {
  const uint64_t cap_panes = (std::max<uint64_t>(panes, 2) + 1) & ~uint64_t{1};
  const uint64_t bytes = sizeof(Block) + 12 * cap_panes + 8 * std::max<uint64_t>(values, 1);
  if (values > std::numeric_limits<uint32_t>::max() ||
      cap_panes > std::numeric_limits<uint32_t>::max()) {
    throw std::bad_alloc();
  }
  auto* fresh = static_cast<Block*>(scope.Allocate(bytes));
  // The allocator's size class may hold more values: take them.
  const uint64_t usable = AllocatedSize(fresh);
  Block h{0, static_cast<uint32_t>(cap_panes), 0,
          static_cast<uint32_t>(std::min<uint64_t>((usable - sizeof(Block) - 12 * cap_panes) / 8,
                                                   std::numeric_limits<uint32_t>::max())),
          0, 0};
  if (b_ != nullptr) {
    h.npanes = b_->npanes;
    h.nvalues = b_->nvalues;
    h.pending_panes = b_->pending_panes;
    h.pending_values = b_->pending_values;
  }
  Block* old = b_;
  *fresh = h;
  if (old != nullptr) {
    b_ = old;
    const int64_t* oi = Index();
    const uint32_t* oe = End();
    const double* ov = Values();
    b_ = fresh;
    std::memcpy(Index(), oi, h.npanes * sizeof(int64_t));
    std::memcpy(End(), oe, h.npanes * sizeof(uint32_t));
    std::memcpy(Values(), ov, h.nvalues * sizeof(double));
    scope.Deallocate(old);
  }
  b_ = fresh;
}

void RawPanes::Reserve(int64_t index, size_t n, const MemoryScope& scope) {
  const bool first = !pending();
  const uint64_t panes =
      uint64_t{pane_count()} + (b_ ? b_->pending_panes : 0) + (Has(index) ? 0 : 1);
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
  b_->pending_panes += Has(index) ? 0 : 1;
  b_->pending_values += static_cast<uint32_t>(n);
}

void RawPanes::Add(int64_t index, const double* x, size_t n) noexcept {
  Block& b = *b_;
  int64_t* idx = Index();
  uint32_t* end = End();
  double* vals = Values();
  uint32_t k = b.npanes;
  if (k == 0 || idx[k - 1] < index) {
    idx[k] = index;  // a new newest pane (the usual case)
    end[k] = k == 0 ? 0 : end[k - 1];
    ++b.npanes;
    if (b.pending_panes) --b.pending_panes;
  } else if (idx[k - 1] == index) {
    k = k - 1;
  } else {
    k = LowerBound(index);
    if (idx[k] != index) {
      std::memmove(idx + k + 1, idx + k, (b.npanes - k) * sizeof(int64_t));
      std::memmove(end + k + 1, end + k, (b.npanes - k) * sizeof(uint32_t));
      idx[k] = index;
      end[k] = k == 0 ? 0 : end[k - 1];
      ++b.npanes;
      if (b.pending_panes) --b.pending_panes;
    }
  }
  const uint32_t at = end[k];
  std::memmove(vals + at + n, vals + at, (b.nvalues - at) * sizeof(double));
  std::memcpy(vals + at, x, n * sizeof(double));
  for (uint32_t j = k; j < b.npanes; ++j) end[j] += static_cast<uint32_t>(n);
  b.nvalues += static_cast<uint32_t>(n);
  b.pending_values -= std::min<uint32_t>(b.pending_values, static_cast<uint32_t>(n));
}

void RawPanes::ClearPending(const MemoryScope& scope) noexcept {
  if (b_ == nullptr) return;
  b_->pending_panes = b_->pending_values = 0;
  if (b_->npanes == 0) Free(scope);
}

void RawPanes::PopFront(uint32_t k) noexcept {
  if (k == 0) return;
  Block& b = *b_;
  int64_t* idx = Index();
  uint32_t* end = End();
  double* vals = Values();
  const uint32_t drop = end[k - 1];
  std::memmove(vals, vals + drop, (b.nvalues - drop) * sizeof(double));
  std::memmove(idx, idx + k, (b.npanes - k) * sizeof(int64_t));
  std::memmove(end, end + k, (b.npanes - k) * sizeof(uint32_t));
  b.npanes -= k;
  b.nvalues -= drop;
  for (uint32_t j = 0; j < b.npanes; ++j) end[j] -= drop;
}

}  // namespace windowagg::internal
