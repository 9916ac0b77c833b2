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
//
// The window owns its sketch (bucket form, kept equal to the window's
// values) and decides itself when it is used: with quantiles, for windows
// that are not small.
#ifndef WINDOWAGG_CORE_COUNT_WINDOW_H_
#define WINDOWAGG_CORE_COUNT_WINDOW_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/functional/function_ref.h"
#include "core/memory.h"
#include "core/moments.h"
#include "core/sketch.h"
#include "core/time_math.h"
#include "core/window_view.h"

namespace windowagg::internal {

class WireSink;
class WireSource;

class CountWindow {
 public:
  static constexpr uint64_t kSmallWindow = 1024;
  // Runs of a series' values are not split by event time (window.h).
  static constexpr bool kTimed = false;

  // The kind of handle it serves (window.h picks the kind by this).
  static bool Serves(WindowKind kind) { return kind == WindowKind::kCount; }
  // It never closes: nothing goes to the handle's queue.
  static bool Emits(const WindowShape&) { return false; }

  // `scope` (kept by the sketch) must outlive the window; with `quantiles`
  // a window that is not small keeps its sketch.
  CountWindow(uint64_t capacity, const MemoryScope* scope, bool quantiles);
  CountWindow(const WindowShape& shape, const MemoryScope* scope)
      : CountWindow(shape.count_capacity, scope, shape.quantiles) {}
  CountWindow(const CountWindow&) = delete;
  CountWindow& operator=(const CountWindow&) = delete;

  // Must be called before destruction with the scope that allocated.
  void Free(const MemoryScope& scope) noexcept;

  // ---- The operations every window kind has (window.h) ----
  // Reserves room for a run of n values (times t and `pane` are ignored:
  // every value is taken), so AddRun of them allocates nothing. Runs of one
  // call add up. Always true.
  bool ReserveRun(const double* x, const int64_t* t, size_t n, int64_t pane,
                  const SketchMapping& map, const MemoryScope& scope) {
    (void)t;
    (void)pane;
    Reserve(n, scope);
    // The commit pass writes there: have it in cache by then.
    __builtin_prefetch(next_slot(), 1);
    // (small() first: a small window never reads its sketch's cache line.)
    if (!small() && sketched_) {
      if (n == 1) {
        sketch_.ReserveOne(x[0], map);
      } else {
        sketch_.Reserve(x, n, map);
      }
    }
    return true;
  }
  // Appends a reserved run. Always true (a count window takes every value).
  bool AddRun(const double* x, const int64_t* t, size_t n, int64_t pane,
              const SketchMapping& map, const MemoryScope& scope) {
    (void)t;
    (void)pane;
    if (n == 1) {
      PushOne(x[0], map, scope);
    } else {
      Push(x, n, map, scope);
    }
    return true;
  }
  // Drops what the call reserved (its sketch room; the ring keeps its size).
  void UndoReservations() noexcept {
    reserved_ = 0;
    if (!small() && sketched_) sketch_.UndoReservations();
  }
  // The call is done: its reservations are used or no longer needed.
  void EndReservation() noexcept {
    reserved_ = 0;
    if (!small() && sketched_) sketch_.ClearPending();
  }
  // Nothing to warm ahead of a run: ReserveRun prefetches the slot it fills.
  void Prefetch() const noexcept {}
  // The window a read describes (every value held; the watermark is not
  // needed): its bounds are value counts. Returns the read's watermark
  // field, the values seen.
  int64_t Summarize(bool wm_set, int64_t wm, WindowView* view) const;
  // A count window never closes: nothing is due, nothing to emit.
  void Advance(int64_t, absl::FunctionRef<void(const WindowView&)>) {}
  void Closing(int64_t, absl::FunctionRef<void(const WindowView&)>) const {}
  std::optional<Wide> FirstOpenWindow() const { return std::nullopt; }
  // Merge of `from` (a window of the same capacity) after ours: the source's
  // values arrive after ours; an empty window takes the source's whole ring.
  // ReserveMerge makes MergeFrom allocation-free; MergeFrom ends the
  // reservation and returns the values it refused (none).
  void ReserveMerge(const CountWindow& from, bool fresh, const SketchMapping& map,
                    const MemoryScope& scope);
  uint64_t MergeFrom(const CountWindow& from, bool fresh, const SketchMapping& map,
                     const MemoryScope& scope);

  // ---- Count-window specifics ----
  // Appends values, keeping the sketch equal to the window's values. Grows
  // the ring before changing anything.
  void Push(const double* x, size_t n, const SketchMapping& map, const MemoryScope& scope);

  // Grows the ring (and block stacks) for `more` values on top of what the
  // current call reserved before, so pushing them allocates nothing but the
  // sketch's share (ReserveRun reserves both). EndReservation when the call
  // is done.
  void Reserve(uint64_t more, const MemoryScope& scope) {
    uint64_t pending = reserved_ + more;
    uint64_t needed = std::min(total_ + pending, capacity_);
    if (needed > ring_cap_ || (!small() && stack_cap_ == 0 && needed >= block_)) {
      EnsureRing(needed, scope);
    }
    reserved_ = static_cast<uint32_t>(std::min<uint64_t>(pending, UINT32_MAX));
  }

  // Where the next value goes (for prefetching ahead of a push).
  const double* next_slot() const { return ring_ + head_; }

  // One value: the keyed path, where batches scatter over many series.
  void PushOne(double x, const SketchMapping& map, const MemoryScope& scope);

  // Rebuilds a window that holds x[0..n) as its newest values after `total`
  // values in all (n == min(total, capacity)); for restoring saved state.
  void Restore(const double* x, size_t n, uint64_t total, const SketchMapping& map,
               const MemoryScope& scope);

  Moments Summary() const;
  uint64_t capacity() const { return capacity_; }
  bool small() const { return capacity_ <= kSmallWindow; }
  uint64_t total() const { return total_; }
  uint64_t size() const { return total_ < capacity_ ? total_ : capacity_; }
  uint64_t window_start() const { return total_ - size(); }
  // The sketch of the window's values, or null when the window keeps none
  // (no quantiles, or a small window: exact quantiles from the values).
  const Sketch* sketch() const { return !small() && sketched_ ? &sketch_ : nullptr; }

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
  // (The form window.h calls: the shape's capacity.)
  static StoredView Validate(WireSource& in, const WindowShape& shape, const SketchMapping&,
                             const int64_t* /*watermark*/) {
    return Validate(in, shape.count_capacity);
  }
  // Values the stored window has taken in all (its series' total is at
  // least that).
  static uint64_t Held(const StoredView& v) { return v.total; }
  // Rebuilds an empty window from a validated view (Restore; the window's
  // own sketch, if it keeps one, is rebuilt from the values). Allocates.
  void Load(const StoredView& v, const SketchMapping& map, const MemoryScope& scope);

 private:
  void EnsureRing(uint64_t needed, const MemoryScope& scope);
  // evict = false only while restoring: ring slots hold no live values yet.
  void Append(const double* x, size_t n, const SketchMapping& map, bool evict);
  // Restore of x[0..na) then b[0..nb) as one run of values.
  void RestoreSegments(const double* a, size_t na, const double* b, size_t nb, uint64_t total,
                       const SketchMapping& map, const MemoryScope& scope);
  Sketch* live_sketch() { return !small() && sketched_ ? &sketch_ : nullptr; }
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
  bool sketched_;  // quantiles were asked for (used when not small())
  Moments back_agg_;
  uint64_t oldest_block_ = 0;  // block number of the oldest queued block
  Sketch sketch_;  // the window's values (bucket form), if sketch() says so
};

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_COUNT_WINDOW_H_
