#include "core/count_window.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/error.h"
#include "core/wire.h"

namespace windowagg::internal {

CountWindow::CountWindow(uint64_t capacity, const MemoryScope* scope, bool quantiles)
    : capacity_(capacity), sketched_(quantiles), sketch_(scope, /*raw=*/false) {
  // ~N/8 values per block bounds the per-block bookkeeping at ingest and the
  // rescan at query time; at least 64 keeps the block queue of a small
  // window to a few entries (memory per series), at most 1024 caps the query
  // cost of huge windows. Blocks never exceed N.
  uint64_t b = std::clamp<uint64_t>(std::bit_floor(std::max<uint64_t>(1, capacity / 8)), 64, 1024);
  block_ = static_cast<uint32_t>(std::min<uint64_t>(b, std::bit_floor(capacity)));
}

void CountWindow::Free(const MemoryScope& scope) noexcept {
  scope.Deallocate(ring_);
  scope.Deallocate(front_);
  scope.Deallocate(back_);
  ring_ = nullptr;
  front_ = back_ = nullptr;
  ring_cap_ = 0;
  stack_cap_ = 0;
}

void CountWindow::EnsureRing(uint64_t needed, const MemoryScope& scope) {
  needed = std::min(needed, capacity_);
  // Block stacks only once a block can complete: a quiet series of a big
  // window stays small.
  if (stack_cap_ == 0 && !small() && needed >= block_) {
    // Blocks fully inside the window, plus one being popped.
    uint64_t blocks = capacity_ / block_ + 2;
    auto* f = static_cast<Moments*>(scope.Allocate(blocks * sizeof(Moments)));
    Moments* b;
    try {
      b = static_cast<Moments*>(scope.Allocate(blocks * sizeof(Moments)));
    } catch (...) {
      scope.Deallocate(f);
      throw;
    }
    front_ = f;
    back_ = b;
    stack_cap_ = static_cast<uint32_t>(blocks);
  }
  if (needed <= ring_cap_) return;
  uint64_t cap = std::min(capacity_, std::max<uint64_t>({needed, ring_cap_ * 2, 8}));
  auto* fresh = static_cast<double*>(scope.Allocate(cap * sizeof(double)));
  // The ring only grows before it first wraps, so values sit at [0, total_).
  if (total_ != 0) std::memcpy(fresh, ring_, total_ * sizeof(double));
  scope.Deallocate(ring_);
  ring_ = fresh;
  ring_cap_ = cap;
}

void CountWindow::CompleteBlock() {
  back_[back_n_++] = open_;
  back_agg_.Merge(open_);
  open_ = Moments();
}

void CountWindow::PopOldestBlock() {
  if (front_n_ == 0) {
    // Flip: newest back block becomes front_[0], oldest ends on top.
    for (uint32_t k = 0; k < back_n_; ++k) {
      Moments m = back_[back_n_ - 1 - k];
      if (k > 0) m.Merge(front_[k - 1]);
      front_[k] = m;
    }
    front_n_ = back_n_;
    back_n_ = 0;
    back_agg_ = Moments();
  }
  --front_n_;
  ++oldest_block_;
}

void CountWindow::Push(const double* x, size_t n, const SketchMapping& map,
                       const MemoryScope& scope) {
  if (n == 0) return;
  EnsureRing(total_ + n, scope);
  Append(x, n, map, /*evict=*/true);
}

void CountWindow::PushOne(double x, const SketchMapping& map, const MemoryScope& scope) {
  // (small() first: a small window never reads the block-stack fields'
  // cache line, a miss per value on the keyed path.)
  if ((total_ < capacity_ && ring_cap_ <= total_) ||
      (!small() && stack_cap_ == 0 && total_ + 1 >= block_)) {
    EnsureRing(total_ + 1, scope);
  }
  double& slot = ring_[head_];
  if (small()) {
    slot = x;
    ++total_;
    if (++head_ == capacity_) head_ = 0;
    return;
  }
  if (sketched_) {
    sketch_.Add(x, map);
    if (total_ >= capacity_) sketch_.Remove(slot, map);
  }
  slot = x;
  open_.Add(x);
  ++total_;
  if (++head_ == capacity_) head_ = 0;
  if ((total_ & (block_ - 1)) == 0) CompleteBlock();
  uint64_t window_begin = total_ - size();
  while (QueueSize() > 0 && oldest_block_ * block_ < window_begin) PopOldestBlock();
}

void CountWindow::Restore(const double* x, size_t n, uint64_t total, const SketchMapping& map,
                          const MemoryScope& scope) {
  RestoreSegments(x, n, nullptr, 0, total, map, scope);
}

void CountWindow::RestoreSegments(const double* a, size_t na, const double* b, size_t nb,
                                  uint64_t total, const SketchMapping& map,
                                  const MemoryScope& scope) {
  const size_t n = na + nb;
  if (total == n) {
    Push(a, na, map, scope);
    Push(b, nb, map, scope);
    return;
  }
  // A full window: the ring is full-size; the values before it are gone.
  EnsureRing(capacity_, scope);
  total_ = total - n;
  head_ = total_ % capacity_;
  oldest_block_ = total_ / block_;
  // (Small windows never evict through the sketch; Append skips it.)
  Append(a, na, map, /*evict=*/false);
  Append(b, nb, map, /*evict=*/false);
}

int64_t CountWindow::Summarize(bool, int64_t, WindowView* view) const {
  view->moments = Summary();
  view->start = static_cast<int64_t>(window_start());
  view->end = static_cast<int64_t>(total_);
  if (small()) {
    const double *a, *b;
    size_t na, nb;
    Segments(&a, &na, &b, &nb);
    view->SetExact(a, na, b, nb);
  } else {
    view->sketches.assign(1, &sketch_);
    view->ClearExact();
  }
  return static_cast<int64_t>(total_);
}

void CountWindow::ReserveMerge(const CountWindow& from, bool, const SketchMapping& map,
                               const MemoryScope& scope) {
  const double *a, *b;
  size_t na, nb;
  from.Segments(&a, &na, &b, &nb);
  const uint64_t n = na + nb;
  // An empty window takes the source's whole ring (see Restore).
  bool whole = total_ == 0 && from.total() != n;
  Reserve(whole ? capacity_ : n, scope);
  if (!small() && sketched_) {
    if (na > 0) sketch_.Reserve(a, na, map);
    if (nb > 0) sketch_.Reserve(b, nb, map);
  }
}

uint64_t CountWindow::MergeFrom(const CountWindow& from, bool, const SketchMapping& map,
                                const MemoryScope& scope) {
  const double *a, *b;
  size_t na, nb;
  from.Segments(&a, &na, &b, &nb);
  if (na + nb > 0) {
    if (total_ == 0) {
      RestoreSegments(a, na, b, nb, from.total(), map, scope);
    } else {
      Push(a, na, map, scope);  // the source's values arrive after ours
      Push(b, nb, map, scope);
    }
  }
  reserved_ = 0;
  sketch_.ClearPending();
  return 0;
}

void CountWindow::Append(const double* x, size_t n, const SketchMapping& map, bool evict) {
  Sketch* sketch = live_sketch();
  if (small()) {
    // Only the newest N of the batch can stay; older ones pass through.
    if (n > capacity_) {
      total_ += n - capacity_;
      head_ = total_ % capacity_;
      x += n - capacity_;
      n = capacity_;
    }
    while (n > 0) {
      size_t len = static_cast<size_t>(std::min<uint64_t>(n, capacity_ - head_));
      std::memcpy(ring_ + head_, x, len * sizeof(double));
      total_ += len;
      head_ += len;
      if (head_ == capacity_) head_ = 0;
      x += len;
      n -= len;
    }
    return;
  }
  while (n > 0) {
    uint64_t in_block = block_ - (total_ & (block_ - 1));
    size_t len = static_cast<size_t>(std::min<uint64_t>({n, in_block, capacity_ - head_}));
    double* slot = ring_ + head_;
    if (sketch != nullptr) {
      if (evict && total_ >= capacity_) sketch->RemoveSpan(slot, len, map);
      sketch->AddSpan(x, len, map);
    }
    std::memcpy(slot, x, len * sizeof(double));
    if (len == 1) {
      open_.Add(x[0]);
    } else {
      open_.Merge(SummarizeSpan(x, len));
    }
    total_ += len;
    head_ += len;
    if (head_ == capacity_) head_ = 0;
    if ((total_ & (block_ - 1)) == 0) CompleteBlock();
    // Drop blocks the window's start has cut into; they are rescanned.
    uint64_t window_begin = total_ - size();
    while (QueueSize() > 0 && oldest_block_ * block_ < window_begin) PopOldestBlock();
    x += len;
    n -= len;
  }
}

void CountWindow::Segments(const double** a, size_t* na, const double** b, size_t* nb) const {
  uint64_t n = size();
  uint64_t start = (total_ - n) % capacity_;
  *a = ring_ + start;
  *na = static_cast<size_t>(std::min(n, capacity_ - start));
  *b = ring_;
  *nb = static_cast<size_t>(n - *na);
}

Moments CountWindow::Summary() const {
  Moments m;
  if (small()) {
    const double *a, *b;
    size_t na, nb;
    Segments(&a, &na, &b, &nb);
    m = SummarizeSpan(a, na);
    if (nb) m.Merge(SummarizeSpan(b, nb));
    return m;
  }
  uint64_t begin = total_ - size();
  uint64_t open_begin = total_ & ~static_cast<uint64_t>(block_ - 1);
  uint64_t queued_begin = QueueSize() > 0 ? oldest_block_ * block_ : open_begin;
  // Rescan [begin, queued_begin): part of one block, at most two ring pieces.
  if (queued_begin > begin) {
    uint64_t pos = begin % capacity_;
    uint64_t len = queued_begin - begin;
    uint64_t first = std::min(len, capacity_ - pos);
    m.Merge(SummarizeSpan(ring_ + pos, static_cast<size_t>(first)));
    if (len > first) m.Merge(SummarizeSpan(ring_, static_cast<size_t>(len - first)));
  }
  if (front_n_ > 0) m.Merge(front_[front_n_ - 1]);
  m.Merge(back_agg_);
  m.Merge(open_);
  return m;
}

// ---- Serialized form ---------------------------------------------------------

void CountWindow::Write(WireSink& s) const {
  s.U64(total());
  s.U64(size());
  const double *a, *b;
  size_t na, nb;
  Segments(&a, &na, &b, &nb);
  for (size_t i = 0; i < na; ++i) s.F64(a[i]);
  for (size_t i = 0; i < nb; ++i) s.F64(b[i]);
}

CountWindow::StoredView CountWindow::Validate(WireSource& in, uint64_t capacity) {
  StoredView v;
  v.total = in.U64("count window total");
  v.n = in.U64("count window size");
  if (v.n != std::min(v.total, capacity)) {
    Fail(Status::kCorrupt, "count window holds %u values of %u (capacity %u)", v.n, v.total,
         capacity);
  }
  if (v.n > in.remaining() / 8) {
    Fail(Status::kCorrupt, "count window declares %u values, more than the input holds", v.n);
  }
  v.values = in.Bytes(v.n * 8, "count window values");
  WireSource vals(v.values, v.n * 8);
  for (uint64_t i = 0; i < v.n; ++i) vals.Finite("count window value");
  return v;
}

void CountWindow::Load(const StoredView& v, const SketchMapping& map, const MemoryScope& scope) {
  ScratchVector<double> values(v.n);
  WireSource vals(v.values, v.n * 8);
  for (uint64_t i = 0; i < v.n; ++i) values[i] = vals.F64("count window value");
  Restore(values.data(), v.n, v.total, map, scope);
}

}  // namespace windowagg::internal
