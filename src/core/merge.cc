// Merging another handle of the same geometry in, two-phase like a push.
#include "core/aggregator.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "core/error.h"

namespace windowagg::internal {

void Aggregator::CheckMergeable(const Config& c) const {
  if (!SameGeometry(c, config_)) {
    Fail(Status::kMismatch,
         "the source's configuration (window kind %u, size %d, slide %d, pane %d, lateness %d, "
         "accuracy %g, quantiles %d) differs from this handle's",
         static_cast<uint32_t>(c.kind), c.window_size, c.slide, c.pane_width,
         c.allowed_lateness, c.relative_accuracy, c.quantiles ? 1 : 0);
  }
}

void Aggregator::MergeFrom(Aggregator& src) {
  if (&src == this) Fail(Status::kInvalidArgument, "cannot merge a handle into itself");
  CheckMergeable(src.config());
  // Both tables exclusively, in address order: merges in both directions
  // take them in the same order.
  Aggregator* first = std::less<Aggregator*>()(this, &src) ? this : &src;
  Aggregator* second = first == this ? &src : this;
  SeriesTable::TableLock lock_first(first->table_, true);
  SeriesTable::TableLock lock_second(second->table_, true);
  const int mode = timestamp_mode_.load();
  const int src_mode = src.timestamp_mode_.load();
  if (mode != 0 && src_mode != 0 && mode != src_mode) {
    Fail(Status::kMismatch, "one state uses timestamps and the other the arrival clock");
  }
  if (config_.max_keys != 0) {
    // The budget holds for merges too, checked before anything changes.
    uint64_t fresh = 0;
    src.table_.ForEachSeries([&](Series* s) {
      fresh += s->key != kOverflowKey && table_.Find(s->key) == nullptr;
    });
    const uint64_t live = table_.live_keys();
    if (live + fresh > config_.max_keys) {
      Fail(Status::kKeyLimit, "the merge would make %u live series, above max_keys = %u",
           live + fresh, config_.max_keys);
    }
  }
  account_.CheckRoom(src.MemoryUsage(), "merging this state");
  // src as serialization would see it: its due windows closed (a change no
  // reader can see), so what merges is one consistent view.
  const Watermark src_wm = src.CurrentWatermark();
  src.table_.ForEachSeries([&](Series* s) { src.BringUpToDate(s, src_wm); });
  MergeLocked(src, src_wm);
}

void Aggregator::MergeLocked(Aggregator& src, const Watermark& src_wm) {
  // Prepare: every allocation (new series, panes, ring and sketch room,
  // copies of the queued windows); Commit: counts and values, no allocation.
  struct Item {
    Series* from;
    Series* to;
    bool fresh;  // created by this merge
  };
  ScratchVector<Item> items;
  ScratchVector<ClosedWindow> windows;
  ScratchVector<Series*> created;
  const Watermark wm = CurrentWatermark();
  try {
    // Close what this handle's watermark has closed, so the bounds above are
    // those of its watermark (closing changes nothing a reader sees).
    table_.ForEachSeries([&](Series* s) { BringUpToDate(s, wm); });
    for (auto& shard : src.table_.shards()) {
      for (auto& [key, from] : shard->map) items.push_back({from, table_.Find(key), false});
    }
    created.reserve(items.size());
    for (Item& it : items) {
      if (it.to != nullptr) continue;
      const uint64_t key = it.from->key;
      Series* s = table_.Insert(key, it.from->name());
      created.push_back(s);  // reserved above: cannot throw
      it.to = s;
      it.fresh = true;
    }
    for (Item& it : items) {
      it.to->window.ReserveMerge(it.from->window, it.fresh, mapping_, it.to->scope);
    }
    {
      // (polls change src's queue under its queue lock alone)
      absl::MutexLock src_queue(&src.queue_mu_);
      windows.reserve(src.queue_.size());
      for (const ClosedWindow& cw : src.queue_) {
        windows.push_back(ClosedWindow{cw.key, cw.stats, Sketch(&scope_)});
        windows.back().sketch.MergeFrom(cw.sketch);
      }
    }
    absl::MutexLock lock(&queue_mu_);
    queue_.Reserve(windows.size());
  } catch (...) {
    for (Item& it : items) {
      if (it.to == nullptr || it.fresh) continue;
      it.to->window.UndoReservations();
    }
    for (Series* s : created) table_.Erase(s);
    throw;
  }

  WINDOWAGG_NO_ALLOCATION_HERE();
  if (src_wm.set) RaiseWatermark(src_wm.value);
  uint64_t clock = clock_.load();
  const uint64_t src_clock = src.clock_.load();
  while (src_clock > clock && !clock_.compare_exchange_weak(clock, src_clock)) {
  }
  int no_mode = 0;  // (pushes are excluded: the table is held exclusively)
  timestamp_mode_.compare_exchange_strong(no_mode, src.timestamp_mode_.load());
  tick_.store(std::max(tick_.load(), src.tick_.load()));
  for (Item& it : items) {
    Series* to = it.to;
    const Series* from = it.from;
    to->late += from->late;
    to->rejected += from->rejected;
    if (from->total > 0 && (to->total == 0 || from->last_event > to->last_event)) {
      to->last_event = from->last_event;
    }
    to->total += from->total;
    to->last_touch = std::max(to->last_touch, from->last_touch);
    // Values the window refuses (a window of theirs closed here) are late.
    const uint64_t refused = to->window.MergeFrom(from->window, it.fresh, mapping_, to->scope);
    to->late += refused;
    to->total -= std::min(to->total, refused);
  }
  // last_touch moved above: the next eviction sorts the LRU lists again.
  table_.MarkLruUnsorted();
  uint64_t src_dropped;
  {
    absl::MutexLock src_queue(&src.queue_mu_);
    src_dropped = src.dropped_windows_;
  }
  absl::MutexLock lock(&queue_mu_);
  dropped_windows_ += src_dropped;
  // A merge brings closed windows in whole, past max_pending_windows if so.
  for (ClosedWindow& cw : windows) queue_.PushReserved(std::move(cw));
}

}  // namespace windowagg::internal
