// Closing windows: bringing a series up to the watermark, the closed-window
// queue's producers and its poll, counter marks for windows a full queue
// kept waiting, advance, and the key_ttl sweep.
#include "core/aggregator.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/error.h"
#include "core/time_math.h"

namespace windowagg::internal {

namespace {

// Thrown by Emit when the queue holds its limit; caught in BringUpToDate.
struct QueueFull {};

}  // namespace

bool Aggregator::MayClose(const Series* s) const {
  // A push between its prepare and its commit of this series' shard may
  // hold reservations in its panes (empty panes, empty sketch buckets): a
  // window closed now would carry them, and a pane that stopped being open
  // could stay behind empty. Such a series waits for the next read, poll or
  // push (the read itself does not need it: PaneWindow::Current). SLIDING
  // only drops whole panes, which the commit then counts late.
  if (!emits_) return true;
  return !table_.shard(SeriesTable::ShardIndex(s->key)).push_pending;
}

bool Aggregator::BringUpToDate(Series* s, const Watermark& wm, uint64_t queue_limit) {
  if (!wm.set) return true;
  if (queue_limit == kNoQueueLimit || geometry_.sliding) {
    s->window.Advance(wm.value, [&](const WindowView& view) { Emit(*s, view, kNoQueueLimit); });
    PruneMarks(s);
    return true;
  }
  if (queue_.size_hint() < queue_limit) {
    try {
      s->window.Advance(wm.value, [&](const WindowView& view) { Emit(*s, view, queue_limit); });
      PruneMarks(s);
      return true;
    } catch (const QueueFull&) {
      // The windows before stay closed and queued; this one and the later
      // ones stay due in the series (PaneWindow::Advance).
      PruneMarks(s);
    }
  }
  // The queue is full: whatever this series has due waits in it.
  std::optional<Wide> first = s->window.FirstOpenWindow();
  if (!first || *first > LastDue(wm.value)) return true;
  if (!backlog_.load(std::memory_order_relaxed)) backlog_.store(true, std::memory_order_release);
  return false;
}

Wide Aggregator::LastDue(int64_t wm) const {
  // As PaneWindow: window j closes once wm >= its end plus the lateness, and
  // at wm = INT64_MAX every window has closed.
  return wm == kTimeMax ? Wide(kTimeMax)
                        : FloorDiv(Wide(wm) - geometry_.lateness - geometry_.width, geometry_.pane);
}

int64_t Aggregator::CloseTime(Wide window) const {
  return Saturate(Wide(Saturate(window * geometry_.pane + geometry_.width)) + geometry_.lateness);
}

void Aggregator::MarkCounters(Series* s, int64_t wm) {
  auto& marks = s->marks;
  if (!marks.empty()) {
    Series::CounterMark& last = marks.back();
    if (last.late == s->late && last.rejected == s->rejected && last.total == s->total) {
      last.wm = std::max(last.wm, wm);  // same counters: the mark covers more
      return;
    }
    if (LastDue(last.wm) >= LastDue(wm)) return;  // no window fell due since
  }
  marks.push_back({wm, s->late, s->rejected, s->total});  // may throw: nothing changed yet
}

void Aggregator::PruneMarks(Series* s) noexcept {
  auto& marks = s->marks;
  if (marks.empty()) return;
  std::optional<Wide> first = s->window.FirstOpenWindow();
  const int64_t next_close = first ? CloseTime(*first) : kTimeMax;
  size_t drop = 0;
  while (drop < marks.size() && (!first || marks[drop].wm < next_close)) ++drop;
  if (drop == marks.size()) {
    std::vector<Series::CounterMark, ScopeAllocator<Series::CounterMark>> none(
        marks.get_allocator());
    marks.swap(none);  // frees; an empty vector allocates nothing
  } else if (drop > 0) {
    marks.erase(marks.begin(), marks.begin() + static_cast<ptrdiff_t>(drop));
  }
}

ClosedWindow Aggregator::MakeClosed(const Series& s, const WindowView& view) {
  ClosedWindow w{s.key, MakeStats(view.moments, view.start, view.end, &s, 0),
                 Sketch(&scope_)};
  // The watermark at which the window closed (its end plus the lateness):
  // the same whenever the window is emitted.
  w.stats.watermark = Saturate(Wide(view.end) + config_.allowed_lateness);
  // A window a full queue kept waiting carries the counters of its mark.
  for (const Series::CounterMark& m : s.marks) {
    if (m.wm >= w.stats.watermark) {
      w.stats.late = m.late;
      w.stats.rejected = m.rejected;
      w.stats.total = m.total;
      break;
    }
  }
  if (config_.quantiles) {
    for (const Sketch* part : view.sketches) w.sketch.MergeFrom(*part);
    if (view.exact) {
      // (Raw values stay raw: the closed window's quantiles stay exact.)
      w.sketch.MergeValues(view.exact_a, view.exact_na, mapping_);
      w.sketch.MergeValues(view.exact_b, view.exact_nb, mapping_);
    }
  }
  return w;
}

void Aggregator::Emit(const Series& s, const WindowView& view, uint64_t queue_limit) {
  // A window whose panes are all empty holds only a concurrent push's
  // reservations (see Transact in aggregator.h): nothing to emit.
  if (view.moments.count == 0) return;
  // (Checked without the lock: concurrent pushes may pass the limit by a
  // window each.)
  if (queue_.size_hint() >= queue_limit) throw QueueFull{};
  ClosedWindow w = MakeClosed(s, view);
  absl::MutexLock lock(&queue_mu_);
  queue_.Reserve(1);
  queue_.PushReserved(std::move(w));
}

bool Aggregator::SweepDue(int64_t wm) const {
  if (config_.key_ttl <= 0) return false;
  // At most every ttl/8 of event time: a sweep visits every series.
  int64_t last = last_ttl_sweep_.load(std::memory_order_relaxed);
  return last == kTimeMin || Wide(wm) - last >= std::max<int64_t>(1, config_.key_ttl / 8);
}

void Aggregator::PrepareSweep(Sweep& sw, const Watermark& start, int64_t wm, uint64_t skip_epoch) {
  // Table held exclusively. Everything that can fail happens here: the list,
  // closing what `start` closed, and copies of the windows `wm` closes.
  for (auto& shard : table_.shards()) {
    for (auto& [key, s] : shard->map) {
      if (s->touch_epoch == skip_epoch) continue;  // in this push, or evicted by it
      if (s->total == 0 || Wide(s->last_event) < Wide(wm) - config_.key_ttl) {
        sw.expired.push_back(s);
      }
    }
  }
  for (Series* s : sw.expired) {
    BringUpToDate(s, start);
    s->window.Closing(wm, [&](const WindowView& view) {
      if (view.moments.count > 0) sw.windows.push_back(MakeClosed(*s, view));
    });
  }
  absl::MutexLock lock(&queue_mu_);
  queue_.Reserve(sw.windows.size());
  sw.wm = wm;
  sw.active = true;
}

void Aggregator::CommitSweep(Sweep& sw) noexcept {
  if (!sw.active) return;
  WINDOWAGG_NO_ALLOCATION_HERE();
  {
    absl::MutexLock lock(&queue_mu_);
    for (ClosedWindow& cw : sw.windows) queue_.PushReserved(std::move(cw));
  }
  for (Series* s : sw.expired) table_.Erase(s);
  last_ttl_sweep_.store(sw.wm, std::memory_order_relaxed);
  sw.active = false;
  sw.expired.clear();
  sw.windows.clear();
}

void Aggregator::Advance(int64_t watermark) {
  Watermark cur = CurrentWatermark();
  int64_t end = cur.set ? std::max(cur.value, watermark) : watermark;
  if (SweepDue(end)) {
    SeriesTable::TableLock table(table_, true);
    Sweep sweep;
    PrepareSweep(sweep, cur, end, /*skip_epoch=*/UINT64_MAX);  // may fail: no change yet
    RaiseWatermark(watermark);
    CommitSweep(sweep);
  } else {
    RaiseWatermark(watermark);
  }
  if (geometry_.sliding) {
    // Slide every window now (frees panes; allocates nothing). Windows of
    // TUMBLING/HOPPING handles the watermark closed are emitted by the next
    // poll, read or push (see BringUpToDate).
    Watermark wm = CurrentWatermark();
    SeriesTable::TableLock table(table_, false);
    table_.ForEachSeries([&](Series* s) { BringUpToDate(s, wm); });
  }
}

size_t Aggregator::PollWindows(KeyedStats* out, size_t cap, const double* q, size_t nq,
                               double* out_q) {
  if (!emits_) {
    Fail(Status::kUnsupported, "only TUMBLING and HOPPING handles close windows");
  }
  if (nq > 0) CheckQuantileArgs(q, nq, out_q);
  // Windows waiting in their series (queue full) are closed now, up to what
  // this call can return, so a host polling in a loop gets every one, each
  // series' oldest first.
  CloseDueWindows(std::max<uint64_t>(config_.max_pending_windows, cap));
  absl::MutexLock lock(&queue_mu_);
  size_t n = std::min(cap, queue_.size());
  // Everything that can fail (quantile scratch) before any window leaves.
  auto it = queue_.begin();
  for (size_t i = 0; i < n; ++i, ++it) {
    const ClosedWindow& w = *it;
    out[i].key = w.key;
    out[i].stats = w.stats;
    const Sketch* parts[1] = {&w.sketch};
    if (nq > 0) {
      Sketch::Quantiles(parts, 1, q, nq, mapping_, w.stats.min, w.stats.max, out_q + i * nq);
    }
  }
  for (size_t i = 0; i < n; ++i) queue_.pop_front();
  return n;
}

void Aggregator::CloseDueWindows(uint64_t queue_limit) {
  // Series close their windows when touched; a poll must also see windows
  // of quiet series that the watermark has closed since the last sweep,
  // and those a full queue left in their series (backlog_).
  if (!emits_) return;
  Watermark wm = CurrentWatermark();
  if (!wm.set) return;
  int64_t swept = swept_watermark_.load(std::memory_order_acquire);
  if (swept_once_.load(std::memory_order_acquire) && wm.value <= swept &&
      !backlog_.load(std::memory_order_acquire)) {
    return;
  }
  SeriesTable::TableLock table(table_, false);
  // Cleared before the walk: a series this walk (or a concurrent push)
  // leaves with due windows sets it again.
  backlog_.store(false, std::memory_order_release);
  table_.ForEachSeries([&](Series* s) {
    if (MayClose(s)) {
      BringUpToDate(s, wm, queue_limit);
    } else {
      backlog_.store(true, std::memory_order_release);  // the next poll looks again
    }
  });
  swept_watermark_.store(wm.value, std::memory_order_release);
  swept_once_.store(true, std::memory_order_release);
}

void Aggregator::PendingWindows(uint64_t* pending, uint64_t* dropped) {
  CloseDueWindows(config_.max_pending_windows);
  // Queued windows plus those a full queue left due in their series.
  uint64_t waiting = 0;
  Watermark wm = CurrentWatermark();
  if (backlog_.load(std::memory_order_acquire) && wm.set) {
    SeriesTable::TableLock table(table_, false);
    table_.ForEachSeries([&](Series* s) {
      s->window.Closing(wm.value, [&](const WindowView& v) { waiting += v.moments.count > 0; });
    });
  }
  absl::MutexLock lock(&queue_mu_);
  *pending = queue_.size() + waiting;
  *dropped = 0;  // windows are never dropped (the output stays for the ABI)
}

}  // namespace windowagg::internal
