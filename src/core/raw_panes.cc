#include "core/raw_panes.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

namespace windowagg::internal {

void RawPanes::Free(const MemoryScope& scope) noexcept {
  if (b_ != nullptr) scope.Deallocate(b_);
  b_ = nullptr;
  h_ = Header();
}

uint32_t RawPanes::LowerBound(int64_t index) const {
  if (h_.npanes == 0) return 0;
  const int64_t* first = Index() + h_.pane_base;
  return static_cast<uint32_t>(std::lower_bound(first, first + h_.npanes, index) - first);
}

bool RawPanes::Has(int64_t index) const {
  if (h_.npanes == 0) return false;
  if (h_.newest == index) return true;  // (values mostly land in the newest)
  if (index > h_.newest) return false;
  const uint32_t k = LowerBound(index);
  return k < h_.npanes && this->index(k) == index;
}

void RawPanes::Compact() noexcept {
  if (h_.pane_base == 0 && h_.value_base == 0) return;
  int64_t* idx = Index();
  uint32_t* start = StartOf();
  std::memmove(idx, idx + h_.pane_base, h_.npanes * sizeof(int64_t));
  std::memmove(start, start + h_.pane_base, h_.npanes * sizeof(uint32_t));
  for (uint32_t j = 0; j < h_.npanes; ++j) start[j] -= h_.value_base;
  std::memmove(Values(), Values() + h_.value_base, h_.nvalues * sizeof(double));
  h_.pane_base = h_.value_base = 0;
}

void RawPanes::Regrow(uint64_t panes, uint64_t values, const MemoryScope& scope) {
  const uint64_t cap_panes = (std::max<uint64_t>(panes, 2) + 1) & ~uint64_t{1};
  if (values > std::numeric_limits<uint32_t>::max() ||
      cap_panes > std::numeric_limits<uint32_t>::max()) {
    throw std::bad_alloc();
  }
  const uint64_t bytes = 12 * cap_panes + 8 * std::max<uint64_t>(values, 1);
  char* fresh = static_cast<char*>(scope.Allocate(bytes));
  // The allocator's size class may hold more values: take them.
  const uint64_t usable = AllocatedSize(fresh);
  Header h = h_;
  h.cap_panes = static_cast<uint32_t>(cap_panes);
  h.cap_values = static_cast<uint32_t>(
      std::min<uint64_t>((usable - 12 * cap_panes) / 8, std::numeric_limits<uint32_t>::max()));
  h.pane_base = h.value_base = 0;
  if (char* old = b_) {
    const int64_t* oi = Index() + h_.pane_base;
    const uint32_t* os = StartOf() + h_.pane_base;
    const double* ov = Values() + h_.value_base;
    const uint32_t shift = h_.value_base;
    b_ = fresh;
    h_ = h;
    std::memcpy(Index(), oi, h.npanes * sizeof(int64_t));
    uint32_t* start = StartOf();
    for (uint32_t j = 0; j < h.npanes; ++j) start[j] = os[j] - shift;
    std::memcpy(Values(), ov, h.nvalues * sizeof(double));
    scope.Deallocate(old);
    return;
  }
  b_ = fresh;
  h_ = h;
}

void RawPanes::Reserve(int64_t index, size_t n, const MemoryScope& scope) {
  const bool first = !pending();
  const uint32_t is_new = Has(index) ? 0 : 1;
  const uint64_t panes = uint64_t{h_.npanes} + h_.pending_panes + is_new;
  const uint64_t values = uint64_t{h_.nvalues} + h_.pending_values + n;
  if (b_ == nullptr || panes > h_.cap_panes || values > h_.cap_values) {
    // Grow by a quarter at least (a series' values grow a few at a time).
    const uint64_t cap_p = h_.cap_panes, cap_v = h_.cap_values;
    Regrow(std::max(panes, panes > cap_p ? cap_p + cap_p / 2 : cap_p),
           std::max(values, values > cap_v ? cap_v + cap_v / 4 : cap_v), scope);
  } else if (first && values * 2 < h_.cap_values && h_.cap_values > 32) {
    // The window shrank (its old panes slid out): give the room back. Only
    // an optimization: a failure to shrink changes nothing.
    try {
      Regrow(std::max<uint64_t>(panes, h_.npanes), values + values / 4, scope);
    } catch (...) {
    }
  }
  // Room at the end: the front's free slots move there (no allocation).
  if (h_.pane_base + panes > h_.cap_panes || h_.value_base + values > h_.cap_values) Compact();
  h_.pending_panes += is_new;
  h_.pending_values += static_cast<uint32_t>(n);
}

void RawPanes::Add(int64_t index, const double* x, size_t n) noexcept {
  double* vals = Values();
  const uint32_t m = static_cast<uint32_t>(n);
  const uint32_t end = h_.value_base + h_.nvalues;
  if (h_.npanes != 0 && h_.newest == index) {
    std::memcpy(vals + end, x, n * sizeof(double));  // the usual case
  } else if (h_.npanes == 0 || index > h_.newest) {
    // A new newest pane.
    const uint32_t slot = h_.pane_base + h_.npanes;
    Index()[slot] = index;
    StartOf()[slot] = end;
    ++h_.npanes;
    h_.newest = index;
    if (h_.pending_panes) --h_.pending_panes;
    std::memcpy(vals + end, x, n * sizeof(double));
  } else {
    // An older pane (values within the lateness): its values end where the
    // next pane's start; the later values move up.
    int64_t* idx = Index() + h_.pane_base;
    uint32_t* start = StartOf() + h_.pane_base;
    uint32_t k = LowerBound(index);
    if (idx[k] != index) {
      std::memmove(idx + k + 1, idx + k, (h_.npanes - k) * sizeof(int64_t));
      std::memmove(start + k + 1, start + k, (h_.npanes - k) * sizeof(uint32_t));
      idx[k] = index;
      // start[k] stays: the new pane begins where the next one did.
      ++h_.npanes;
      if (h_.pending_panes) --h_.pending_panes;
    }
    const uint32_t at = k + 1 < h_.npanes ? start[k + 1] : end;
    std::memmove(vals + at + n, vals + at, (end - at) * sizeof(double));
    std::memcpy(vals + at, x, n * sizeof(double));
    for (uint32_t j = k + 1; j < h_.npanes; ++j) start[j] += m;
  }
  h_.nvalues += m;
  h_.pending_values -= std::min(h_.pending_values, m);
}

void RawPanes::ClearPending(const MemoryScope& scope) noexcept {
  h_.pending_panes = h_.pending_values = 0;
  if (h_.npanes == 0 && b_ != nullptr) Free(scope);
}

void RawPanes::PopFront(uint32_t k) noexcept {
  if (k == 0) return;
  const uint32_t next = Start(k);
  h_.nvalues -= next - h_.value_base;
  h_.value_base = next;
  h_.pane_base += k;
  h_.npanes -= k;
  if (h_.npanes == 0) h_.pane_base = h_.value_base = 0;
}

}  // namespace windowagg::internal
