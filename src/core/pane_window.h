// Time windows of one series over panes of event time.
//
// SLIDING keeps the panes of the last D; TUMBLING and HOPPING keep every pane
// some still-open window contains and emit windows as the watermark closes
// them. Only non-empty panes are stored, sorted by pane number, so a quiet
// series costs little.
//
// Two forms, one at a time:
//   - compact (quantile handles, while the series holds at most
//     geometry.compact_values values and kCompactPaneValues a pane on
//     average): every pane's values raw in two rings (RawPanes), 8 bytes
//     a value and 12 a pane; a read summarizes the window pane by pane
//     and answers exact quantiles;
//   - panes: a Pane (index, moments, sketch) per pane. A pane's sketch
//     keeps its values raw while they take no more bytes than buckets
//     would (Sketch); it turns into buckets in the reservation of the push
//     that makes buckets smaller, never in a commit. A quantile read walks
//     the union of the window's pane sketches (Sketch::Quantiles: exact
//     order statistics when every pane is raw, raw values merged into the
//     buckets otherwise): keeping a running window sketch instead would
//     cost an update per pane change on the write path and a dense store
//     per series.
// A compact window turns into panes in the first reservation of a call
// that would pass a bound (so a call's reservations are all of one form),
// and in any merge that brings values; a window in panes turns compact
// again once its panes are all gone. Restored windows start in panes.
// Pane moments are always those of the pane's values summarized at once
// (compact: at read or write; panes: made from compact or stored), so a
// read, a restored copy and a merge of either agree bit for bit, and both
// forms write the same bytes for the same values.
#ifndef WINDOWAGG_CORE_PANE_WINDOW_H_
#define WINDOWAGG_CORE_PANE_WINDOW_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "core/memory.h"
#include "core/moments.h"
#include "core/raw_panes.h"
#include "core/sketch.h"
#include "core/time_math.h"
#include "core/window_view.h"

namespace windowagg::internal {
class WireSink;
class WireSource;
}

namespace windowagg::internal {

// What a time-window handle's configuration fixes for all its series.
struct PaneGeometry {
  bool sliding = false;
  int64_t pane = 1;          // pane width (SLIDING: pane_width; else slide)
  int64_t width = 1;         // window width D
  int64_t lateness = 0;
  int64_t panes_per_window = 1;  // D / pane
  bool quantiles = false;    // panes keep sketches
  // Up to this many values a series keeps its panes compact (RawPanes);
  // 0: never (handles without quantiles keep moments only).
  uint32_t compact_values = 0;
  double alpha = 0.01;  // the handle's sketch accuracy (compact panes write buckets)
};

struct Pane {
  int64_t index;
  Moments moments;
  Sketch sketch;
};

class PaneWindow {
 public:
  // Runs of a series' values are split by pane of event time (window.h).
  static constexpr bool kTimed = true;

  // The kinds of handle it serves (window.h picks the kind by this).
  static bool Serves(WindowKind kind) {
    return kind == WindowKind::kSliding || kind == WindowKind::kTumbling ||
           kind == WindowKind::kHopping;
  }
  // TUMBLING and HOPPING windows close into the handle's queue; SLIDING
  // panes slide out.
  static bool Emits(const WindowShape& shape) { return !shape.geometry->sliding; }
  // The geometry of a handle with configuration c (validated); the default
  // one for a kind this class does not serve.
  static PaneGeometry GeometryFor(const Config& c);

  // Compact windows hold up to this many values by default (16 KiB of
  // values: past that, buckets are smaller for most data) ...
  static constexpr uint32_t kCompactValues = 2048;
  // ... and this many a pane on average: a pane of more values is smaller
  // as a sketch (which keeps them raw itself while that is smaller), as
  // in a tumbling window of one wide pane.
  static constexpr uint32_t kCompactPaneValues = 256;

  PaneWindow(const PaneGeometry* geometry, const MemoryScope* scope);
  PaneWindow(const WindowShape& shape, const MemoryScope* scope)
      : PaneWindow(shape.geometry, scope) {}
  PaneWindow(const PaneWindow&) = delete;
  PaneWindow& operator=(const PaneWindow&) = delete;
  ~PaneWindow() { raw_.Free(*scope_); }
  void Free(const MemoryScope&) noexcept { raw_.Free(*scope_); }  // (panes free themselves)

