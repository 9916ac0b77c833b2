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
  if (h_.npanes == 0 || index > h_.newest) return h_.npanes;  // (the header alone)
  // A slide asks for the panes it drops, a few from the front: those
  // entries share a line, where a binary search would miss on several.
  const int64_t* idx = Index();
  constexpr uint32_t kFront = 4;
  const uint32_t front = std::min(h_.npanes, kFront);
  for (uint32_t k = 0; k < front; ++k) {
    if (idx[Slot(k)] >= index) return k;
  }
  // (Binary search over the rest of the ring's live slots, in pane order.)
  uint32_t lo = front, n = h_.npanes - front;
  while (n > 0) {
    const uint32_t half = n / 2;
    if (idx[Slot(lo + half)] < index) {
      lo += half + 1;
      n -= half + 1;
    } else {
      n = half;
    }
  }
  return lo;
}

bool RawPanes::Has(int64_t index) const {
  if (h_.npanes == 0) return false;
  if (h_.newest == index) return true;  // (values mostly land in the newest)
  if (index > h_.newest) return false;
  const uint32_t k = LowerBound(index);
  return k < h_.npanes && this->index(k) == index;
}

uint64_t RawPanes::OffsetOf(uint32_t k) const {
  if (k == h_.npanes) return h_.nvalues;
  uint64_t o = 0;
  for (uint32_t j = 0; j < k; ++j) o += Count()[Slot(j)];  // (k < npanes: not the newest)
  return o;
}

void RawPanes::Segments(uint32_t k, uint32_t m, const double** a, size_t* na, const double** b,
                        size_t* nb) const {
  const uint64_t lo = OffsetOf(k), hi = OffsetOf(m);
  const uint64_t len = hi - lo;
  if (len == 0) {
    *a = *b = nullptr;
    *na = *nb = 0;
    return;
  }
  const uint32_t p = Pos(lo);
  const uint64_t first = std::min<uint64_t>(len, h_.cap_values - p);
  *a = Values() + p;
  *na = first;
  *b = Values();
  *nb = len - first;
}

void RawPanes::ForEachPane(
    uint32_t k, uint32_t m,
    absl::FunctionRef<void(uint32_t, int64_t, std::span<const double>)> f) const {
  thread_local ScratchVector<double> scratch;
  uint64_t o = OffsetOf(k);
  for (uint32_t j = k; j < m; ++j) {
    const uint32_t n = count(j);
    const uint32_t p = Pos(o);
    if (uint64_t{p} + n <= h_.cap_values) {
      f(j, index(j), std::span<const double>(Values() + p, n));
    } else {
      const uint32_t first = h_.cap_values - p;
      scratch.assign(Values() + p, Values() + h_.cap_values);
      scratch.insert(scratch.end(), Values(), Values() + (n - first));
      f(j, index(j), std::span<const double>(scratch.data(), n));
    }
    o += n;
  }
}

void RawPanes::Put(uint64_t at, const double* x, size_t n) noexcept {
  const uint32_t p = Pos(at);
  double* v = Values();
  if (n == 1) {
    v[p] = x[0];  // (the keyed push's usual run: no call)
    return;
  }
  const size_t first = std::min<size_t>(n, h_.cap_values - p);
  std::memcpy(v + p, x, first * sizeof(double));
  if (first < n) std::memcpy(v, x + first, (n - first) * sizeof(double));
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
  // The live data, unwrapped, to the front of the new block.
  auto* idx = reinterpret_cast<int64_t*>(fresh);
  auto* cnt = reinterpret_cast<uint32_t*>(idx + h.cap_panes);
  auto* vals = reinterpret_cast<double*>(cnt + h.cap_panes);
  if (char* old = b_) {
    for (uint32_t j = 0; j < h_.npanes; ++j) {
      idx[j] = index(j);
      cnt[j] = count(j);
    }
    const double *a, *b;
    size_t na, nb;
    Segments(0, h_.npanes, &a, &na, &b, &nb);
    if (na != 0) std::memcpy(vals, a, na * sizeof(double));  // (a, b null when empty)
    if (nb != 0) std::memcpy(vals + na, b, nb * sizeof(double));
    scope.Deallocate(old);
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
  h_.pending_panes += is_new;
  h_.pending_values += static_cast<uint32_t>(n);
}

void RawPanes::Add(int64_t index, const double* x, size_t n) noexcept {
  const uint32_t m = static_cast<uint32_t>(n);
  if (h_.npanes != 0 && h_.newest == index) {
    Put(h_.nvalues, x, n);  // the usual case
    h_.newest_count += m;
  } else if (h_.npanes == 0 || index > h_.newest) {
    // A new newest pane: the one before gets its count in the directory.
    if (h_.npanes != 0) Count()[Slot(h_.npanes - 1)] = h_.newest_count;
    const uint32_t slot = Slot(h_.npanes);
    Index()[slot] = index;
    ++h_.npanes;
    h_.newest = index;
    h_.newest_count = m;
    if (h_.pending_panes) --h_.pending_panes;
    Put(h_.nvalues, x, n);
  } else {
    // An older pane (values within the lateness): the values after it, and
    // for a new pane the directory entries after it, move up.
    const uint32_t k = LowerBound(index);
    if (this->index(k) != index) {
      for (uint32_t j = h_.npanes; j > k; --j) {
        Index()[Slot(j)] = Index()[Slot(j - 1)];
        Count()[Slot(j)] = Count()[Slot(j - 1)];
      }
      Index()[Slot(k)] = index;
      Count()[Slot(k)] = 0;
      ++h_.npanes;
      if (h_.pending_panes) --h_.pending_panes;
    }
    // (k is not the newest pane: its count is in the directory.)
    const uint64_t at = OffsetOf(k + 1);  // the end of pane k's values
    double* v = Values();
    for (uint64_t o = h_.nvalues; o-- > at;) v[Pos(o + n)] = v[Pos(o)];
    Put(at, x, n);
    Count()[Slot(k)] += m;
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
  const uint64_t drop = OffsetOf(k);
  h_.value_base = Pos(drop);
  h_.pane_base = Slot(k);
  h_.npanes -= k;
  h_.nvalues -= static_cast<uint32_t>(drop);
  if (h_.npanes == 0) h_.pane_base = h_.value_base = 0;
}

}  // namespace windowagg::internal
