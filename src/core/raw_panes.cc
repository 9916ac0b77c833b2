#include "core/raw_panes.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

namespace windowagg::internal {

void RawPanes::Free(const MemoryScope& scope) noexcept {
  if (b_ != nullptr) {
    if (h_.first_cap == 0) {  // (inline values go with the block)
      for (uint32_t c = 0; c < h_.nchunks; ++c) scope.Deallocate(Chunks()[ChunkSlot(c)]);
    }
    scope.Deallocate(b_);
  }
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

template <class F>
void RawPanes::ForEachSpan(uint64_t lo, uint64_t hi, F&& f) const {
  while (lo < hi) {
    const double* p = At(lo);
    const uint64_t in_chunk = kChunkValues - ((h_.value_base + lo) & (kChunkValues - 1));
    const uint64_t n = std::min(hi - lo, in_chunk);
    f(p, static_cast<size_t>(n));
    lo += n;
  }
}

void RawPanes::CopyValues(uint32_t k, uint32_t m, ScratchVector<double>* out) const {
  ForEachSpan(OffsetOf(k), OffsetOf(m),
              [&](const double* p, size_t n) { out->insert(out->end(), p, p + n); });
}

void RawPanes::ForEachPane(
    uint32_t k, uint32_t m,
    absl::FunctionRef<void(uint32_t, int64_t, std::span<const double>)> f) const {
  thread_local ScratchVector<double> scratch;
  uint64_t o = OffsetOf(k);
  // A read walks every chunk of the range: ask for them all at once (one
  // block streamed in; scattered chunks would miss one after another).
  if (k < m) {
    const uint64_t first = (h_.value_base + o) >> kChunkShift;
    const uint64_t end = ChunksFor(OffsetOf(m));
    for (uint64_t c = first; c < end; ++c) {
      const char* p = reinterpret_cast<const char*>(Chunks()[ChunkSlot(static_cast<uint32_t>(c))]);
      for (uint32_t line = 0; line < kChunkValues * sizeof(double); line += 64) {
        __builtin_prefetch(p + line);
      }
    }
  }
  for (uint32_t j = k; j < m; ++j) {
    const uint32_t n = count(j);
    const uint64_t in_chunk = kChunkValues - ((h_.value_base + o) & (kChunkValues - 1));
    if (n <= in_chunk) {
      f(j, index(j), std::span<const double>(n == 0 ? nullptr : At(o), n));
    } else {
      scratch.clear();
      ForEachSpan(o, o + n, [&](const double* p, size_t c) { scratch.insert(scratch.end(), p, p + c); });
      f(j, index(j), std::span<const double>(scratch.data(), n));
    }
    o += n;
  }
}

void RawPanes::Put(uint64_t at, const double* x, size_t n) noexcept {
  const uint64_t q = h_.value_base + at;
  const uint64_t in_tail = q & (kChunkValues - 1);
  if (at == h_.nvalues && at != 0 && in_tail != 0 && h_.tail != nullptr &&
      n <= kChunkValues - in_tail) {
    // An append that stays in the newest value's chunk (the usual case).
    double* p = h_.tail + in_tail;
    if (n == 1) {
      *p = x[0];
    } else {
      std::memcpy(p, x, n * sizeof(double));
    }
    return;
  }
  const bool append = at == h_.nvalues;
  double* last = nullptr;  // the chunk the last value copied went to
  while (n > 0) {
    double* p = At(at);
    const size_t in_chunk = kChunkValues - ((h_.value_base + at) & (kChunkValues - 1));
    const size_t c = std::min(n, in_chunk);
    std::memcpy(p, x, c * sizeof(double));
    last = p - ((h_.value_base + at) & (kChunkValues - 1));
    x += c;
    n -= c;
    at += c;
  }
  // An append ends in the newest value's chunk; an insertion further back
  // leaves it to be looked up.
  h_.tail = append ? last : nullptr;
}

void RawPanes::Regrow(uint64_t panes, uint64_t chunks, uint64_t inline_values,
                      const MemoryScope& scope) {
  const uint64_t cap_panes = (std::max<uint64_t>(panes, 2) + 1) & ~uint64_t{1};
  if (cap_panes > std::numeric_limits<uint32_t>::max() ||
      chunks > std::numeric_limits<uint32_t>::max()) {
    throw std::bad_alloc();
  }
  chunks = std::max<uint64_t>(chunks, 1);
  const uint64_t bytes = 12 * cap_panes + 8 * chunks + 8 * inline_values;
  char* fresh = static_cast<char*>(scope.Allocate(bytes));
  Header h = h_;
  h.cap_panes = static_cast<uint32_t>(cap_panes);
  // The allocator's size class may hold more chunk slots: take them (not
  // with the values inline, which follow the one slot).
  h.cap_chunks = inline_values != 0
                     ? 1
                     : static_cast<uint32_t>(std::min<uint64_t>(
                           (AllocatedSize(fresh) - 12 * cap_panes) / 8,
                           std::numeric_limits<uint32_t>::max()));
  h.first_cap = static_cast<uint32_t>(inline_values);
  h.pane_base = h.chunk_base = 0;
  // The live directory and the held chunks' pointers, unwrapped, to the
  // front of the new block; the values stay in their chunks, but for
  // inline ones, which move with the block.
  auto* idx = reinterpret_cast<int64_t*>(fresh);
  auto* cnt = reinterpret_cast<uint32_t*>(idx + h.cap_panes);
  auto* chk = reinterpret_cast<double**>(cnt + h.cap_panes);
  double* inline_chunk = inline_values != 0 ? reinterpret_cast<double*>(chk + h.cap_chunks) : nullptr;
  if (char* old = b_) {
    for (uint32_t j = 0; j < h_.npanes; ++j) {
      idx[j] = index(j);
      cnt[j] = count(j);
    }
    for (uint32_t c = 0; c < h_.nchunks; ++c) chk[c] = Chunks()[ChunkSlot(c)];
    if (h_.first_cap != 0) {
      // (Callers leave the inline form first when the new block has none.)
      double* was = Chunks()[ChunkSlot(0)];
      if (h_.nvalues != 0) {
        std::memcpy(inline_chunk + h_.value_base, was + h_.value_base,
                    h_.nvalues * sizeof(double));
      }
      chk[0] = inline_chunk;
      if (h.tail == was) h.tail = inline_chunk;
    }
    scope.Deallocate(old);
  }
  if (inline_chunk != nullptr && h.nchunks == 0) {
    chk[0] = inline_chunk;
    h.nchunks = 1;
  }
  b_ = fresh;
  h_ = h;
}

void RawPanes::Reserve(int64_t index, size_t n, const MemoryScope& scope) {
  const bool first = !pending();
  const uint32_t is_new = Has(index) ? 0 : 1;
  const uint64_t panes = uint64_t{h_.npanes} + h_.pending_panes + is_new;
  const uint64_t values = uint64_t{h_.nvalues} + h_.pending_values + n;
  if (values > std::numeric_limits<uint32_t>::max()) throw std::bad_alloc();
  const uint64_t end = h_.value_base + values;  // positions the values take
  const uint64_t cap_p = h_.cap_panes;
  const uint64_t grown_panes = std::max(panes, panes > cap_p ? cap_p + cap_p / 2 : cap_p);
  if (end <= kChunkValues && (b_ == nullptr || h_.first_cap != 0)) {
    // Few values: inline, after the directory, twice the last room at
    // least (an even number of values: the allocator's 16-byte steps).
    if (b_ == nullptr || panes > cap_p || end > h_.first_cap) {
      const uint64_t room =
          end <= h_.first_cap
              ? h_.first_cap
              : std::min<uint64_t>(kChunkValues,
                                   (std::max<uint64_t>(end, 2 * uint64_t{h_.first_cap}) + 1) &
                                       ~uint64_t{1});
      Regrow(grown_panes, 1, room, scope);
    } else if (first && 12 * cap_p > 2 * 12 * panes + 256) {
      try {  // (only an optimization: a failure to shrink changes nothing)
        Regrow(std::max<uint64_t>(panes, h_.npanes) + panes / 4, 1, h_.first_cap, scope);
      } catch (...) {
      }
    }
  } else {
    if (h_.first_cap != 0) LeaveInline(scope);
    const uint64_t chunks = ChunksFor(values);
    const uint64_t cap_c = h_.cap_chunks;
    if (b_ == nullptr || panes > cap_p || chunks > cap_c) {
      // Grow by half at least (a series' panes and values grow a few at a time).
      Regrow(grown_panes, std::max(chunks, chunks > cap_c ? cap_c + cap_c / 2 : cap_c), 0, scope);
    } else if (first && 12 * cap_p + 8 * cap_c > 2 * (12 * panes + 8 * chunks) + 256) {
      // The window shrank (its old panes slid out): give the room back. Only
      // an optimization: a failure to shrink changes nothing.
      try {
        Regrow(std::max<uint64_t>(panes, h_.npanes) + panes / 4,
               std::max<uint64_t>(chunks, h_.nchunks) + chunks / 4, 0, scope);
      } catch (...) {
      }
    }
    // The chunks the values will take (one failing leaves the ones before
    // it as spares: nothing reserved, nothing wrong).
    while (h_.nchunks < chunks) {
      Chunks()[ChunkSlot(h_.nchunks)] =
          static_cast<double*>(scope.Allocate(kChunkValues * sizeof(double)));
      ++h_.nchunks;
    }
  }
  h_.pending_panes += is_new;
  h_.pending_values += static_cast<uint32_t>(n);
}

void RawPanes::LeaveInline(const MemoryScope& scope) {
  // A whole chunk takes the inline values (at the same positions); the
  // block keeps the inline room until it is next regrown.
  auto* fresh = static_cast<double*>(scope.Allocate(kChunkValues * sizeof(double)));
  double*& slot = Chunks()[ChunkSlot(0)];
  if (h_.nvalues != 0) {
    std::memcpy(fresh + h_.value_base, slot + h_.value_base, h_.nvalues * sizeof(double));
  }
  if (h_.tail == slot) h_.tail = fresh;
  slot = fresh;
  h_.first_cap = 0;
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
    for (uint64_t o = h_.nvalues; o-- > at;) *At(o + n) = *At(o);
    Put(at, x, n);
    Count()[Slot(k)] += m;
  }
  h_.nvalues += m;
  h_.pending_values -= std::min(h_.pending_values, m);
}

void RawPanes::TrimSpares(const MemoryScope& scope) noexcept {
  const uint64_t keep =
      ChunksFor(uint64_t{h_.nvalues} + h_.pending_values) + 1;
  while (h_.nchunks > keep) {
    --h_.nchunks;
    scope.Deallocate(Chunks()[ChunkSlot(h_.nchunks)]);
  }
}

void RawPanes::ClearPending(const MemoryScope& scope) noexcept {
  h_.pending_panes = h_.pending_values = 0;
  if (b_ == nullptr) return;
  if (h_.npanes == 0) {
    Free(scope);
    return;
  }
  TrimSpares(scope);  // (an undone push's reservations)
}

void RawPanes::PopFront(uint32_t k) noexcept {
  if (k == 0) return;
  const uint64_t drop = OffsetOf(k);
  h_.pane_base = Slot(k);
  h_.npanes -= k;
  h_.nvalues -= static_cast<uint32_t>(drop);
  // Whole chunks now in front of the oldest value go to the back of the
  // held ones, as spares (ClearPending trims them): the next growth takes
  // them without the allocator.
  const uint64_t pos = h_.value_base + drop;
  const uint32_t whole = static_cast<uint32_t>(pos >> kChunkShift);
  for (uint32_t i = 0; i < whole; ++i) {
    // (In increasing order: where the ring wraps onto the passed chunks'
    // own slots, those were moved already.)
    const uint32_t to = static_cast<uint32_t>((uint64_t{h_.chunk_base} + h_.nchunks + i) % h_.cap_chunks);
    Chunks()[to] = Chunks()[ChunkSlot(i)];
  }
  h_.chunk_base = ChunkSlot(whole);
  h_.value_base = static_cast<uint32_t>(pos & (kChunkValues - 1));
  if (h_.nvalues == 0) h_.tail = nullptr;
  if (h_.npanes == 0) {
    h_.pane_base = 0;
    if (h_.pending_values == 0) h_.value_base = 0;
  }
}

}  // namespace windowagg::internal