  // ---- The operations every window kind has (window.h) ----
  // Reserves room for a run of n values with times t (null: arrival clock)
  // that all fall into pane `pane`: false (nothing reserved) if that pane is
  // closed. AddRun of the run then allocates nothing.
  bool ReserveRun(const double* x, const int64_t* t, size_t n, int64_t pane,
                  const SketchMapping& map, const MemoryScope& scope) {
    (void)t;
    (void)scope;
    if (!PaneOpen(pane)) return false;
    if (compact()) {
      // (A call's runs all reserve in the form its first one found.)
      if (raw_.pending() || FitsCompact(raw_.value_count() + uint64_t{n}, raw_.pane_count() + 1)) {
        raw_.Reserve(pane, n, *scope_);
        return true;
      }
      ToPanes(map);
    }
    Sketch& sketch = ReservePane(pane).sketch;
    if (geo_->quantiles) {
      if (n == 1) {
        sketch.ReserveOne(x[0], map);
      } else {
        sketch.Reserve(x, n, map);
      }
    }
    return true;
  }
  // Adds a reserved run; false (nothing added: the values are late) if its
  // pane closed.
  bool AddRun(const double* x, const int64_t* t, size_t n, int64_t pane,
              const SketchMapping& map, const MemoryScope& scope) {
    (void)scope;
    if (!PaneOpen(pane)) return false;
    if (compact()) {
      raw_.Add(pane, x, n);
      return true;
    }
    if (n == 1 && t != nullptr) {
      Add(x[0], t[0], geo_->quantiles, map);
    } else {
      AddRun(x, n, pane, geo_->quantiles, map);
    }
    return true;
  }
  // (UndoReservations below.) The reservations of a push are used up by the
  // adds (each clears its pane's; compact: here).
  void EndReservation() noexcept { raw_.ClearPending(*scope_); }
  // The newest pane of the series (values mostly land in it), into cache.
  // (Compact: a reservation reads only the window itself.)
  void Prefetch() const noexcept {
    if (!panes_.empty()) __builtin_prefetch(&panes_.back(), 1);
  }
  // The window reads describe at watermark wm (after Advance(wm)); an empty
  // one before any watermark. Returns the read's watermark field.
  int64_t Summarize(bool wm_set, int64_t wm, WindowView* view) const {
    if (!wm_set) {
      view->moments = Moments();
      view->sketches.clear();
      view->ClearExact();
      view->start = view->end = 0;
      return kTimeMin;
    }
    Current(wm, view);
    return wm;
  }
  // The first window with data not closed yet (nullopt: none).
  std::optional<Wide> FirstOpenWindow() const;
  // Merge of `from` (same geometry): its panes some window of which this
  // one has closed are refused (unless `fresh`: this window was created by
  // the merge and takes `from`'s closed bound). ReserveMerge makes
  // MergeFrom allocation-free; MergeFrom returns the values it refused.
  void ReserveMerge(const PaneWindow& from, bool fresh, const SketchMapping& map,
                    const MemoryScope& scope);
  uint64_t MergeFrom(const PaneWindow& from, bool fresh, const SketchMapping& map,
                     const MemoryScope& scope);

  // ---- Pane-window specifics ----
  // Adds one value with event time t. False if every window it could belong
  // to is already closed or slid past (the caller counts it late).
  bool Add(double x, int64_t t, bool quantiles, const SketchMapping& map);
  // Adds values that all fall into pane `pane_index` (not yet closed).
  void AddRun(const double* x, size_t n, int64_t pane_index, bool quantiles,
              const SketchMapping& map);
  // True if pane `pane_index` can still receive values: every window it
  // belongs to is open (TUMBLING/HOPPING), it is in the window (SLIDING).
  bool PaneOpen(int64_t pane_index) const;

  // Two-phase ingest: a push first creates (empty) every pane its values
  // need and reserves their sketches; Add/AddRun then allocate nothing. A
  // push that fails before applying drops the empty panes again. (Creating
  // a pane may move others; what a reservation made moves with them.)
  Pane& ReservePane(int64_t pane_index) { return PaneFor(pane_index); }
  Pane& PaneAt(int64_t pane_index);  // the pane must exist
  void UndoReservations() noexcept;

  // Moves to watermark wm: slides or closes windows, calling `emit` for each
  // closed TUMBLING/HOPPING window that holds values, oldest first. `emit`
  // may throw: the windows before it stay closed and emitted, that one and
  // the later ones stay open (the state is whole either way).
  void Advance(int64_t wm, absl::FunctionRef<void(const WindowView&)> emit);
  // The windows Advance(wm) would emit, changing nothing (TUMBLING/HOPPING).
  void Closing(int64_t wm, absl::FunctionRef<void(const WindowView&)> visit) const;

  // The window reads describe at watermark wm (the series advanced to wm).
  void Current(int64_t wm, WindowView* view) const;

  // No values stored, in either form.
  bool empty() const { return pane_count() == 0 && raw_.empty(); }
  // Compact form: the values are in raw_ (panes() is empty).
  bool compact() const { return geo_->compact_values != 0 && panes_.empty(); }
  const RawPanes& raw_panes() const { return raw_; }
  size_t pane_count() const { return panes_.size() - head_; }
  // The stored panes (panes form), sorted by index.
  std::span<const Pane> panes() const {
    return {panes_.data() + head_, panes_.size() - head_};
  }
  // The closed bound as stored (format v1: an int64). It saturates at
  // INT64_MAX when the window numbered INT64_MAX is closed too (watermark
  // INT64_MAX with 1-wide panes); the next Advance re-derives that from the
  // watermark, and PaneOpen uses the exact bound.
  int64_t closed_below() const { return Saturate(closed_below_); }
  // Restore (Load) and merge rebuild state through these. Appends a pane
  // above every stored one.
  Pane& AppendRestored(Pane&& p);
  void set_closed_below(int64_t v) {
    closed_below_ = v;
    quiet_until_ = std::numeric_limits<int64_t>::min();
  }

