// The last N values of a series, exactly.
//
// Values live in a ring. Aggregates are kept per block of B consecutive
// values (B a power of two <= N): complete blocks inside the window sit in a
// Two-Stacks queue (amortized O(1) per block, no subtraction, so sums never
// drift and min/max never rescan the window); the open block is aggregated
// as values arrive; the one block the window's start cuts through is
// rescanned at query time (< B values). Per value, ingest is a copy and a
// vectorized block summary; queries cost O(B).
//
// Small windows (N <= kSmallWindow) keep only the ring: aggregates and
// exact quantiles are computed from it at read time (reads happen per
// batch, not per value), so a series of a keyed handle costs its ring and
// one cache line per value pushed, instead of blocks and a sketch.
#ifndef WINDOWAGG_CORE_COUNT_WINDOW_H_
#define WINDOWAGG_CORE_COUNT_WINDOW_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/memory.h"
#include "core/moments.h"
#include "core/sketch.h"

namespace windowagg::internal {

class WireSink;
class WireSource;

class CountWindow {
 public:
  static constexpr uint64_t kSmallWindow = 1024;

  explicit CountWindow(uint64_t capacity);
  CountWindow(const CountWindow&) = delete;
  CountWindow& operator=(const CountWindow&) = delete;

  // Must be called before destruction with the scope that allocated.
  void Free(const MemoryScope& scope) noexcept;

  // Appends values; `sketch` (may be null) is kept equal to the window's
  // values. Grows the ring before changing anything.
  void Push(const double* x, size_t n, Sketch* sketch, const SketchMapping& map,
            const MemoryScope& scope);

  // Grows the ring (and block stacks) for `more` values on top of what the
  // current call reserved before, so pushing them allocates nothing but the
  // sketch's share (Sketch::Reserve). EndReservation when the call is done.
  void Reserve(uint64_t more, const MemoryScope& scope) {
    uint64_t pending = reserved_ + more;
    uint64_t needed = std::min(total_ + pending, capacity_);
    if (needed > ring_cap_ || (!small() && stack_cap_ == 0 && needed >= block_)) {
      EnsureRing(needed, scope);
    }
    reserved_ = static_cast<uint32_t>(std::min<uint64_t>(pending, UINT32_MAX));
  }
  void EndReservation() { reserved_ = 0; }

  // Where the next value goes (for prefetching ahead of a push).
  const double* next_slot() const { return ring_ + head_; }

  // One value: the keyed path, where batches scatter over many series.
  void PushOne(double x, Sketch* sketch, const SketchMapping& map, const MemoryScope& scope);

  // Rebuilds a window that holds x[0..n) as its newest values after `total`
  // values in all (n == min(total, capacity)); for restoring saved state.
  void Restore(const double* x, size_t n, uint64_t total, Sketch* sketch,
               const SketchMapping& map, const MemoryScope& scope);

  Moments Summary() const;
  uint64_t capacity() const { return capacity_; }
  bool small() const { return capacity_ <= kSmallWindow; }
  uint64_t total() const { return total_; }
  uint64_t size() const { return total_ < capacity_ ? total_ : capacity_; }
  uint64_t window_start() const { return total_ - size(); }

  // Values in the window, oldest first, as up to two ring segments.
  void Segments(const double** a, size_t* na, const double** b, size_t* nb) const;

  // ---- Serialized form (end of count_window.cc) -----------------------------
  //   u64 total (values pushed in all) | u64 n = min(total, capacity) |
  //   f64 values[n], oldest first
  struct StoredView {
    uint64_t total = 0;
    uint64_t n = 0;
    const uint8_t* values = nullptr;  // n little-endian doubles, in the input
  };
  void Write(WireSink& s) const;
  // Reads and validates a stored window of this capacity (allocates
  // nothing); throws Error(kCorrupt) naming the field.
  static StoredView Validate(WireSource& in, uint64_t capacity);
  // Rebuilds an empty window from a validated view (Restore; `sketch` as
  // for Push). Allocates.
  void Load(const StoredView& v, Sketch* sketch, const SketchMapping& map,
            const MemoryScope& scope);

 private:
  void EnsureRing(uint64_t needed, const MemoryScope& scope);
  // evict = false only while restoring: ring slots hold no live values yet.
  void Append(const double* x, size_t n, Sketch* sketch, const SketchMapping& map, bool evict);
  void CompleteBlock();
  void PopOldestBlock();
  uint64_t QueueSize() const { return front_n_ + back_n_; }

  uint64_t capacity_;
  uint32_t block_;  // values per block, power of two
  uint32_t reserved_ = 0;  // values the current call reserved room for
  uint64_t total_ = 0;
  uint64_t head_ = 0;  // ring position of the next value (total_ mod capacity_)
  double* ring_ = nullptr;
  uint64_t ring_cap_ = 0;

  Moments open_;  // the block being filled
  // Two-Stacks over complete blocks, oldest first. front_[k] aggregates
  // front blocks 0..k where index front_n_-1 is the oldest.
  Moments* front_ = nullptr;
  Moments* back_ = nullptr;  // raw blocks, back_[0] oldest
  uint32_t front_n_ = 0;
  uint32_t back_n_ = 0;
  uint32_t stack_cap_ = 0;
  Moments back_agg_;
  uint64_t oldest_block_ = 0;  // block number of the oldest queued block
};

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_COUNT_WINDOW_H_
