#include "core/pane_window.h"

#include <algorithm>
#include <string>
#include <type_traits>

#include "absl/strings/str_format.h"
#include "core/error.h"
#include "core/wire.h"

namespace windowagg::internal {

PaneWindow::PaneWindow(const PaneGeometry* geometry, const MemoryScope* scope)
    : geo_(geometry), panes_(ScopeAllocator<Pane>(scope)), scope_(scope) {}

static_assert(std::is_nothrow_move_constructible_v<Pane>,
              "vector growth moves panes: it must not throw halfway");

PaneGeometry PaneWindow::GeometryFor(const Config& c) {
  PaneGeometry g;
  if (!Serves(c.kind)) return g;
  g.sliding = c.kind == WindowKind::kSliding;
  g.pane = g.sliding ? c.pane_width : c.slide;
  g.width = c.window_size;
  g.lateness = c.allowed_lateness;
  g.panes_per_window = c.window_size / g.pane;
  g.quantiles = c.quantiles;
  g.compact_values = c.quantiles ? kCompactValues : 0;
  g.alpha = c.relative_accuracy;
  return g;
}

bool PaneWindow::PaneOpen(int64_t pane_index) const {
  // SLIDING: the pane is still in the window. TUMBLING/HOPPING: every window
  // containing the pane (numbers pane_index - r + 1 .. pane_index) is still
  // open, so a value lands in all of its windows or is late, never in some
  // only. (A push checks lateness against the watermark it read first; a
  // concurrent advance or push can close windows before it locks the series.)
  if (geo_->sliding) return Wide(pane_index) >= closed_below_;
  return Wide(pane_index) - geo_->panes_per_window + 1 >= closed_below_;
}

void PaneWindow::MakeRoom() {
  if (panes_.size() < panes_.capacity()) return;
  if (head_ > 0 && head_ >= pane_count() / 4) {
    // Drop the slid-out panes instead of growing (amortized: at least a
    // quarter of the moves were pops).
    panes_.erase(panes_.begin(), panes_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
    return;
  }
  const size_t cap = panes_.capacity();
  panes_.reserve(std::max<size_t>(cap + cap / 2, 2));
}

void PaneWindow::ToPanes(const SketchMapping& map) {
  std::vector<Pane, ScopeAllocator<Pane>> panes{ScopeAllocator<Pane>(scope_)};
  panes.reserve(raw_.pane_count());
  raw_.ForEachPane(0, raw_.pane_count(), [&](uint32_t, int64_t index, std::span<const double> v) {
    panes.push_back(Pane{index, SummarizeSpan(v.data(), v.size()), Sketch(scope_)});
    Sketch& sketch = panes.back().sketch;
    sketch.Reserve(v.data(), v.size(), map);
    sketch.AddSpan(v.data(), v.size(), map);
    sketch.ClearPending();
  });
  panes_.swap(panes);  // (panes_ held slid-out slots only: they go with `panes`)
  head_ = 0;
  raw_.Free(*scope_);
}

size_t PaneWindow::FirstAtOrAbove(Wide index) const {
  if (index <= std::numeric_limits<int64_t>::min()) return 0;
  if (index > std::numeric_limits<int64_t>::max()) return stored_count();
  const auto i = static_cast<int64_t>(index);
  if (compact()) return raw_.LowerBound(i);
  auto first = panes_.begin() + static_cast<ptrdiff_t>(head_);
  return static_cast<size_t>(
      std::lower_bound(first, panes_.end(), i, [](const Pane& p, int64_t v) { return p.index < v; }) -
      first);
}

void PaneWindow::Describe(size_t k, size_t m, WindowView* view) const {
  if (compact()) {
    const auto k32 = static_cast<uint32_t>(k), m32 = static_cast<uint32_t>(m);
    // Pane by pane, merged in order: the moments the panes form (and a
    // restored copy of this window) gives, bit for bit.
    view->moments = Moments();
    raw_.ForEachPane(k32, m32, [&](uint32_t, int64_t, std::span<const double> v) {
      view->moments.Merge(SummarizeSpan(v.data(), v.size()));
    });
    // (The values sit in chunks: the view gets them in one piece.)
    view->exact_values.clear();
    raw_.CopyValues(k32, m32, &view->exact_values);
    view->SetExact(view->exact_values.data(), view->exact_values.size());
    return;
  }
  view->moments = Moments();
  view->sketches.clear();
  view->ClearExact();
  for (; k < m; ++k) {
    view->moments.Merge(live(k).moments);
    view->sketches.push_back(&live(k).sketch);
  }
}

void PaneWindow::PopFront() noexcept {
  panes_[head_].sketch = Sketch();  // frees its values now
  ++head_;
  if (head_ == panes_.size()) {
    // The last pane went: so does the vector (a quiet series holds nothing,
    // and its next values go to the compact form).
    decltype(panes_)(panes_.get_allocator()).swap(panes_);
    head_ = 0;
  }
}

Pane& PaneWindow::PaneFor(int64_t index) {
  if (pane_count() == 0 || index > panes_.back().index) {
    MakeRoom();
    panes_.push_back(Pane{index, Moments(), Sketch(scope_)});
    return panes_.back();
  }
  if (index == panes_.back().index) return panes_.back();
  auto first = panes_.begin() + static_cast<ptrdiff_t>(head_);
  auto it = std::lower_bound(first, panes_.end(), index,
                             [](const Pane& p, int64_t i) { return p.index < i; });
  if (it != panes_.end() && it->index == index) return *it;
  const ptrdiff_t at = it - panes_.begin() - static_cast<ptrdiff_t>(head_);
  MakeRoom();  // may drop the slid-out panes: positions are from head_
  return *panes_.insert(panes_.begin() + static_cast<ptrdiff_t>(head_) + at,
                        Pane{index, Moments(), Sketch(scope_)});
}

Pane& PaneWindow::AppendRestored(Pane&& p) {
  MakeRoom();
  panes_.push_back(std::move(p));
  return panes_.back();
}

Pane& PaneWindow::PaneAt(int64_t index) {
  if (index == panes_.back().index) return panes_.back();
  return *std::lower_bound(panes_.begin() + static_cast<ptrdiff_t>(head_), panes_.end(), index,
                           [](const Pane& p, int64_t i) { return p.index < i; });
}

void PaneWindow::UndoReservations() noexcept {
  // Panes hold values from the moment they are created, except the ones a
  // failed push created: those are the empty ones.
  for (size_t k = panes_.size(); k-- > head_;) {
    panes_[k].sketch.UndoReservations();
    if (panes_[k].moments.count == 0) panes_.erase(panes_.begin() + static_cast<ptrdiff_t>(k));
  }
  if (head_ == panes_.size()) {
    panes_.clear();
    head_ = 0;
  }
  raw_.ClearPending(*scope_);  // (compact reservations are counts only)
}

bool PaneWindow::Add(double x, int64_t t, bool quantiles, const SketchMapping& map) {
  int64_t p = PaneOf(t, geo_->pane);
  if (!PaneOpen(p)) return false;
  Pane& pane = PaneFor(p);
  if (quantiles) {
    pane.sketch.Add(x, map);
    pane.sketch.ClearPending();  // the push's reservation is used up
  }
  pane.moments.Add(x);
  return true;
}

void PaneWindow::AddRun(const double* x, size_t n, int64_t pane_index, bool quantiles,
                        const SketchMapping& map) {
  Pane& pane = PaneFor(pane_index);
  if (quantiles) {
    pane.sketch.AddSpan(x, n, map);
    pane.sketch.ClearPending();  // the push's reservation is used up
  }
  if (n == 1) {
    pane.moments.Add(x[0]);
  } else {
    pane.moments.Merge(SummarizeSpan(x, n));
  }
}

void PaneWindow::Advance(int64_t wm, absl::FunctionRef<void(const WindowView&)> emit) {
  if (Wide(wm) < quiet_until_) return;
  if (geo_->sliding) {
    int64_t cur = PaneOf(wm, geo_->pane);
    quiet_until_ = (Wide(cur) + 1) * geo_->pane;  // the next pane boundary
    Wide lowest = Wide(cur) - geo_->panes_per_window + 1;
    if (compact()) {
      raw_.PopFront(static_cast<uint32_t>(FirstAtOrAbove(lowest)));
      if (!raw_.pending()) raw_.ClearPending(*scope_);  // frees an emptied block
    } else {
      while (pane_count() > 0 && panes_[head_].index < lowest) PopFront();
    }
    closed_below_ = std::max(closed_below_, lowest);
    return;
  }
  Wide jmax = LastClosing(wm);
  if (jmax < closed_below_) {
    quiet_until_ = std::min<Wide>(
        closed_below_ * geo_->pane + geo_->width + geo_->lateness, kTimeMax);
    return;
  }
  // Each window is closed only once emitted: if emit throws, what was
  // emitted is recorded and the rest stays open.
  Wide done = closed_below_ - 1;
  try {
    WalkClosing(jmax, [&](const WindowView& view, Wide j) {
      emit(view);
      done = j;
    });
  } catch (...) {
    CloseThrough(done);
    throw;
  }
  CloseThrough(jmax);
  // The next window, j = closed_below_, closes at its end plus lateness.
  // (Close times past INT64_MAX saturate: such windows close at INT64_MAX.)
  quiet_until_ = wm == kTimeMax
                     ? Wide(kTimeMax) + 1
                     : std::min<Wide>(closed_below_ * geo_->pane + geo_->width + geo_->lateness,
                                      kTimeMax);
}

void PaneWindow::Closing(int64_t wm, absl::FunctionRef<void(const WindowView&)> visit) const {
  if (geo_->sliding) return;
  WalkClosing(LastClosing(wm), [&](const WindowView& view, Wide) { visit(view); });
}

Wide PaneWindow::LastClosing(int64_t wm) const {
  // Window j covers panes [j, j + r) and closes once wm >= end + lateness.
  // At wm = INT64_MAX every window closes: close times saturate there.
  return wm == kTimeMax ? Wide(kTimeMax)
                        : FloorDiv(Wide(wm) - geo_->lateness - geo_->width, geo_->pane);
}

template <class F>
void PaneWindow::WalkClosing(Wide jmax, F&& visit) const {
  const Wide r = geo_->panes_per_window;
  Wide next = closed_below_;  // first window not yet closed
  WindowView view;
  const size_t count = stored_count();
  for (size_t k = 0; k < count; ++k) {
    Wide p = stored_index(k);
    Wide j = std::max(next, p - r + 1);
    for (; j <= p && j <= jmax; ++j) {
      view.start = Saturate(j * geo_->pane);
      view.end = Saturate(j * geo_->pane + geo_->width);
      size_t m = k;
      while (m < count && stored_index(m) < j + r) ++m;
      Describe(k, m, &view);
      visit(static_cast<const WindowView&>(view), j);
    }
    next = std::max(next, j);
    if (next > jmax) break;
  }
}

void PaneWindow::CloseThrough(Wide j) {
  // A pane is done once the last window containing it (number = its index) is.
  if (compact()) {
    raw_.PopFront(static_cast<uint32_t>(FirstAtOrAbove(j + 1)));
    if (!raw_.pending()) raw_.ClearPending(*scope_);  // frees an emptied block
  } else {
    while (pane_count() > 0 && Wide(panes_[head_].index) <= j) PopFront();
  }
  if (j >= closed_below_) closed_below_ = j + 1;
}

void PaneWindow::Current(int64_t wm, WindowView* view) const {
  int64_t cur = PaneOf(wm, geo_->pane);
  Wide first = Wide(cur) - geo_->panes_per_window + 1;
  view->start = Saturate(first * geo_->pane);
  view->end = PaneEnd(cur, geo_->pane);
  // (SLIDING: Advance left exactly the window's panes.)
  if (geo_->sliding) {
    Describe(0, stored_count(), view);
  } else {
    Describe(FirstAtOrAbove(first), FirstAtOrAbove(Wide(cur) + 1), view);
  }
}

std::optional<Wide> PaneWindow::FirstOpenWindow() const {
  if (empty()) return std::nullopt;
  // The first pane's earliest window not closed yet holds data.
  return std::max<Wide>(closed_below(), stored_index(0) - geo_->panes_per_window + 1);
}

void PaneWindow::ReserveMerge(const PaneWindow& from, bool fresh, const SketchMapping& map,
                              const MemoryScope&) {
  const RawPanes& fr = from.raw_;
  // A merge leaves the panes form: each pane's moments then combine as
  // they do when `from` comes as serialized bytes (whose panes restore as
  // panes), so merging a live handle or its bytes gives the same result,
  // bit for bit.
  if (compact() && !from.empty()) ToPanes(map);
  for (const Pane& p : from.panes()) {
    if (!fresh && !PaneOpen(p.index)) continue;
    Pane& into = ReservePane(p.index);
    if (geo_->quantiles) into.sketch.ReserveMerge(p.sketch);
  }
  fr.ForEachPane(0, fr.pane_count(), [&](uint32_t, int64_t index, std::span<const double> v) {
    if (fresh || PaneOpen(index)) ReservePane(index).sketch.Reserve(v.data(), v.size(), map);
  });
}

uint64_t PaneWindow::MergeFrom(const PaneWindow& from, bool fresh, const SketchMapping& map,
                               const MemoryScope&) {
  // Source panes some window of which this one has closed count as late
  // values (those windows were emitted already), as any value would.
  uint64_t refused = 0;
  const RawPanes& fr = from.raw_;
  if (compact()) {
    // Still compact after ReserveMerge: `from` was empty, or every pane of
    // it was refused (else this would hold panes now).
    for (const Pane& p : from.panes()) refused += p.moments.count;
    refused += fr.value_count();
  } else {
    for (const Pane& p : from.panes()) {
      if (!fresh && !PaneOpen(p.index)) {
        refused += p.moments.count;
        continue;
      }
      Pane& into = PaneAt(p.index);
      into.moments.Merge(p.moments);
      if (geo_->quantiles) into.sketch.MergeReserved(p.sketch);
      into.sketch.ClearPending();
    }
    fr.ForEachPane(0, fr.pane_count(), [&](uint32_t, int64_t index, std::span<const double> v) {
      if (!fresh && !PaneOpen(index)) {
        refused += v.size();
        return;
      }
      Pane& into = PaneAt(index);
      into.moments.Merge(SummarizeSpan(v.data(), v.size()));
      into.sketch.AddSpan(v.data(), v.size(), map);
      into.sketch.ClearPending();
    });
  }
  if (fresh) set_closed_below(from.closed_below());
  return refused;
}

// ---- Serialized form ---------------------------------------------------------

void PaneWindow::Write(WireSink& s) const {
  s.I64(closed_below());
  s.U32(static_cast<uint32_t>(stored_count()));
  if (compact()) {
    const SketchMapping map(geo_->alpha);
    raw_.ForEachPane(0, raw_.pane_count(), [&](uint32_t, int64_t index, std::span<const double> v) {
      s.I64(index);
      SummarizeSpan(v.data(), v.size()).Write(s);
      Sketch::WriteValues(s, v.data(), v.size(), map);
    });
    return;
  }
  for (const Pane& pane : panes()) {
    s.I64(pane.index);
    pane.moments.Write(s);
    pane.sketch.Write(s);
  }
}

PaneWindow::StoredView PaneWindow::Validate(WireSource& in, const PaneGeometry& geometry,
                                            bool quantiles, const SketchMapping& map,
                                            const int64_t* watermark) {
  StoredView v;
  v.closed_below = in.I64("closed_below");
  v.npanes = in.U32("pane count");
  // Each pane takes at least 80 bytes: bounds the count before use.
  if (v.npanes > in.remaining() / 80) {
    Fail(Status::kCorrupt, "pane count %u is larger than the input can hold", v.npanes);
  }
  const size_t start = in.position();
  v.panes = in.Bytes(0, "panes");
  int64_t prev = 0;
  for (uint32_t k = 0; k < v.npanes; ++k) {
    int64_t index = in.I64("pane index");
    if (k > 0 && index <= prev) {
      Fail(Status::kCorrupt, "pane indexes are not strictly increasing (%d after %d)", index,
           prev);
    }
    if (index < v.closed_below) {
      Fail(Status::kCorrupt, "pane %d is below the closed bound %d", index, v.closed_below);
    }
    prev = index;
    // A pane holds values no later than the watermark.
    if (watermark == nullptr || index > PaneOf(*watermark, geometry.pane)) {
      Fail(Status::kCorrupt, "pane %d holds values after the watermark (%s)", index,
           watermark != nullptr ? absl::StrFormat("%d", *watermark) : std::string("none"));
    }
    Moments m = Moments::Read(in, "pane moments");  // never empty (see UndoReservations)
    if (__builtin_add_overflow(v.held, m.count, &v.held)) {
      Fail(Status::kCorrupt, "pane %d: value counts overflow", index);
    }
    SketchView sv = Sketch::Validate(in, map, "pane sketch");
    if (quantiles ? sv.total != m.count : sv.total != 0) {
      Fail(Status::kCorrupt, "pane %d: sketch holds %u values, moments count %u", index,
           sv.total, m.count);
    }
    if (quantiles) sv.CheckRange(m.min, m.max, map, "pane sketch");
  }
  v.bytes = in.position() - start;
  return v;
}

void PaneWindow::Load(const StoredView& v, const SketchMapping& map) {
  WireSource in(v.panes, v.bytes);
  for (uint32_t k = 0; k < v.npanes; ++k) {
    int64_t index = in.I64("pane index");
    Moments m = Moments::Read(in, "pane moments");
    SketchView sv = Sketch::Validate(in, map, "pane sketch");
    Pane& pane = AppendRestored(Pane{index, m, Sketch(scope_)});
    pane.sketch.Load(sv);
  }
  set_closed_below(v.closed_below);
}

}  // namespace windowagg::internal