  // ---- Serialized form (end of pane_window.cc) ------------------------------
  //   i64 closed_below | u32 pane count |
  //   per pane, by increasing index: i64 index | moments | sketch
  struct StoredView {
    int64_t closed_below = 0;
    uint32_t npanes = 0;
    const uint8_t* panes = nullptr;  // the panes' bytes, in the input
    size_t bytes = 0;
    uint64_t held = 0;  // values in all panes
  };
  void Write(WireSink& s) const;
  // Reads and validates stored panes of a handle with this geometry whose
  // watermark is *watermark (null: none), allocating nothing: indexes
  // strictly increasing, none closed or past the watermark, moments
  // possible, sketches matching them (quantiles) or empty. Throws
  // Error(kCorrupt) naming the field.
  static StoredView Validate(WireSource& in, const PaneGeometry& geometry, bool quantiles,
                             const SketchMapping& map, const int64_t* watermark);
  // (The form window.h calls: the shape's geometry.)
  static StoredView Validate(WireSource& in, const WindowShape& shape, const SketchMapping& map,
                             const int64_t* watermark) {
    return Validate(in, *shape.geometry, shape.quantiles, map, watermark);
  }
  // Values the stored panes hold (their series' total is at least that).
  static uint64_t Held(const StoredView& v) { return v.held; }
  // Rebuilds an empty window from a validated view (allocates; its panes
  // are charged to the window's scope).
  void Load(const StoredView& v, const SketchMapping& map);
  void Load(const StoredView& v, const SketchMapping& map, const MemoryScope&) { Load(v, map); }

 private:
  Pane& PaneFor(int64_t index);
  // Whether `values` values over `panes` panes stay compact.
  bool FitsCompact(uint64_t values, uint64_t panes) const {
    return values <= geo_->compact_values && values <= kCompactPaneValues * panes;
  }
  // Compact to panes (reservation time, nothing pending): each pane's
  // moments and sketch from its values. Unchanged if it throws.
  void ToPanes(const SketchMapping& map);
  // Stored panes (either form) at or above `index`: position of the first.
  size_t FirstAtOrAbove(Wide index) const;
  size_t stored_count() const { return compact() ? raw_.pane_count() : pane_count(); }
  Wide stored_index(size_t k) const {
    return compact() ? raw_.index(static_cast<uint32_t>(k)) : live(k).index;
  }
  // The window of stored panes [k, m) into view (moments, quantile source).
  void Describe(size_t k, size_t m, WindowView* view) const;
  // Windows up to this number close at watermark wm.
  Wide LastClosing(int64_t wm) const;
  template <class F>
  void WalkClosing(Wide jmax, F&& visit) const;  // visit(view, window number)
  void CloseThrough(Wide j);
  Pane& live(size_t k) { return panes_[head_ + k]; }
  const Pane& live(size_t k) const { return panes_[head_ + k]; }
  void PopFront() noexcept;
  // Room for one more pane (may allocate; moves panes).
  void MakeRoom();

  // (Order: what a keyed push reads and writes of a compact window comes
  // first, in the object's first 104 bytes: two cache lines of the series;
  // see Series.)
  // Panes below this number never receive values again (slid out, or every
  // window containing them closed). Wide: after window INT64_MAX closes it
  // is INT64_MAX + 1, so pane INT64_MAX is closed as well (an int64 bound
  // saturating at INT64_MAX left that pane open: a value there after
  // watermark INT64_MAX was accepted and never emitted).
  Wide closed_below_ = std::numeric_limits<int64_t>::min();
  // Advance is a no-op below this watermark (nothing slides or closes);
  // lets the per-push catch-up of every touched series skip the division.
  Wide quiet_until_ = std::numeric_limits<int64_t>::min();
  const PaneGeometry* geo_;
  RawPanes raw_;  // the compact form (empty in the panes form)
  // panes_[head_..] are the stored panes; the ones below head_ slid out
  // (emptied, their memory freed) and are dropped when room is needed. A
  // vector sized to the panes, not a deque: a deque's 512-byte blocks and
  // block map cost a quiet series more than its panes. Empty exactly when
  // no pane is stored (PopFront and UndoReservations clear it).
  std::vector<Pane, ScopeAllocator<Pane>> panes_;
  size_t head_ = 0;
  const MemoryScope* scope_;
};

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_PANE_WINDOW_H_
